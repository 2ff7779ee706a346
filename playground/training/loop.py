"""The training loop and everything measured about a finished model.

The loop keeps the whole (small) dataset as tensors on the device and slices shuffled
batches from it, so its per-step overhead is that of a bare PyTorch loop; progress and
cancellation go through a Reporter that the caller throttles.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from safetensors.torch import save_file
from torch import nn
from torch.nn import functional as F

from models.base import build_model
from playground.common import device as devices
from playground.common.paths import PREDICTIONS_FILE, WEIGHTS_FILE
from playground.data.base import Dataset
from playground.data.views import rare_positions, run_data
from playground.training import audits
from playground.training import boundary as B
from playground.training import metrics as M
from playground.training import techniques as T
from playground.training.build import make_optimizer, model_spec, seed_everything
from playground.training.config import RunConfig
from playground.training.measure import evaluate, measure_latency_ms
from playground.training.techniques.base import Technique


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


class TrainContext:
    """What the loop and the technique hooks share for one run."""

    def __init__(self, config: RunConfig, reporter: Reporter, techniques: list):
        self.config = config
        self.reporter = reporter
        self.techniques = techniques
        self.device = devices.resolve(config.device)
        self.data = run_data(config)
        self.generator = seed_everything(config.seed)
        self.model = build_model(config.model, model_spec(config, self.data)).to(self.device)
        self.X = torch.from_numpy(self.data.X_train).to(self.device)
        self.y = torch.from_numpy(self.data.y_train).to(self.device)
        self.X_val = torch.from_numpy(self.data.X_val).to(self.device)
        self.y_val = torch.from_numpy(self.data.y_val).to(self.device)
        self.n, self.bs = len(self.X), config.batch_size
        self.steps_per_epoch = (self.n + self.bs - 1) // self.bs
        self.total_steps = config.epochs * self.steps_per_epoch
        self.optimizer: torch.optim.Optimizer | None = None
        self.loader = None  # a technique (DP-SGD) may supply its own batch sampler
        self.batch_idx: torch.Tensor | None = None  # example indices of the current batch
        self.history: list[dict[str, float]] = []
        self.step = 0
        self.epoch = 0
        self.stop = False  # a technique (early stopping) may end training
        self.amp_dtype: torch.dtype | None = None  # mixed precision sets these
        self.scaler: torch.amp.GradScaler | None = None
        self.backward = None  # DP-SGD may replace loss.backward() with its own clipping
        self.y_pred: np.ndarray | None = None  # the test decisions
        self.plain_pred: np.ndarray | None = None  # the model's own (most likely class)
        self.decided_by: str | None = None  # the technique whose `decide` made y_pred
        self.boundary: B.Recorder | None = None  # 2-D runs: the decision boundary per epoch
        # Techniques that transform batches or the loss opt into the general path.
        self._plain = not any(_overrides(t, "on_batch") or _overrides(t, "loss")
                              or _overrides(t, "after_step") for t in techniques)

    def _autocast(self):
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def hook(self, name: str, *args) -> None:
        for t in self.techniques:
            getattr(t, name)(self, *args)

    def validate(self) -> tuple[float, float]:
        loss, acc, _ = evaluate(self.model, self.X_val, self.y_val)
        return loss, acc

    def _step(self, xb, yb) -> torch.Tensor:
        if not self._plain:
            for t in self.techniques:
                xb, yb = t.on_batch(self, xb, yb)
        with self._autocast():
            logits = self.model(xb)
            loss = F.cross_entropy(logits, yb)
            if not self._plain:
                for t in self.techniques:
                    loss = t.loss(self, logits, xb, yb, loss)
        self.optimizer.zero_grad(set_to_none=True)
        if self.backward is not None:
            self.backward(loss)
            self.optimizer.step()
        elif self.scaler is None:
            loss.backward()
            self.optimizer.step()
        else:  # fp16: scale the loss so small gradients survive, unscale before the step
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        if not self._plain:
            self.hook("after_step")
        return loss, logits

    def run_epochs(self, epochs: int) -> None:
        """Train `epochs` more epochs, reporting each (also used for fine-tuning)."""
        model, X, y, n, bs, device = self.model, self.X, self.y, self.n, self.bs, self.device
        total = max(self.total_steps, self.step + epochs * self.steps_per_epoch)
        for _ in range(epochs):
            self.epoch += 1
            epoch_start = time.perf_counter()
            model.train()
            if self.loader is not None:
                values = self._loader_epoch()
                values["seconds"] = time.perf_counter() - epoch_start
                self._end_epoch(values, total)
                if self.stop:
                    return
                continue
            order = torch.randperm(n, generator=self.generator).to(device)
            # Per-step stats are kept as they come (no host sync, no extra ops per step:
            # writing them into buffers cost ~20 µs of a ~370 µs MLP step) and reduced
            # once per epoch.
            losses, outputs = [], []
            for i in range(0, n, bs):
                idx = self.batch_idx = order[i:i + bs]
                loss, logits = self._step(X[idx], y[idx])
                losses.append(loss.detach())
                outputs.append(logits.detach())
                self.step += 1
                self.reporter.progress(self.step / total)
                if self.reporter.should_stop():
                    raise Cancelled()
            val_loss, val_acc = self.validate()
            sizes = torch.full((self.steps_per_epoch,), float(bs), device=device)
            sizes[-1] = n - bs * (self.steps_per_epoch - 1)
            predictions = torch.cat(outputs).argmax(dim=1)
            values = {
                "train_loss": float((torch.stack(losses).float() * sizes).sum() / n),
                "train_accuracy": float((predictions == y[order]).float().mean()),
                "val_loss": val_loss, "val_accuracy": val_acc,
                "seconds": time.perf_counter() - epoch_start,
            }
            self._end_epoch(values, total)
            if self.stop:
                return

    def _end_epoch(self, values: dict[str, float], total: int) -> None:
        self.hook("after_epoch", self.epoch, values)
        if self.boundary is not None:  # before the epoch is reported: its frame is there
            self.boundary.record(self.model, self.epoch)
        self.history.append(values)
        self.reporter.epoch(self.epoch, values, min(1.0, self.step / total))

    def _loader_epoch(self) -> dict[str, float]:
        """One epoch over a technique's loader (batches of varying size, maybe empty)."""
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        seen = 0
        for idx in self.loader:
            idx = idx[0] if isinstance(idx, (list, tuple)) else idx
            idx = self.batch_idx = idx.to(self.device)
            xb, yb = self.X[idx], self.y[idx]
            loss, logits = self._step(xb, yb)
            if len(idx):
                loss_sum += loss.detach() * len(idx)
                correct += (logits.detach().argmax(dim=1) == yb).sum()
                seen += len(idx)
            self.step += 1
            self.reporter.progress(min(1.0, self.step / self.total_steps))
            if self.reporter.should_stop():
                raise Cancelled()
        val_loss, val_acc = self.validate()
        return {"train_loss": float(loss_sum) / max(1, seen),
                "train_accuracy": float(correct) / max(1, seen),
                "val_loss": val_loss, "val_accuracy": val_acc}


def _overrides(technique, name: str) -> bool:
    return getattr(type(technique), name) is not getattr(Technique, name)


def train(config: RunConfig, reporter: Reporter | None = None,
          out_dir: str | Path | None = None, store=None,
          boundary: bool = True) -> TrainResult:
    """Train one run end to end; write weights and predictions into `out_dir` if given.

    `store` is the run store that techniques reading other runs (a distillation teacher)
    look in; by default the one under PLAYGROUND_HOME. A run on 2-D points with an
    `out_dir` records its decision boundary there every epoch (training/boundary.py);
    `boundary=False` leaves it out (the benchmark's comparison).
    """

    ctx = TrainContext(config, reporter or SilentReporter(), T.build(config.techniques))
    ctx.store = store
    ctx.hook("on_model")
    if boundary and out_dir is not None and B.records(ctx.data):
        ctx.boundary = B.Recorder(ctx.data, out_dir, ctx.device)
        ctx.boundary.record(ctx.model, 0)  # before training
    ctx.optimizer = make_optimizer(ctx.model, config.lr)
    ctx.hook("on_optimizer")
    started = time.perf_counter()
    ctx.run_epochs(config.epochs)
    ctx.hook("on_train_end")
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
