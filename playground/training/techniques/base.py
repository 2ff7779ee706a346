"""What a technique plug-in is: everything about one technique, in its one file.

A technique declares its parameters (with ranges, defaults, glossary terms and values worth
sweeping), its place in the training loop (`order`), the capabilities it provides and needs
and those it conflicts with (training/capabilities.py; never another technique's name), and
the dataset kinds it suits; it implements only the loop hooks it needs (the shape of
Lightning/fastai callbacks; every hook is listed in HOOKS below). It also brings what people
read about it: its glossary terms, its lesson, the sentences it adds to a run's story and
the section it adds to the run card, and what it queues with a run. Everything that lists
techniques loops over this registry.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from playground.common.content import Lesson, Section, Term
from playground.common.metric_registry import Metric, declare
from playground.common.registry import Registry
from playground.training.capabilities import DECISION_RULE, Capability, Conflict
from playground.training.context import PER_STEP_HOOKS, TrainContext

# Every hook, in the order a run meets them: when it runs, what it reads, what it may change.
# "Replace" means ctx.replace(field, value, by=self) (training/context.py): one owner per
# field, a second technique replacing it is an error. Each hook runs for every switched-on
# technique in ascending `order`.
HOOKS: dict[str, str] = {
    "check": "At config time (no torch work). Reads the config; returns plain problems.",
    "on_model": "After the model is built, before the optimizer. Reads ctx.data, ctx.X/y, "
                "ctx.store; may replace ctx.model (DP-SGD swaps incompatible layers) or "
                "change its weights in place (starting from another run).",
    "on_optimizer": "After the optimizer exists, before the first epoch. May replace "
                    "ctx.optimizer, ctx.model, ctx.loader, ctx.backward, ctx.scaler, "
                    "ctx.amp_dtype; may change the optimizer's param groups.",
    "on_phase_start": "At the start of each phase; ctx.phase says which (\"train\", then "
                      "\"fine-tune\" if a technique asked for it). May change learning rates.",
    "on_batch": "Per training step, before the forward pass (per_step). Reads ctx.batch_idx; "
                "returns the (inputs, targets) the model trains on. Never sees validation "
                "or test data.",
    "loss": "Per step, inside autocast, after the loop's cross-entropy (per_step). Returns "
            "the loss to train on; may not step the optimizer.",
    "after_step": "Per step, after the optimizer step (per_step). Reads ctx.step, "
                  "ctx.optimizer; may step schedulers.",
    "after_epoch": "After each epoch's validation, before it is reported. May add numbers "
                   "to `values` (reported with the epoch) and call ctx.request_stop().",
    "on_train_end": "After the train phase, before fine-tuning. May restore weights, "
                    "unwrap ctx.model (replace), prune.",
    "fine_tune_epochs": "Asked after on_train_end: how many fine-tune epochs this technique "
                        "wants (0: none; at most one technique may ask, see FINE_TUNING).",
    "on_fit_end": "After the last phase, before the test set is scored. May make pruning's "
                  "zeros permanent, etc.",
    "decide": "After the test set is scored. Reads ctx.probs; returns decisions or None "
              "(only a technique that provides DECISION_RULE, at most one per run).",
    "finalize": "After decisions, size and latency are measured and files written. Adds "
                "to `metrics`; must not train.",
    "privacy_promise": "After finalize, before the audits. Reads `metrics`; returns the "
                       "(ε, δ) it guarantees, or None (only a PRIVACY_GUARANTEE provider).",
}


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
    label: str = ""  # its name on a control, in plain words (default: from its name)
    words: tuple[tuple[Any, str], ...] = ()  # (choice, plain words) for each choice shown
    # False: a workshop participant may not choose it (only the room's lesson may), as with
    # DP's δ, which a participant could loosen to win the privacy board.
    participant_sets: bool = True

    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def word(self, value: Any) -> str:
        """A choice in plain words (the value itself when it has none)."""
        return dict(self.words).get(value, str(value))

    def check(self, technique: str, value: Any) -> tuple[Any, str | None]:
        """Coerce and range-check one value; return (value, problem or None). `technique`
        is the technique's title: messages name things the way the page does."""
        where = f"{technique}: {self.title().lower()}"
        if self.choices is not None:
            if value not in self.choices:
                shown = ", ".join(self.word(c) for c in self.choices)
                return value, f"{where}: must be one of {shown} (you gave {value!r})"
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


