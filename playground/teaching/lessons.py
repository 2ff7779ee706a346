"""The Learn page's content: for each technique, what it does in one sentence, the
trade-off it illustrates, when a company would use it, and a ready configuration to try.

Pure data plus small pure functions (no Streamlit). The technique registry stays the list
of what exists: a technique added later without a lesson here still gets an entry, built
from its own description (and from optional `trade_off` / `used_when` class attributes).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from playground.teaching.glossary import TECHNIQUE_TERMS
from playground.training.config import ConfigError, RunConfig, make_config
from playground.training.techniques import all_techniques


@dataclass(frozen=True)
class Lesson:
    what: str  # one sentence
    trade_off: str
    used_when: str  # when a company would use it
    try_values: dict[str, Any] = field(default_factory=dict)  # flat Train preset values
    compare_hint: str = ""  # what to do after the run finishes


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    lesson: Lesson
    glossary_key: str | None


@dataclass(frozen=True)
class TryIt:
    values: dict[str, Any]  # flat values for the Train page preset (make_config accepts them)
    note: str = ""  # what to know before pressing Train
    problem: str = ""  # why it can't run here (e.g. it needs a GPU); then nothing opens


LESSONS: dict[str, Lesson] = {
    "dropout": Lesson(
        "Randomly switches off part of the network at every training step, so it can't "
        "rely on any single neuron.",
        "Less memorising and a narrower gap between training and test accuracy, against "
        "slower learning; too much and the model can't fit at all.",
        "A team whose model looks great on its own training data but disappoints on new "
        "customers, and who can't easily collect more data.",
        {"dataset": "digits", "model": "mlp", "epochs": 30, "width": 256, "train_fraction": 0.3,
         "dropout": 0.5},
        "Train the same setup with dropout off too, then compare the learning curves' gaps."),
    "augmentation": Lesson(
        "Trains on slightly changed copies of the examples (turned, shifted, a little noise) "
        "so the model learns what matters, not the exact pictures.",
        "More accuracy from scarce data, against longer training and changes that must make "
        "sense for the data (a 6 turned upside down is a 9).",
        "A start-up with a few hundred labelled photos of product defects, where labelling "
        "more is slow and expensive.",
        {"dataset": "digits", "model": "cnn", "epochs": 15, "train_fraction": 0.2,
         "augment": 0.5},
        "Train it again with augmentation off: with only 20 % of the data the gap shows."),
    "weight_decay": Lesson(
        "Pulls every weight a little towards zero at every step, favouring simpler models.",
        "Models that generalise better, against a slightly looser fit; too strong and the "
        "model can't learn.",
        "Almost every production neural network, as a cheap default guard against "
        "overfitting.",
        {"dataset": "wine", "model": "mlp", "epochs": 40, "width": 128, "weight_decay": 0.01},
        "Compare with the same run without weight decay: look at the training/validation gap."),
    "early_stopping": Lesson(
        "Stops training once the validation results stop improving, and keeps the best "
        "weights seen.",
        "Saved time and less overfitting, against the risk of stopping just before a slow "
        "improvement.",
        "Teams that retrain models every night and don't want to pay for compute once the "
        "model has stopped getting better.",
        {"dataset": "breast_cancer", "model": "mlp", "epochs": 50, "early_stop": 3},
        "The run card says at which epoch it stopped and how many epochs that saved."),
    "lr_schedule": Lesson(
        "Starts with big learning steps and makes them smaller and smaller towards the end.",
        "A more precise final model for the same training time, against one more thing to "
        "set; it can't rescue a starting learning rate that is far off.",
        "Standard practice when training large models, where it buys accuracy without "
        "buying more compute.",
        {"dataset": "spirals", "model": "mlp", "epochs": 30, "lr": 0.03, "schedule": "cosine"},
        "Train it once more without the schedule and compare the loss curves' last epochs."),
    "pruning": Lesson(
        "Sets the smallest weights to exactly zero after training, then trains a little more "
        "to win back accuracy.",
        "Fewer non-zero weights (smaller once compressed, faster on hardware that skips "
        "zeros) against accuracy lost when too much is cut.",
        "A product that must run on phones, cameras or microcontrollers, where memory and "
        "battery are tight.",
        {"dataset": "digits", "model": "mlp", "epochs": 10, "prune": 0.8},
        "Try 50 %, 80 % and 95 %: find where accuracy starts to fall."),
    "quantization": Lesson(
        "Stores the trained model's numbers in 8-bit whole numbers (or 16-bit decimals) "
        "instead of 32-bit decimals.",
        "About 4× smaller and often faster, against a little accuracy: the run card counts "
        "the predictions that changed.",
        "Shipping a model inside a mobile app, or serving millions of requests, where a "
        "smaller model cuts download size and server bills.",
        {"dataset": "digits", "model": "cnn", "epochs": 8, "quantize": "int8"},
        "The run card shows size, speed and accuracy before and after."),
    "distillation": Lesson(
        "A small 'student' model learns from a bigger, finished 'teacher' model's answers, "
        "including how sure the teacher was, not only from the labels.",
        "A small, fast model with much of a big model's accuracy, against first training "
        "(and keeping) the big teacher.",
        "A company with a big, accurate model that is too slow or costly to serve, which "
        "trains a small one to imitate it (as the compact versions of large language models "
        "are made).",
        # Measured (BENCHMARKS.md): on digits the teacher helps this student where it
        # labels the turned and shifted copies augmentation makes; on the plain pictures
        # its answers are nearly the labels themselves.
        {"dataset": "digits", "model": "mlp", "epochs": 20, "width": 16, "depth": 1,
         "augment": 1.0},
        "The run card compares the student with the same small model trained alone (queued "
        "for you). Both practise on turned and shifted copies of the digits; the teacher "
        "labels each copy for its student. Honest note: on these tiny pictures the student "
        "does as well with no copies and no teacher; the teacher wins back what the copies "
        "cost it."),
    "mixed_precision": Lesson(
        "Does most of the training arithmetic on a GPU with 16-bit numbers instead of 32-bit "
        "ones, while the weights stay 32-bit.",
        "Faster training and less GPU memory, against a little numerical care (fp16 needs "
        "its loss scaled); accuracy usually does not move, and a CPU gains nothing.",
        "Any team training models on GPUs at scale: it is the default way large models are "
        "trained, because it cuts the compute bill.",
        {"dataset": "digits", "model": "cnn", "epochs": 10, "mixed_precision": "bf16"},
        "Train it again without mixed precision and compare the training times."),
    "dp": Lesson(
        "Trains with differential privacy: each example's influence is capped and random "
        "noise hides what is left, so the model reveals almost nothing about any one person.",
        "A mathematical privacy guarantee, the budget ε (smaller is more private), against "
        "accuracy and training time: the stronger the privacy, the higher the price.",
        "A hospital, bank or consumer app learning from personal data, which must show that "
        "no individual's records can be pulled back out of the model.",
        {"dataset": "breast_cancer", "model": "mlp", "epochs": 10, "dp_noise": 1.0,
         "dp_clip": 1.0},
        "Train the same setup without privacy noise: the run card's story then says what "
        "the privacy cost in accuracy."),
}

# Distillation needs a finished teacher on the same data, split and noise.
TEACHER_VALUES = {"dataset": "digits", "model": "cnn", "epochs": 10}


def entries() -> list[Entry]:
    """One entry per registered technique, in the registry's order."""

    out = []
    for cls in all_techniques():
        lesson = LESSONS.get(cls.name) or Lesson(
            cls.description.split(". ")[0].rstrip(".") + ".",
            getattr(cls, "trade_off", "") or cls.description,
            getattr(cls, "used_when", "") or "",
            {"dataset": "digits", "model": "mlp", "epochs": 10, "techniques": {cls.name: {}}})
        out.append(Entry(cls.name, cls.title, lesson, TECHNIQUE_TERMS.get(cls.name)))
    return out


