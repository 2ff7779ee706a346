"""Exports: a comparison as one offline HTML report or as CSV / JSON, and a run's model as
a zip (safetensors weights, config JSON, a standalone script that rebuilds and evaluates it).

The report must open with no network at all, so the chart library travels inside it: the
vega-embed bundle that Streamlit itself ships (an ES-module chunk graph under
streamlit/static), inlined as text and loaded from blob: URLs at open time. If that bundle
can't be found, the report still holds every table, with a note instead of charts.
"""
from __future__ import annotations

import io
import json
import time
import zipfile

from playground.common.paths import WEIGHTS_FILE

# -- a run's model -------------------------------------------------------------------------

_SCRIPT = '''"""Rebuild run {run_id} from its exported weights and evaluate it on its test split.

    python evaluate.py [--repo PATH_TO_THE_PLAYGROUND]

It needs the Trade-off Playground's library (the `playground` and `models` packages):
run it from the playground's folder, or pass --repo, or set PLAYGROUND_REPO. The data
split comes from the config (dataset, seed, noise), so the test examples are the same
ones the run was scored on. For a dataset you uploaded, set PLAYGROUND_HOME to the
playground's data folder first. A quantized run is also scored after quantizing.
"""
import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--repo", default=os.environ.get("PLAYGROUND_REPO", os.getcwd()))
args = parser.parse_args()
sys.path.insert(0, args.repo)

from safetensors.torch import load_file  # noqa: E402

from playground.artifacts import build_run_model, predict_probs  # noqa: E402
from playground.config import RunConfig  # noqa: E402
from playground.datasets import fewer_examples, load_dataset  # noqa: E402

exported = json.loads((HERE / "config.json").read_text())
config = RunConfig.model_validate(exported["config"])
# The run's own split; a smaller training share leaves the test examples as they are.
data = fewer_examples(load_dataset(config.dataset, config.seed, config.noise),
                      config.train_fraction, config.seed)
model = build_run_model(config, data)
model.load_state_dict(load_file(str(HERE / "weights.safetensors")))
model.eval()

predicted = predict_probs(model, data.X_test).argmax(axis=1)
accuracy = float((predicted == data.y_test).mean())
result = {{"run_id": exported["run_id"], "test_examples": int(len(data.y_test)),
          "test_accuracy": accuracy,
          "recorded_test_accuracy": exported["metrics"].get("accuracy")}}

mode = config.techniques.get("quantization", {{}}).get("mode")
if mode:  # the model as it would ship: quantized the same way the run was
    import torch

    from playground import quantize
    from playground.techniques.quantization import CALIBRATION_EXAMPLES

    device = torch.device("cpu")
    if quantize.supported(mode, device) is None:
        # int8 activation ranges come from the first training examples, as in the run.
        calibration = torch.from_numpy(data.X_train[:CALIBRATION_EXAMPLES])
        qmodel, qdevice = quantize.quantize(model, mode, device, calibration)
        X = torch.from_numpy(data.X_test).to(qdevice, quantize.input_dtype(mode))
        with torch.no_grad():
            qpred = qmodel(X).float().argmax(1).cpu().numpy()
        result["quantized_test_accuracy"] = float((qpred == data.y_test).mean())
        result["recorded_quantized_test_accuracy"] = (
            exported["metrics"].get("quantized") or {{}}).get("accuracy")
print(json.dumps(result))
'''

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
        z.writestr("evaluate.py", _SCRIPT.format(run_id=run.id))
        z.writestr("README.txt", _README.format(run_id=run.id, label=run.config.label()))
    return buffer.getvalue()