@dataclass(frozen=True)
class PlainChoice:
    """How simple mode on Train offers a technique: one trade-off in plain words, with one
    plain setting whose levels set the technique's parameters. A technique declares it; the
    page lists the declarations, so adding one is editing one technique file."""

    goal: str  # "Protect people's privacy"
    question: str  # the one setting: "How strong?"
    levels: tuple[tuple[str, dict[str, Any]], ...]  # ("medium", {"target_epsilon": 3.0})
    cost: str = ""  # what it usually costs, one sentence
    default: int = 0  # which level is picked first
    needs_groups: bool = False  # only on data with a column that names groups
    rank: int = 50  # its place in the list (smaller first)

    def settings(self, level: str) -> dict[str, Any]:
        return dict(dict(self.levels).get(level, self.levels[self.default][1]))


class Technique:
    """Base class. Constructors store settings (in `self.s`, apart from run state); the
    hooks do the work (see HOOKS for when each runs and what it may change).

    The per-step hooks (on_batch, loss, after_step) run only for a technique that lists them
    in `per_step`: a run whose techniques list none trains on the loop's plain path, as fast
    as a bare PyTorch loop. `register` refuses a plug-in whose `per_step` does not match the
    per-step hooks it defines, and one that defines `decide` without providing
    DECISION_RULE."""

    name: str = ""
    title: str = ""
    short_title: str = ""  # in a sentence: "privacy noise" (default: the title, lower case)
    description: str = ""
    order: int = 0  # hooks run in ascending order; each technique has its own (see register)
    params: tuple[Param, ...] = ()
    per_step: frozenset[str] = frozenset()  # the per-step hooks it defines (see above)
    provides: tuple[Capability, ...] = ()  # what it brings to a run (capabilities.py)
    needs: tuple[Capability, ...] = ()  # what it asks of the batch or the loss
    conflicts: tuple[Conflict, ...] = ()  # capabilities it can't run beside, and why
    kinds: tuple[str, ...] = ("image", "tabular", "points", "text")
    # Why it does not apply to a kind left out of `kinds`, in plain words: the refusal says
    # it ("words are whole tokens: …") instead of only naming the kinds it suits.
    not_for: dict[str, str] = {}
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
    plain: PlainChoice | None = None  # how simple mode offers it (None: "All settings" only)

    def __init__(self, **settings: Any):
        self.settings = settings
        self.s = SimpleNamespace(**settings)  # the settings; run state lives on self

    @classmethod
    def settings_of(cls, config) -> dict[str, Any] | None:
        """Its settings in a run config (None: switched off). Other modules ask this
        instead of writing the technique's key."""
        return config.techniques.get(cls.name)

    @classmethod
    def report(cls, metrics: dict[str, Any] | None) -> dict[str, Any]:
        """What it stored about itself in a finished run's metrics, by convention under its
        own name ({} when it stored nothing)."""
        return (metrics or {}).get(cls.name) or {}

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

    # Said on the Train page when this technique and one providing the capability are on.
    together: dict[Capability, str] = {}

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

    def on_phase_start(self, ctx: TrainContext) -> None:
        """At the start of each phase (ctx.phase: "train", then maybe "fine-tune")."""

    def on_batch(self, ctx: TrainContext, xb: torch.Tensor, yb: torch.Tensor):
        """Transform a training batch (never validation or test data); list "on_batch" in
        `per_step`. Returns (inputs, targets): targets may become soft (n × classes)."""
        return xb, yb

    def loss(self, ctx: TrainContext, logits: torch.Tensor, xb: torch.Tensor,
             yb: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        """The loss to train on, given the logits, the batch (after on_batch) and the loss
        so far (the loop's cross-entropy, or an earlier technique's); list "loss" in
        `per_step`. Runs inside autocast; must keep the graph (no .item(), no detach)."""
        return loss

    def after_step(self, ctx: TrainContext) -> None:
        """After each optimizer step (ctx.step is the step just done); list "after_step"
        in `per_step`. For schedulers and per-step bookkeeping; no host syncs if avoidable:
        it runs on every step."""

    def after_epoch(self, ctx: TrainContext, epoch: int, values: dict[str, float]) -> None:
        """After each epoch's validation (`values`: train_loss, train_accuracy, val_loss,
        val_accuracy, seconds), before the epoch is reported. May add numbers to `values`
        and end the phase with ctx.request_stop(by=self)."""

    def fine_tune_epochs(self) -> int:
        """Epochs of a "fine-tune" phase after on_train_end (0: none). A technique that
        asks for them provides FINE_TUNING."""
        return 0

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
        """After the train phase's last epoch, before any fine-tuning."""

    def on_fit_end(self, ctx: TrainContext) -> None:
        """After the last phase, before the test set is scored."""

    def decide(self, ctx: TrainContext, probs: np.ndarray) -> np.ndarray | None:
        """Turn the model's test-set probabilities (n × classes) into decisions (class
        indices), instead of taking the most likely class; None: leave them be. The run's
        accuracy, confusion matrix and saved predictions are then these decisions (the
        saved probabilities stay the model's; ctx.plain_pred keeps its own decisions).
        Fairness post-processing uses it: per-group thresholds. Only a technique that
        provides DECISION_RULE may; at most one such technique is on in a run."""
        return None

    def finalize(self, ctx: TrainContext, metrics: dict[str, Any]) -> None:
        """After training: measure and add to metrics."""

    def privacy_promise(self, metrics: dict[str, Any]) -> tuple[float, float] | None:
        """The (ε, δ) guarantee this technique gave the finished run, read from `metrics`
        after `finalize` (None: it promises none). The membership audit checks its attack
        against it."""
        return None


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


def defined_per_step(cls: type[Technique]) -> frozenset[str]:
    """The per-step hooks a class defines itself (or inherits from a plug-in): what its
    `per_step` must say."""
    return frozenset(h for h in PER_STEP_HOOKS
                     if getattr(cls, h) is not getattr(Technique, h))


def register(cls: type[Technique]) -> type[Technique]:
    """Add a plug-in. Its `order` decides when its hooks run and must be its own: an order
    that two plug-ins share would leave the sequence to chance (import order). Its
    declarations must match its hooks (see Technique)."""
    taken = {TECHNIQUES.get(n).order: n for n in TECHNIQUES.names()}
    if cls.order <= 0 or cls.order in taken:
        raise ValueError(f"technique {cls.name!r}: give it an order above 0 that no other "
                         f"technique has (taken: {sorted(taken)})")
    if frozenset(cls.per_step) != defined_per_step(cls):
        raise ValueError(f"technique {cls.name!r}: per_step must list the per-step hooks it "
                         f"defines: {sorted(defined_per_step(cls))} (it lists "
                         f"{sorted(cls.per_step)})")
    if (cls.decide is not Technique.decide) != (DECISION_RULE in cls.provides):
        raise ValueError(f"technique {cls.name!r}: a technique defines decide exactly when "
                         "it provides DECISION_RULE")
    TECHNIQUES.register(cls.name)(cls)
    declare(cls.name, *cls.metrics)
    return cls


def providers(names, capability: Capability) -> list[type[Technique]]:
    """The techniques among `names` (e.g. a config's `techniques`) that provide
    `capability`, in hook order."""
    return [cls for cls in in_order() if cls.name in names and capability in cls.provides]


def titles(classes) -> str:
    """Their names inside a sentence: "privacy noise and distillation"."""
    return " and ".join(cls.words() for cls in classes)


def together_note(a: type[Technique], b: type[Technique]) -> str | None:
    """What `a` and `b` mean together, said by either (keyed by what the other provides)."""
    for one, other in ((a, b), (b, a)):
        for capability, note in one.together.items():
            if capability in other.provides:
                return note
    return None


def conflict(a: type[Technique], b: type[Technique]) -> str | None:
    """Why `a` and `b` can't be combined (plain words), or None."""
    for one, other in ((a, b), (b, a)):
        for c in one.conflicts:
            if c.capability in other.provides:
                return (f"{one.title} can't be combined with {other.title}: {c.reason}; "
                        "switch one off")
    shared = [c for c in a.provides if c.exclusive and c in b.provides]
    if shared:
        return (f"{a.title} and {b.title} both bring {shared[0].words}, and a run can have "
                "only one; switch one off")
    return None


def in_order() -> list[type[Technique]]:
    """Every technique in the order their hooks run."""
    return sorted((TECHNIQUES.get(n) for n in TECHNIQUES.names()), key=lambda c: c.order)
