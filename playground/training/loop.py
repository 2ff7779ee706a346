"""A run end to end: the training loop (training/context.py) and everything measured about
the finished model. Progress and cancellation go through a Reporter that the caller
throttles.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn

from playground.common import device as devices
from playground.common.paths import PREDICTIONS_FILE, WEIGHTS_FILE
from playground.data.base import Dataset
from playground.data.views import rare_positions
from playground.training import audits
from playground.training import boundary as B
from playground.training import metrics as M
from playground.training import techniques as T
from playground.training.capabilities import PRETRAINS_ENCODER
from playground.training.config import RunConfig
from playground.training.context import (
    Cancelled,
    Reporter,
    SilentReporter,
    TrainContext,
)
from playground.training.measure import evaluate, measure_latency_ms
from playground.training.privacy import EpsilonService

__all__ = ["Cancelled", "Reporter", "SilentReporter", "TrainContext", "TrainResult", "train"]


@dataclass
class TrainResult:
    model: nn.Module
    dataset: Dataset
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    y_pred: np.ndarray | None = None
    probs: np.ndarray | None = None


def train(config: RunConfig, reporter: Reporter | None = None,
          out_dir: str | Path | None = None, store=None,
          boundary: bool = True, epsilons: EpsilonService | None = None) -> TrainResult:
    """Train one run end to end; write weights and predictions into `out_dir` if given.

    `store` is the run store that techniques reading other runs (a distillation teacher)
    look in; by default the one under PLAYGROUND_HOME. A run on 2-D points with an
    `out_dir` records its decision boundary there every epoch (training/boundary.py);
    `boundary=False` leaves it out (the benchmark's comparison). `epsilons` answers DP's
    ε questions and remembers them across runs (a worker passes its own); without one, a
    DP run makes one for itself and closes it at the end.
    """
    techniques = T.build(config.techniques)
    # A technique with its own objective (masked-word pretraining) is the whole run.
    if own_run := next((t for t in techniques if PRETRAINS_ENCODER in t.provides), None):
        model, metrics, history = own_run.train_run(config, reporter or SilentReporter(),
                                                    out_dir)
        return TrainResult(model, None, metrics, history)
    own = epsilons is None
    epsilons = epsilons or EpsilonService()
    try:
        return _train(config, reporter, out_dir, store, boundary, epsilons)
    finally:
        if own:
            epsilons.close()


def _train(config: RunConfig, reporter: Reporter | None, out_dir: str | Path | None, store,
           boundary: bool, epsilons: EpsilonService) -> TrainResult:
    data_records = boundary and out_dir is not None
    ctx = TrainContext(config, reporter or SilentReporter(), T.build(config.techniques),
                       store=store, epsilons=epsilons)
    if data_records and B.records(ctx.data):
        ctx.boundary = B.Recorder(ctx.data, out_dir, ctx.device)
    ctx.setup()
    started = time.perf_counter()
    ctx.fit()
    if ctx.boundary is not None:
        ctx.boundary.finish(ctx.model)  # early stopping may have gone back to an earlier epoch
    train_seconds = time.perf_counter() - started
    model, data, device, history = ctx.model, ctx.data, ctx.device, ctx.history

    X_test = torch.from_numpy(data.X_test).to(device)
    y_test = torch.from_numpy(data.y_test).to(device)
    _, _, probs_t = evaluate(model, X_test, y_test)
    probs = probs_t.cpu().numpy()
    ctx.probs = probs
    y_pred = ctx.plain_pred = probs.argmax(axis=1)
    for t in ctx.techniques:  # a technique may turn probabilities into decisions its way
        decided = t.decide(ctx, probs)
        if decided is not None:
            if ctx.decided_by is not None:  # validate refuses two deciders; never last-wins
                raise RuntimeError(f"{ctx.decided_by} and {t.name} both decided this run's "
                                   "predictions; only one technique may")
            y_pred, ctx.decided_by = np.asarray(decided, dtype=np.int64), t.name
    ctx.y_pred = y_pred
    metrics: dict[str, Any] = {
        "accuracy": M.accuracy(data.y_test, y_pred),
        "f1_macro": M.f1_macro(data.y_test, y_pred, data.n_classes),
        "confusion_matrix": M.confusion_matrix(data.y_test, y_pred, data.n_classes),
        "class_names": data.class_names,
        "val_accuracy": history[-1]["val_accuracy"],
        "params": sum(p.numel() for p in model.parameters()),
        "latency_ms": measure_latency_ms(model, X_test[:1]),
        "train_seconds": train_seconds,
        **({"boundary_seconds": ctx.boundary.seconds} if ctx.boundary is not None else {}),
        "epochs_run": len(history),
        "test_examples": len(y_pred),
        "device": devices.describe(config.device),
        "recall_by_class": M.recall_by_class(data.y_test, y_pred, data.n_classes),
        "train_class_counts": np.bincount(data.y_train, minlength=data.n_classes).tolist(),
    }
    rare = rare_positions(config, data)
    if rare:  # the classes the run's imbalance made rare, and how often they were found
        metrics["rare_classes"] = [data.class_names[c] for c in rare]
        metrics["rare_recall"] = float(np.mean([metrics["recall_by_class"][c] for c in rare]))
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        weights = out / WEIGHTS_FILE
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
                  str(weights))
        save_file({"y_true": torch.from_numpy(data.y_test), "y_pred": torch.from_numpy(y_pred),
                   "probs": torch.from_numpy(probs)}, str(out / PREDICTIONS_FILE))
        metrics["size_bytes"] = weights.stat().st_size
    else:
        metrics["size_bytes"] = sum(
            t.numel() * t.element_size() for t in model.state_dict().values()
        )
    ctx.hook("finalize", metrics)  # DP's ε, the quantized model's numbers, ...
    audits.audit(ctx, metrics)  # the attacks (they read ε)
    return TrainResult(model, data, metrics, history, y_pred, probs)