def try_it(name: str, finished_runs: Sequence = ()) -> TryIt:
    """The Train preset for a technique's "try it" button.

    Distillation takes the most accurate finished run on the lesson's data as teacher; with
    none, it offers the teacher's configuration first and says so.
    """
    entry = next(e for e in entries() if e.name == name)
    values = dict(entry.lesson.try_values)
    if name != "distillation":
        return _checked(TryIt(values))

    defaults = RunConfig.model_fields
    teachers = [r for r in finished_runs
                if r.config.dataset == values["dataset"]
                and r.config.seed == defaults["seed"].default
                and r.config.noise == defaults["noise"].default
                and "accuracy" in r.metrics]
    if not teachers:
        return _checked(TryIt(dict(TEACHER_VALUES),
                     "Distillation needs a teacher first. This opens Train with the teacher "
                     "(a small image network on the digits): train it, and once it has "
                     "finished, press this button again for the student."))
    best = max(teachers, key=lambda r: r.metrics["accuracy"])
    values["distill_from"] = best.id
    return _checked(TryIt(values, f"The teacher is run {best.id} ({best.metrics['accuracy']:.1%} "
                                  "accurate), your most accurate finished run on the digits."))


def _checked(tried: TryIt) -> TryIt:
    """The same, or with the reason it can't run on this machine (a GPU-only technique)."""

    try:
        make_config(**tried.values)
    except ConfigError as exc:
        return TryIt(tried.values, tried.note, " ".join(exc.problems))
    return tried


def preset(values: dict[str, Any]) -> dict[str, Any]:
    """The Train page's in-app preset (see the Train page: it applies and pops it)."""
    return {"values": dict(values), "lock": [], "hide": []}
