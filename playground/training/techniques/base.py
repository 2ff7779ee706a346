"""What a technique plug-in is: its parameters, its hooks in the training loop, the registry.

A technique declares its parameters (with ranges and defaults), what it conflicts with,
the dataset kinds it suits, and implements only the training-loop hooks it needs (the
shape of Lightning/fastai callbacks).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from playground.common.registry import Registry

if TYPE_CHECKING:
    import torch

    from playground.training.loop import TrainContext


@dataclass(frozen=True)
class Param:
    name: str
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[Any, ...] | None = None
    flag: str | None = None  # CLI flag that sets this parameter
    pick_run: bool = False  # the value is the id of a finished run (UI offers a list)

    def check(self, technique: str, value: Any) -> tuple[Any, str | None]:
        """Coerce and range-check one value; return (value, problem or None)."""
        where = f"{technique}.{self.name}"
        if self.choices is not None:
            if value not in self.choices:
                return value, f"{where}: must be one of {', '.join(map(str, self.choices))} " \
                              f"(you gave {value!r})"
            return value, None
        kind = type(self.default)
        try:
            value = kind(value)
        except (TypeError, ValueError):
            return value, f"{where}: must be a {kind.__name__} (you gave {value!r})"
        if self.min is not None and value < self.min:
            return value, f"{where}: must be at least {self.min:g} (you gave {value!r})"
        if self.max is not None and value > self.max:
            return value, f"{where}: must be at most {self.max:g} (you gave {value!r})"
        return value, None


class Technique:
    """Base class. Constructors store settings; the hooks do the work."""

    name: str = ""
    title: str = ""
    description: str = ""
    params: tuple[Param, ...] = ()
    conflicts: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ("image", "tabular", "points")
    measures: tuple[str, ...] = ()

    def __init__(self, **settings: Any):
        self.settings = settings

    def __getattr__(self, name: str) -> Any:
        settings = self.__dict__.get("settings", {})
        if name in settings:
            return settings[name]
        raise AttributeError(name)

    @classmethod
    def unavailable(cls) -> str | None:
        """Why this technique can't run on this machine at all (e.g. it needs a GPU)."""
        return None

    # -- hooks (all optional) ----------------------------------------------------------
    def check(self, config) -> list[str]:
        """Problems with this technique in this config (beyond ranges and conflicts)."""
        return []

    def on_model(self, ctx: TrainContext) -> None:
        """After the model is built, before the optimizer exists."""

    def on_optimizer(self, ctx: TrainContext) -> None:
        """After the optimizer exists: wrap or replace ctx.optimizer / ctx.model."""

    def on_batch(self, ctx: TrainContext, xb: torch.Tensor, yb: torch.Tensor):
        """Transform a training batch (never validation or test data)."""
        return xb, yb

    def loss(self, ctx: TrainContext, logits, xb, yb, loss):
        return loss

    def after_step(self, ctx: TrainContext) -> None:
        pass

    def after_epoch(self, ctx: TrainContext, epoch: int, values: dict[str, float]) -> None:
        pass

    # -- what a run with this technique brings with it into the queue ----------------------

    @classmethod
    def prerequisites(cls, config) -> list[tuple[str, Any]]:
        """(setting, run config) pairs: runs to queue before this one; the setting then
        holds the new run's id (distillation: a teacher trained first)."""
        return []

    @classmethod
    def companions(cls, config) -> list[Any]:
        """Run configs to queue beside this one unless such a run exists (distillation:
        the student trained alone, to compare against)."""
        return []

    def on_train_end(self, ctx: TrainContext) -> None:
        """After the last epoch, before the test set is scored."""

    def finalize(self, ctx: TrainContext, metrics: dict[str, Any]) -> None:
        """After training: measure and add to metrics."""


TECHNIQUES: Registry[type[Technique]] = Registry("technique")


def register(cls: type[Technique]) -> type[Technique]:
    TECHNIQUES.register(cls.name)(cls)
    return cls
