"""A run's model as a zip: safetensors weights, the config and metrics as JSON, a README
and evaluate.py (this package's module of that name), which rebuilds and scores it; a text
run's zip also carries its tokenizer (tokenizer.json), so new sentences get the very ids the
model learnt from."""
from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

from models.base import model_info
from playground.common.paths import WEIGHTS_FILE
from playground.data.views import run_data

TOKENIZER_FILE = "tokenizer.json"

EVALUATE = Path(__file__).with_name("evaluate.py")  # the zip's evaluate.py, as it is here

_README = """Run {run_id}: {label}

weights.safetensors  the trained weights (float32, safetensors: no pickle inside)
config.json          the run's full config and its recorded metrics
evaluate.py          rebuilds the model with the playground's library and scores it:
                     python evaluate.py --repo PATH_TO_THE_PLAYGROUND
                     (for an uploaded dataset, set PLAYGROUND_HOME to its data folder)
{text}"""

_TEXT = """tokenizer.json       the word-piece tokenizer learnt from the run's training sentences
                     python evaluate.py --csv sentences.csv
                     prints the model's answer for each sentence (the column named
                     {column}, else 'text' or the first column{others})
"""


def model_zip(store, run_id: str) -> bytes:
    """A finished run's weights, config and evaluation script as zip bytes; ValueError
    says why not (unknown id, not finished, weights missing)."""

    run = store.get(run_id)
    if run is None:
        raise ValueError(f"run {run_id!r}: no run has this id")
    if run.status != "finished":
        raise ValueError(f"run {run_id!r} is {run.status}; only finished runs have a model")
    weights = store.artifact_dir(run_id) / WEIGHTS_FILE
    if not weights.exists():
        raise ValueError(f"run {run_id!r}: its weights file is missing ({weights})")
    metrics = {k: v for k, v in run.metrics.items() if k != "confusion_matrix"}
    config = {"run_id": run.id, "config": run.config.model_dump(), "metrics": metrics,
              "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    coder, text = _tokenizer(run)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(weights, "weights.safetensors")
        z.writestr("config.json", json.dumps(config, indent=1, default=str))
        z.write(EVALUATE, "evaluate.py")
        if coder is not None:
            z.writestr(TOKENIZER_FILE, coder)
        z.writestr("README.txt", _README.format(run_id=run.id, label=run.config.label(),
                                                text=text))
    return buffer.getvalue()


def _tokenizer(run) -> tuple[str | None, str]:
    """A text run's tokenizer as JSON and the README's lines about it; (None, "") else."""
    if "text" not in model_info(run.config.model).kinds:
        return None, ""  # its dataset may be gone: nothing of it is needed
    try:
        data = run_data(run.config)
    except KeyError:
        raise ValueError(f"run {run.id!r}: its dataset {run.config.dataset!r} is gone, and "
                         "with it the tokenizer its model reads through") from None
    schema = data.schema or ()
    column = next((c.name for c in schema if c.kind == "text"), "text")
    others = [c.name for c in schema if c.kind != "text"]
    beside = f"; the columns {', '.join(others)} beside it" if others else ""
    # The Hugging Face file itself (padding and truncation to the model's length included):
    # `tokenizers.Tokenizer.from_file` reads it anywhere.
    return data.coder.tokenizer.to_str(), _TEXT.format(column=repr(column), others=beside)
