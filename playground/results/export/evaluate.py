"""Rebuild an exported run from its weights and evaluate it on its test split.

    python evaluate.py [--repo PATH_TO_THE_PLAYGROUND]

It needs the Trade-off Playground's library (the `playground` and `models` packages):
run it from the playground's folder, or pass --repo, or set PLAYGROUND_REPO. The data
split comes from the config (dataset, seed, noise), so the test examples are the same
ones the run was scored on. For a dataset you uploaded, set PLAYGROUND_HOME to the
playground's data folder first. A quantized run is also scored after quantizing, the way
the run quantized it.

This file is a module of the playground (linted and tested there) that every model zip
carries as its evaluate.py, next to config.json and weights.safetensors.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def evaluate(folder: Path) -> dict:
    """Score the exported run in `folder` (config.json, weights.safetensors)."""
    # The library is found only once --repo is on the path, so it is imported here.
    import torch
    from safetensors.torch import load_file

    from playground.data.views import run_data
    from playground.training import quantize
    from playground.training.artifacts import predict_probs
    from playground.training.audits import fairness
    from playground.training.build import build_run_model
    from playground.training.config import RunConfig
    from playground.training.techniques.quantization import QUANTIZED_ACCURACY, Quantization

    exported = json.loads((folder / "config.json").read_text())
    config = RunConfig.model_validate(exported["config"])
    # The run's own split and classes.
    data = run_data(config)
    model = build_run_model(config, data)
    model.load_state_dict(load_file(str(folder / "weights.safetensors")))
    model.eval()

    predicted = predict_probs(model, data.X_test).argmax(axis=1)
    result = {"run_id": exported["run_id"], "test_examples": int(len(data.y_test)),
              "test_accuracy": float((predicted == data.y_test).mean()),
              "recorded_test_accuracy": exported["metrics"].get("accuracy")}
    before = (fairness.report(exported["metrics"]) or {}).get("before_mitigation")
    if before:  # the recorded accuracy is after per-group thresholds, not refitted here
        result["recorded_model_accuracy"] = before["accuracy"]
        result["note"] = ("recorded_test_accuracy is after fairness post-processing's "
                          "per-group thresholds; this script scores the network alone, as "
                          "recorded_model_accuracy does.")
    mode = config.techniques.get(Quantization.name, {}).get("mode")
    device = torch.device("cpu")
    if mode and quantize.supported(mode, device) is None:  # the model as it would ship
        qmodel, qdevice = quantize.as_shipped(model, mode, device, data.X_train)
        X = torch.from_numpy(data.X_test).to(qdevice, quantize.input_dtype(mode))
        with torch.no_grad():
            qpred = qmodel(X).float().argmax(1).cpu().numpy()
        result["quantized_test_accuracy"] = float((qpred == data.y_test).mean())
        result["recorded_quantized_test_accuracy"] = QUANTIZED_ACCURACY.value(
            exported["metrics"])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=os.environ.get("PLAYGROUND_REPO", os.getcwd()),
                        help="the playground's folder (its library rebuilds the model)")
    args = parser.parse_args(argv)
    sys.path.insert(0, args.repo)
    print(json.dumps(evaluate(Path(__file__).resolve().parent)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
