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
from playground.training.techniques import all_techniques, technique_class


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    lesson: Lesson
    glossary_key: str | None


def entries() -> list[Entry]:
    """One entry per registered technique, in the order of the loop; a technique without a
    lesson of its own gets one made from its description."""
    out = []
    for cls in all_techniques():
        lesson = cls.lesson or Lesson(
            cls.description.split(". ")[0].rstrip(".") + ".", cls.description, "",
            {"dataset": "digits", "model": "mlp", "epochs": 10, "techniques": {cls.name: {}}})
        out.append(Entry(cls.name, cls.title, lesson, technique_term(cls.name)))
    return out


def try_it(name: str, finished_runs: Sequence = ()) -> TryIt:
    """The Train preset for a technique's "try it" button: its lesson's, or one the technique
    makes itself (distillation picks a finished teacher, or offers the teacher first)."""
    entry = next(e for e in entries() if e.name == name)
    own = technique_class(name).try_it(finished_runs)
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
