"""What the training loop and the technique hooks share for one run: TrainContext.

Every field is declared in `TrainContext.__init__`, with who sets it and who may read or
replace it; nothing is attached later. The hooks themselves, when each runs and what it may
change, are listed in one place: `HOOKS` in training/techniques/base.py.

A few fields change the loop itself (the model, optimizer, loader, backward pass, loss
scaling, autocast type). Techniques replace them only through `ctx.replace(field, value,
by=self)`: the first technique to replace one owns it, and a second one is an error naming
both, instead of the last silently winning. Plain assignment to them is refused. Training
ends early through `ctx.request_stop(by=self)`, and runs in declared phases ("train", then
"fine-tune" when a technique asks for extra epochs) that the loop starts and ends itself.

The loop keeps the whole (small) dataset as tensors on the device and slices shuffled
batches from it, so its per-step overhead is that of a bare PyTorch loop. Which techniques
take part in every step is declared by each (`Technique.per_step`), not guessed.
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, Literal, Protocol

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models.base import build_model
from playground.common import device as devices
from playground.data.views import run_data
from playground.training import boundary as B
from playground.training.build import make_optimizer, model_spec, seed_everything
from playground.training.capabilities import Capability
from playground.training.measure import evaluate
from playground.training.privacy import EpsilonService

Phase = Literal["setup", "train", "fine-tune", "done"]

# The fields a technique may replace (through ctx.replace), in words for error messages.
REPLACEABLE = {
    "model": "model",
    "optimizer": "optimizer",
    "loader": "batch loader",
    "backward": "backward pass",
    "scaler": "loss scaler",
    "amp_dtype": "16-bit arithmetic type",
}
PER_STEP_HOOKS = frozenset({"on_batch", "loss", "after_step"})


class Cancelled(Exception):
    """Raised inside the loop when the user asked the run to stop."""


class ReplacedTwice(RuntimeError):
    """Two techniques replaced the same part of the loop."""


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


class Hooks(Protocol):
    """What the context needs of a technique (training/techniques/base.py's Technique)."""

    name: str
    title: str
    per_step: frozenset[str]
    provides: tuple[Capability, ...]

    def fine_tune_epochs(self) -> int: ...


class _Replaceable:
    """A field the loop reads and techniques replace only through ctx.replace."""

    def __set_name__(self, owner, name: str) -> None:
        self.name, self.slot = name, "_" + name

    def __get__(self, ctx, kind=None):
        return self if ctx is None else ctx.__dict__[self.slot]

    def __set__(self, ctx, value) -> None:
        raise AttributeError(f"ctx.{self.name} belongs to the loop: a technique replaces it "
                             f"with ctx.replace({self.name!r}, value, by=self)")


class _LoopOwned:
    """A field only the loop writes; techniques read it (and ask through a method)."""

    def __init__(self, how: str):
        self.how = how

    def __set_name__(self, owner, name: str) -> None:
        self.name, self.slot = name, "_" + name

    def __get__(self, ctx, kind=None):
        return self if ctx is None else ctx.__dict__[self.slot]

    def __set__(self, ctx, value) -> None:
        raise AttributeError(f"ctx.{self.name} is set by the loop; {self.how}")


class TrainContext:
    """What the loop and the technique hooks share for one run (see the module's docstring;
    the hooks are documented in techniques/base.py's HOOKS)."""

    model = _Replaceable()
    optimizer = _Replaceable()
    loader = _Replaceable()
    backward = _Replaceable()
    scaler = _Replaceable()
    amp_dtype = _Replaceable()
    stop = _LoopOwned("a technique ends the current phase with ctx.request_stop(by=self)")
    phase = _LoopOwned("techniques read it to tell training from fine-tuning")

    def __init__(self, config, reporter: Reporter, techniques: list, store=None,
                 epsilons: EpsilonService | None = None,
                 boundary: B.Recorder | None = None):
        # -- set here, read by anyone, replaced by no one -----------------------------------
        self.config = config  # the validated RunConfig
        self.reporter = reporter  # progress and cancellation (the loop calls it)
        self.techniques = techniques  # the switched-on techniques, in hook order
        self.store = store  # the run store techniques look other runs up in (or None)
        self.epsilons = epsilons  # the worker's ε service (DP asks it); None: DP makes one
        self.boundary = boundary  # 2-D runs: the decision-boundary recorder (train() sets it)
        self.device = devices.resolve(config.device)
        self.data = run_data(config)
        self.generator = seed_everything(config.seed)  # the loop's shuffling
        self.X = torch.from_numpy(self.data.X_train).to(self.device)
        self.y = torch.from_numpy(self.data.y_train).to(self.device)
        self.X_val = torch.from_numpy(self.data.X_val).to(self.device)
        self.y_val = torch.from_numpy(self.data.y_val).to(self.device)
        self.n, self.bs = len(self.X), config.batch_size
        self.steps_per_epoch = (self.n + self.bs - 1) // self.bs
        self.total_steps = config.epochs * self.steps_per_epoch  # of the "train" phase
        # -- replaced only through ctx.replace (one owner each; None: the loop's default) ----
        self._model: nn.Module = build_model(
            config.model, model_spec(config, self.data)).to(self.device)
        self._optimizer: torch.optim.Optimizer | None = None  # setup() makes Adam
        self._loader = None  # batches of example indices (DP-SGD: Poisson sampling)
        self._backward = None  # replaces loss.backward() (DP-SGD: per-example clipping)
        self._scaler: torch.amp.GradScaler | None = None  # fp16 loss scaling
        self._amp_dtype: torch.dtype | None = None  # autocast type (mixed precision)
        self._owners: dict[str, Hooks] = {}
        # -- written by the loop, read by techniques ----------------------------------------
        self._phase: Phase = "setup"
        self._stop = False  # end the current phase after this epoch (ctx.request_stop)
        self.stopped_by: str | None = None  # the technique that asked to stop
        self.step = 0  # optimizer steps so far, all phases
        self.epoch = 0  # epochs so far, all phases
        self.batch_idx: torch.Tensor | None = None  # example indices of the current batch
        self.history: list[dict[str, float]] = []  # each epoch's values, as reported
        # -- written by train() after training, read by decide / finalize / the audits ------
        self.probs: np.ndarray | None = None  # the model's test-set probabilities
        self.plain_pred: np.ndarray | None = None  # the model's own (most likely class)
        self.y_pred: np.ndarray | None = None  # the test decisions (a decider's, if on)
        self.decided_by: str | None = None  # the technique whose `decide` made y_pred
        # -- declared per-step hooks (Technique.per_step): the plain path skips them all -----
        self._batch_hooks = [t for t in techniques if "on_batch" in t.per_step]
        self._loss_hooks = [t for t in techniques if "loss" in t.per_step]
        self._step_hooks = [t for t in techniques if "after_step" in t.per_step]
        self._plain = not (self._batch_hooks or self._loss_hooks or self._step_hooks)

    # -- what techniques call ---------------------------------------------------------------

    def replace(self, field: str, value: Any, by: Hooks) -> None:
        """Replace one of the loop's parts (REPLACEABLE) on behalf of technique `by`; the
        first technique to replace a part owns it, and may replace it again (DP-SGD wraps
        the model, then unwraps it); another technique may not."""
        if field not in REPLACEABLE:
            raise ValueError(f"ctx.{field} can't be replaced; replaceable: "
                             f"{', '.join(REPLACEABLE)}")
        owner = self._owners.setdefault(field, by)
        if owner is not by:
            raise ReplacedTwice(
                f"{by.title} and {owner.title} both replace the training loop's "
                f"{REPLACEABLE[field]}; only one of them can, so switch one off")
        self.__dict__["_" + field] = value

    def owner(self, field: str) -> str | None:
        """The name of the technique that replaced `field`, if one did."""
        owner = self._owners.get(field)
        return owner.name if owner is not None else None

    def request_stop(self, by: Hooks) -> None:
        """End the current phase after this epoch (early stopping)."""
        self._stop, self.stopped_by = True, by.name

    def provides(self, capability: Capability, besides: Hooks | None = None) -> list[Hooks]:
        """The switched-on techniques (other than `besides`) that provide `capability`."""
        return [t for t in self.techniques if t is not besides and capability in t.provides]

    def validate(self) -> tuple[float, float]:
        loss, acc, _ = evaluate(self._model, self.X_val, self.y_val)
        return loss, acc

    # -- the loop ---------------------------------------------------------------------------

    def hook(self, name: str, *args) -> None:
        for t in self.techniques:
            getattr(t, name)(self, *args)

    def setup(self) -> None:
        """Before the first epoch: on_model, the boundary's first frame, the optimizer,
        on_optimizer."""
        self.hook("on_model")
        if self.boundary is not None:
            self.boundary.record(self._model, 0)  # before training
        self.start_optimizer()
        self.hook("on_optimizer")

    def start_optimizer(self, optimizer: torch.optim.Optimizer | None = None) -> None:
        """The loop's own optimizer, before on_optimizer: Adam, or the one given (tests)."""
        self._optimizer = optimizer or make_optimizer(self._model, self.config.lr)

    def fit(self) -> None:
        """Every phase: "train" (config.epochs), on_train_end, then "fine-tune" when a
        technique declares extra epochs (pruning), and on_fit_end."""
        self._run_phase("train", self.config.epochs)
        self.hook("on_train_end")
        asked = [(t, t.fine_tune_epochs()) for t in self.techniques if t.fine_tune_epochs()]
        if len(asked) > 1:  # techniques.validate refuses this first; a guard for direct calls
            raise ValueError(" and ".join(t.title for t, _ in asked)
                             + " each ask for fine-tuning epochs; only one of them can")
        if asked:
            self._run_phase("fine-tune", asked[0][1])
        self._phase = "done"
        self.hook("on_fit_end")

    def _run_phase(self, phase: Phase, epochs: int) -> None:
        self._phase, self._stop, self.stopped_by = phase, False, None
        self.hook("on_phase_start")
        self.run_epochs(epochs)

    def _autocast(self):
        if self._amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self._amp_dtype)

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step on a batch; returns (loss, logits), both still on the device."""
        if not self._plain:
            for t in self._batch_hooks:
                xb, yb = t.on_batch(self, xb, yb)
        with self._autocast():
            logits = self._model(xb)
            loss = F.cross_entropy(logits, yb)
            if not self._plain:
                for t in self._loss_hooks:
                    loss = t.loss(self, logits, xb, yb, loss)
        optimizer = self._optimizer
        optimizer.zero_grad(set_to_none=True)
        if self._backward is not None:
            self._backward(loss)
            optimizer.step()
        elif self._scaler is None:
            loss.backward()
            optimizer.step()
        else:  # fp16: scale the loss so small gradients survive, unscale before the step
            self._scaler.scale(loss).backward()
            self._scaler.step(optimizer)
            self._scaler.update()
        if not self._plain:
            for t in self._step_hooks:
                t.after_step(self)
        return loss, logits

    def run_epochs(self, epochs: int) -> None:
        """Train `epochs` more epochs of the current phase, reporting each."""
        model, X, y, n, bs, device = self._model, self.X, self.y, self.n, self.bs, self.device
        total = max(self.total_steps, self.step + epochs * self.steps_per_epoch)
        for _ in range(epochs):
            self.epoch += 1
            epoch_start = time.perf_counter()
            model.train()
            if self._loader is not None:
                values = self._loader_epoch()
                values["seconds"] = time.perf_counter() - epoch_start
                self._end_epoch(values, total)
                if self._stop:
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
            if self._stop:
                return

    def _end_epoch(self, values: dict[str, float], total: int) -> None:
        self.hook("after_epoch", self.epoch, values)
        if self.boundary is not None:  # before the epoch is reported: its frame is there
            self.boundary.record(self._model, self.epoch)
        self.history.append(values)
        self.reporter.epoch(self.epoch, values, min(1.0, self.step / total))

    def _loader_epoch(self) -> dict[str, float]:
        """One epoch over a technique's loader (batches of varying size, maybe empty)."""
        loss_sum = torch.zeros((), device=self.device)
        correct = torch.zeros((), device=self.device, dtype=torch.long)
        seen = 0
        for idx in self._loader:
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
