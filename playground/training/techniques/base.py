"""What a technique plug-in is: everything about one technique, in its one file.

A technique declares its parameters (with ranges, defaults, glossary terms and values worth
sweeping), its place in the training loop (`order`), what it conflicts with and the dataset
kinds it suits; it implements only the loop hooks it needs (the shape of Lightning/fastai
callbacks). It also brings what people read about it: its glossary terms, its lesson, the
sentences it adds to a run's story and the section it adds to the run card, and what it
queues with a run. Everything that lists techniques loops over this registry.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from playground.common.content import Lesson, Section, Term
from playground.common.metric_registry import Metric, declare
from playground.common.registry import Registry

if TYPE_CHECKING:
    import numpy as np
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
    term: str | None = None  # the glossary term that explains it (else the technique's)
    sweep: str = ""  # values worth trying first in a sweep, e.g. "0, 0.2, 0.5"

    def check(self, technique: str, value: Any) -> tuple[Any, str | None]:
        """Coerce and range-check one value; return (value, problem or None)."""
        where = f"{technique}.{self.name}"
        if self.choices is not None:
            if value not in self.choices:
                return value, f"{where}: must be one of {', '.join(map(str, self.choices))} " \
                              f"(you gave {value!r})"
            return value, None
        kind = type(self.default)
        if kind is bool:  # a switch: from a link or a form it may come as text
            words = {"true": True, "1": True, "yes": True, "on": True,
                     "false": False, "0": False, "no": False, "off": False}
            if isinstance(value, str) and value.strip().lower() in words:
                return words[value.strip().lower()], None
            if value in (True, False):  # also 1 and 0
                return bool(value), None
            return value, f"{where}: must be true or false (you gave {value!r})"
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
    """Base class. Constructors store settings (in `self.s`, apart from run state); the
    hooks do the work."""

    name: str = ""
    title: str = ""
    short_title: str = ""  # in a sentence: "privacy noise" (default: the title, lower case)
    description: str = ""
    order: int = 0  # hooks run in ascending order; each technique has its own (see register)
    params: tuple[Param, ...] = ()
    conflicts: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ("image", "tabular", "points")
    # The numbers it adds to a run's metrics, declared once here (see common/metric_registry):
    # cards, Compare, Pareto axes, leaderboards, sweeps and exports list them from there.
    metrics: tuple[Metric, ...] = ()
    # -- what people read about it ---------------------------------------------------------
    terms: tuple[Term, ...] = ()  # its glossary entries; the first explains the switch
    lesson: Lesson | None = None  # the Learn page's entry and its "try it" preset
    harder_batches: bool = False  # makes training batches harder on purpose (so training
    # accuracy trailing validation accuracy is no alarm)
    regularises: bool = False  # meant to narrow the gap between training and validation
    after_training_only: bool = False  # changes a copy after training: no baseline story

    def __init__(self, **settings: Any):
        self.settings = settings
        self.s = SimpleNamespace(**settings)  # the settings; run state lives on self

    @classmethod
    def words(cls) -> str:
        """Its name inside a sentence."""
        return cls.short_title or cls.title.lower()

    @classmethod
    def story(cls, run, baseline=None, told: bool = False) -> list[str]:
        """Sentences it adds to a finished run's story (`told`: the comparison with the
        baseline already said what it bought)."""
        return []

    @classmethod
    def bought(cls, metrics: dict[str, Any]) -> str | None:
        """What it bought, when it is the one difference from the baseline: finishes the
        sentence "… cost 2.1 points of accuracy (…) and bought ___."."""
        return None

    @classmethod
    def result(cls, run) -> Section | None:
        """Its section on a finished run's card: what it bought and cost."""
        return None

    # Said on the Train page when this technique and another are both on.
    together: dict[str, str] = {}

    @classmethod
    def waits_for(cls, settings: dict[str, Any]) -> str | None:
        """The id of a run a run with these settings must wait for (its teacher)."""
        return None

    @classmethod
    def label(cls, settings: dict[str, Any]) -> str:
        """A few words for a chart's point: "dropout 0.2"."""
        first = next(iter(settings.values()), None)
        word = cls.name.replace("_", " ")
        if isinstance(first, (int, float)) and not isinstance(first, bool):
            return f"{word} {first:g}"
        return f"{word} {first}" if first else word

    @classmethod
    def new_run_choices(cls, param: str, dataset_kind: str) -> dict[str, str]:
        """For a setting that names a finished run (Param.pick_run): values that queue a new
        run instead, with their words (distillation: "train a teacher first")."""
        return {}

    @classmethod
    def try_it(cls, finished_runs) -> tuple[dict[str, Any], str] | None:
        """A preset other than its lesson's (values, note), e.g. one that needs a finished
        run; None: the lesson's `try_values`."""
        return None

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

    def decide(self, ctx: TrainContext, probs: np.ndarray) -> np.ndarray | None:
        """Turn the model's test-set probabilities (n × classes) into decisions (class
        indices), instead of taking the most likely class; None: leave them be. The run's
        accuracy, confusion matrix and saved predictions are then these decisions (the
        saved probabilities stay the model's; ctx.plain_pred keeps its own decisions).
        Fairness post-processing uses it: per-group thresholds."""
        return None

    def finalize(self, ctx: TrainContext, metrics: dict[str, Any]) -> None:
        """After training: measure and add to metrics."""


TECHNIQUES: Registry[type[Technique]] = Registry("technique")


def without(config, name: str):
    """The same run config with technique `name` switched off: the twin that a technique
    queues beside its run, so what it costs and buys is measured against it."""
    rest = {k: v for k, v in config.techniques.items() if k != name}
    return config.model_copy(update={"techniques": rest})


def finished_twin(store, twin_config):
    """The finished run with exactly this config in `store` (None: no store, or none yet)."""
    if store is None:
        return None
    return next((r for r in store.list_runs(statuses=("finished",)) if r.config == twin_config),
                None)


def register(cls: type[Technique]) -> type[Technique]:
    """Add a plug-in. Its `order` decides when its hooks run and must be its own: an order
    that two plug-ins share would leave the sequence to chance (import order)."""
    taken = {TECHNIQUES.get(n).order: n for n in TECHNIQUES.names()}
    if cls.order <= 0 or cls.order in taken:
        raise ValueError(f"technique {cls.name!r}: give it an order above 0 that no other "
                         f"technique has (taken: {sorted(taken)})")
    TECHNIQUES.register(cls.name)(cls)
    declare(cls.name, *cls.metrics)
    return cls


def in_order() -> list[type[Technique]]:
    """Every technique in the order their hooks run."""
    return sorted((TECHNIQUES.get(n) for n in TECHNIQUES.names()), key=lambda c: c.order)
