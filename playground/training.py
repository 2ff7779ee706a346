"""The training loop and everything measured about a finished model.

The loop keeps the whole (small) dataset as tensors on the device and slices shuffled
batches from it, so its per-step overhead is that of a bare PyTorch loop; progress and
cancellation go through a Reporter that the caller throttles.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn import functional as F

from models import ModelSpec, build_model
from playground import device as devices
from playground import metrics as M
from playground.config import RunConfig
from playground.datasets import Dataset, load_dataset

WEIGHTS_FILE = "weights.safetensors"
PREDICTIONS_FILE = "predictions.safetensors"


class Cancelled(Exception):
    """Raised inside the loop when the user asked the run to stop."""


class Reporter(Protocol):
    def progress(self, fraction: float) -> None: ...
    def epoch(self, epoch: int, values: dict[str, float], fraction: float) -> None: ...
    def should_stop(self) -> bool: ...


class SilentReporter:
    """For callers that want no progress: tests, benchmarks."""

    def progress(self, fraction: float) -> None:
        pass

    def epoch(self, epoch: int, values: dict[str, float], fraction: float) -> None:
        pass

    def should_stop(self) -> bool:
        return False


@dataclass
class TrainResult:
    model: nn.Module
    dataset: Dataset
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    y_pred: np.ndarray | None = None
    probs: np.ndarray | None = None


def model_spec(config: RunConfig, data: Dataset) -> ModelSpec:
    return ModelSpec(
        input_shape=data.input_shape, n_classes=data.n_classes, dropout=config.dropout,
        width=config.width, depth=config.depth,
    )


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    return torch.Generator().manual_seed(seed)


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch: int = 1024):
    """Mean loss, accuracy and class probabilities of `model` on (X, y)."""
    model.eval()
    logits = torch.cat([model(X[i:i + batch]) for i in range(0, len(X), batch)])
    loss = F.cross_entropy(logits, y).item()
    probs = logits.softmax(dim=1)
    acc = (probs.argmax(dim=1) == y).float().mean().item()
    return loss, acc, probs


@torch.no_grad()
def measure_latency_ms(model: nn.Module, example: torch.Tensor, repeats: int = 30) -> float:
    """Median wall time to predict one example, after a warm-up."""
    model.eval()
    sync = torch.cuda.synchronize if example.device.type == "cuda" else (lambda: None)
    for _ in range(5):
        model(example)
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(example)
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def train(config: RunConfig, reporter: Reporter | None = None,
          out_dir: str | Path | None = None) -> TrainResult:
    """Train one run end to end; write weights and predictions into `out_dir` if given."""
    reporter = reporter or SilentReporter()
    device = devices.resolve(config.device)
    data = load_dataset(config.dataset, config.seed, config.noise)
    generator = seed_everything(config.seed)
    model = build_model(config.model, model_spec(config, data)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

    X = torch.from_numpy(data.X_train).to(device)
    y = torch.from_numpy(data.y_train).to(device)
    X_val = torch.from_numpy(data.X_val).to(device)
    y_val = torch.from_numpy(data.y_val).to(device)
    n, bs = len(X), config.batch_size
    steps_per_epoch = (n + bs - 1) // bs
    total_steps = config.epochs * steps_per_epoch

    history: list[dict[str, float]] = []
    started = time.perf_counter()
    step = 0
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(n, generator=generator).to(device)
        # Per-step stats go into preallocated device buffers (no host sync, few extra
        # ops) and are reduced once per epoch.
        batch_losses = torch.empty(steps_per_epoch, device=device)
        predictions = torch.empty(n, dtype=torch.long, device=device)
        for k, i in enumerate(range(0, n, bs)):
            idx = order[i:i + bs]
            logits = model(X[idx])
            loss = F.cross_entropy(logits, y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            batch_losses[k] = loss.detach()
            predictions[i:i + bs] = logits.detach().argmax(dim=1)
            step += 1
            reporter.progress(step / total_steps)
            if reporter.should_stop():
                raise Cancelled()
        val_loss, val_acc, _ = evaluate(model, X_val, y_val)
        batch_sizes = torch.full((steps_per_epoch,), float(bs), device=device)
        batch_sizes[-1] = n - bs * (steps_per_epoch - 1)
        values = {
            "train_loss": float((batch_losses * batch_sizes).sum() / n),
            "train_accuracy": float((predictions == y[order]).float().mean()),
            "val_loss": val_loss, "val_accuracy": val_acc,
            "seconds": time.perf_counter() - epoch_start,
        }
        history.append(values)
        reporter.epoch(epoch, values, step / total_steps)
    train_seconds = time.perf_counter() - started

    X_test = torch.from_numpy(data.X_test).to(device)
    y_test = torch.from_numpy(data.y_test).to(device)
    _, _, probs_t = evaluate(model, X_test, y_test)
    probs = probs_t.cpu().numpy()
    y_pred = probs.argmax(axis=1)
    metrics: dict[str, Any] = {
        "accuracy": M.accuracy(data.y_test, y_pred),
        "f1_macro": M.f1_macro(data.y_test, y_pred, data.n_classes),
        "confusion_matrix": M.confusion_matrix(data.y_test, y_pred, data.n_classes),
        "class_names": data.class_names,
        "val_accuracy": history[-1]["val_accuracy"],
        "params": sum(p.numel() for p in model.parameters()),
        "latency_ms": measure_latency_ms(model, X_test[:1]),
        "train_seconds": train_seconds,
        "epochs_run": len(history),
        "test_examples": len(y_pred),
        "device": devices.describe(config.device),
    }
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
    return TrainResult(model, data, metrics, history, y_pred, probs)
