"""A run's model as a zip: safetensors weights, the config and metrics as JSON, a README
and evaluate.py (this package's module of that name), which rebuilds and scores it."""
from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

from playground.common.paths import WEIGHTS_FILE

EVALUATE = Path(__file__).with_name("evaluate.py")  # the zip's evaluate.py, as it is here

_README = """Run {run_id}: {label}

weights.safetensors  the trained weights (float32, safetensors: no pickle inside)
config.json          the run's full config and its recorded metrics
evaluate.py          rebuilds the model with the playground's library and scores it:
                     python evaluate.py --repo PATH_TO_THE_PLAYGROUND
                     (for an uploaded dataset, set PLAYGROUND_HOME to its data folder)
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
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.write(weights, "weights.safetensors")
        z.writestr("config.json", json.dumps(config, indent=1, default=str))
        z.write(EVALUATE, "evaluate.py")
        z.writestr("README.txt", _README.format(run_id=run.id, label=run.config.label()))
    return buffer.getvalue()
