"""Rebuild an exported run from its weights and evaluate it on its test split.

    python evaluate.py [--repo PATH_TO_THE_PLAYGROUND] [--csv SENTENCES.csv]

It needs the Trade-off Playground's library (the `playground` and `models` packages):
run it from the playground's folder, or pass --repo, or set PLAYGROUND_REPO. The data
split comes from the config (dataset, seed, noise), so the test examples are the same
ones the run was scored on. For a dataset you uploaded, set PLAYGROUND_HOME to the
playground's data folder first. A quantized run is also scored after quantizing, the way
the run quantized it. A text run's zip carries its tokenizer (tokenizer.json): the test
sentences are read through it, and --csv prints the model's answer for each sentence of a
CSV file instead.

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

    from playground.training import quantize
    from playground.training.artifacts import predict_probs
    from playground.training.audits import fairness
    from playground.training.techniques.quantization import QUANTIZED_ACCURACY, Quantization

    exported = json.loads((folder / "config.json").read_text())
    config, data, model = _rebuild(folder)

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
        X = torch.from_numpy(data.X_test).to(qdevice, quantize.input_dtype(mode, data.info.kind))
        with torch.no_grad():
            qpred = qmodel(X).float().argmax(1).cpu().numpy()
        result["quantized_test_accuracy"] = float((qpred == data.y_test).mean())
        result["recorded_quantized_test_accuracy"] = QUANTIZED_ACCURACY.value(
            exported["metrics"])
    return result


def _rebuild(folder: Path):
    """The run's config, its own split and classes, and its float model with the weights."""
    from safetensors.torch import load_file

    from playground.data.views import run_data
    from playground.training.build import build_run_model
    from playground.training.config import RunConfig

    config = RunConfig.model_validate(json.loads((folder / "config.json").read_text())["config"])
    data = run_data(config)
    if (folder / "tokenizer.json").exists():
        data = _with_tokenizer(data, folder / "tokenizer.json")
    model = build_run_model(config, data)
    model.load_state_dict(load_file(str(folder / "weights.safetensors")))
    return config, data, model.eval()


def _with_tokenizer(data, path: Path):
    """The data's sentences read through the exported tokenizer: the ids the model learnt,
    whichever tokenizer this machine would have fitted (fitting is not deterministic)."""
    from dataclasses import replace

    import numpy as np
    from tokenizers import Tokenizer

    from playground.data.text_coder import TextCoder

    tokenizer = Tokenizer.from_file(str(path))
    coder = TextCoder(tokenizer, int(tokenizer.padding["length"]))
    old = data.coder.max_length
    splits = {f"X_{part}": np.concatenate([coder.encode(texts), X[:, old:]], axis=1)
              for part, texts, X in zip(("train", "val", "test"), data.texts,
                                        (data.X_train, data.X_val, data.X_test), strict=True)}
    return replace(data, coder=coder, **splits)


def answers(folder: Path, csv_file: Path) -> dict:
    """The exported text run's answer for each row of `csv_file`: the sentence in the text
    column (named as in the run's data, else 'text', else the first column) and, for a run
    that also reads other columns, their values in the same row."""
    import csv

    import numpy as np

    from playground.data.units import RowCodec
    from playground.training.artifacts import predict_probs

    _, data, model = _rebuild(folder)
    if data.coder is None:
        raise SystemExit("--csv reads sentences: this run's model does not read text")
    with open(csv_file, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0]) if rows else []
    named = next((c.name for c in data.schema or () if c.kind == "text"), "text")
    column = next((c for c in header if c == named), None) or next(
        (c for c in header if c.strip().lower() == "text"), header[0] if header else None)
    if column is None:
        raise SystemExit(f"{csv_file} has no rows")
    sentences = [row[column] or "" for row in rows]
    if data.extra_features:
        codec = RowCodec(data)
        X = np.stack([codec.to_model({**row, named: row[column]}) for row in rows])
    else:
        X = data.coder.encode(sentences)
    probs = predict_probs(model, X)
    return {"run_id": json.loads((folder / "config.json").read_text())["run_id"],
            "column": column,
            "answers": [{"text": s, "answer": data.class_names[int(p.argmax())],
                         "probability": float(p.max())}
                        for s, p in zip(sentences, probs, strict=True)]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=os.environ.get("PLAYGROUND_REPO", os.getcwd()),
                        help="the playground's folder (its library rebuilds the model)")
    parser.add_argument("--csv", default=None, metavar="FILE",
                        help="a text run: print the model's answer for each sentence of FILE")
    args = parser.parse_args(argv)
    sys.path.insert(0, args.repo)
    folder = Path(__file__).resolve().parent
    print(json.dumps(answers(folder, Path(args.csv)) if args.csv else evaluate(folder)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
