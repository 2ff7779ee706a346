"""Techniques are plug-ins: one module each, registered by name.

A technique declares its parameters (with ranges and defaults), what it conflicts with,
the dataset kinds it suits and what it measures, and implements only the training-loop
hooks it needs (the shape of Lightning/fastai callbacks). The UI and the CLI build their
switches from this registry, so adding a technique is adding one module.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from playground.registry import Registry

if TYPE_CHECKING:
    import torch

    from playground.training import TrainContext


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

    def on_train_end(self, ctx: TrainContext) -> None:
        """After the last epoch, before the test set is scored."""

    def finalize(self, ctx: TrainContext, metrics: dict[str, Any]) -> None:
        """After training: measure and add to metrics."""


TECHNIQUES: Registry[type[Technique]] = Registry("technique")


def register(cls: type[Technique]) -> type[Technique]:
    TECHNIQUES.register(cls.name)(cls)
    return cls


def technique_class(name: str) -> type[Technique]:
    return TECHNIQUES.get(name)


def all_techniques() -> list[type[Technique]]:
    return [TECHNIQUES.get(n) for n in TECHNIQUES.names()]


@dataclass
class Validated:
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def validate(techniques: dict[str, dict[str, Any]], dataset_kind: str) -> Validated:
    """Fill defaults, check ranges, kinds and conflicts. Pure; no torch needed."""
    out = Validated()
    for name, given in techniques.items():
        if name not in TECHNIQUES:
            out.problems.append(
                f"techniques: unknown technique {name!r}; choose from "
                f"{', '.join(TECHNIQUES.names())}")
            continue
        cls = TECHNIQUES.get(name)
        given = dict(given or {})
        known = {p.name for p in cls.params}
        for extra in sorted(set(given) - known):
            out.problems.append(f"{name}.{extra}: is not a setting of {cls.title}; known: "
                                f"{', '.join(sorted(known)) or 'none'}")
        values = {}
        for p in cls.params:
            value, problem = p.check(name, given.get(p.name, p.default))
            values[p.name] = value
            if problem:
                out.problems.append(problem)
        if dataset_kind not in cls.kinds:
            out.problems.append(f"{name}: {cls.title} works on {' and '.join(cls.kinds)} "
                                f"data, not {dataset_kind} data; switch it off")
        out.settings[name] = values
    names = list(out.settings)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if b in TECHNIQUES.get(a).conflicts or a in TECHNIQUES.get(b).conflicts:
                out.problems.append(
                    f"techniques: {TECHNIQUES.get(a).title} and {TECHNIQUES.get(b).title} "
                    "can't be combined; switch one off")
    return out


def build(settings: dict[str, dict[str, Any]]) -> list[Technique]:
    """The switched-on techniques in registration order, which is the order of their hooks
    (not the order the user listed them: e.g. early stopping must restore the best weights
    before pruning zeroes some of them)."""
    return [TECHNIQUES.get(name)(**settings[name]) for name in TECHNIQUES.names()
            if name in settings]


# Import the plug-ins so they register themselves (order = order of hooks).
from playground.techniques import (  # noqa: E402,F401
    augmentation,
    distillation,
    dp,
    dropout,
    early_stopping,
    lr_schedule,
    mixed_precision,
    pruning,
    quantization,
    weight_decay,
)
