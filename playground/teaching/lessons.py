"""The Learn page's content: for each technique, what it does in one sentence, the
trade-off it illustrates, when a company would use it, and a ready configuration to try.

Each technique brings its own lesson (in its file); this module lists them in the order of
the loop and makes the "try it" presets. Pure functions, no Streamlit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from playground.common.content import Lesson, TryIt
from playground.teaching.glossary import technique_term
from playground.training.config import ConfigError, make_config
from playground.training.techniques import TECHNIQUES, all_techniques, technique_class


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    lesson: Lesson
    glossary_key: str | None


# The two attacks every finished run gets (playground.training.audits): not switches, so
# their lessons live here; their "try it" opens Train with a setup where they show.
AUDITS = (
    Entry("privacy_attack", "Who was in the training data? (membership attack)", Lesson(
        "Attacks every finished model the way a snoop would: given a record, guess whether it "
        "was in the training data, from how sure the model is about it.",
        "Privacy against accuracy: an overfit model leaks who it trained on; privacy noise "
        "(DP-SGD) brings the attacker's guesses closer to a coin toss, at a price in accuracy, "
        "and ε caps what any attacker could do.",
        "A clinic or a bank that shares a model trained on its customers and must show it does "
        "not reveal who they are.",
        {"dataset": "digits", "model": "mlp", "width": 256, "depth": 3, "epochs": 60,
         "train_fraction": 0.2},
        "Train it again with privacy noise at ε = 1 and compare how often the attacker was "
        "right; on the private run's card, ε's promise is drawn against the attack."),
        "membership_inference"),
    Entry("robustness", "Can a tiny change fool it? (robustness audit)", Lesson(
        "Attacks every finished image or table model with small deliberate changes (FGSM, "
        "PGD) and reports how much it still gets right.",
        "Robustness against accuracy: accurate models are often easy to fool; adversarial "
        "training buys accuracy under "
        "attack with training time and a little clean accuracy.",
        "A company whose model screens uploads (documents, photos, transactions) that someone "
        "has a reason to slip past it.",
        {"dataset": "digits", "model": "cnn", "epochs": 10},
        "Then train the same with adversarial training on, and compare accuracy under PGD "
        "on the two run cards (or on Compare's robustness axis)."),
        "robustness"),
    Entry("fairness_audit", "Does it treat one group worse? (fairness audit)", Lesson(
        "Compares a finished model's decisions group by group of a sensitive attribute "
        "(fairlearn): accuracy, how often each group gets a yes, and how often each is "
        "wrongly refused or wrongly approved.",
        "Fairness against accuracy: a model learns the bias of the past decisions it is "
        "trained on; fairness post-processing evens out approval or error rates between "
        "groups, usually for some accuracy measured against those same decisions.",
        "A lender, insurer or hiring team that must show its model does not repeat an old "
        "bias against a group of people.",
        {"dataset": "loans", "model": "mlp", "epochs": 10},
        "Read the run card's fairness table, then train it again with fairness "
        "post-processing (equal approval rates across groups) and compare approval rates and "
        "accuracy."),
        "demographic_parity"),
)


def entries() -> list[Entry]:
    """One entry per registered technique, in the order of the loop (a technique without a
    lesson of its own gets one made from its description), then the attacks'."""
    out = []
    for cls in all_techniques():
        lesson = cls.lesson or Lesson(
            cls.description.split(". ")[0].rstrip(".") + ".", cls.description, "",
            {"dataset": "digits", "model": "mlp", "epochs": 10, "techniques": {cls.name: {}}})
        out.append(Entry(cls.name, cls.title, lesson, technique_term(cls.name)))
    return out + list(AUDITS)


def try_it(name: str, finished_runs: Sequence = ()) -> TryIt:
    """The Train preset for a technique's "try it" button: its lesson's, or one the technique
    makes itself (distillation picks a finished teacher, or offers the teacher first)."""
    entry = next(e for e in entries() if e.name == name)
    own = technique_class(name).try_it(finished_runs) if name in TECHNIQUES else None
    if own is not None:
        values, note = own
        return _checked(TryIt(values, note))
    return _checked(TryIt(dict(entry.lesson.try_values)))


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
