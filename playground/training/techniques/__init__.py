"""Techniques are plug-ins: one module each in this folder, registered by name.

Adding a technique is adding one module here: it is imported (and so registered) with this
package, and everything that lists techniques (the Train switches, the CLI's flags, links,
sweeps, the glossary, Learn, run stories and cards, the queue) loops over the registry.
This module is the catalog: looking techniques up, validating their settings, and building
the switched-on ones for a run, in the order their hooks run.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any

from playground.training.techniques.base import (
    HOOKS,
    TECHNIQUES,
    Param,
    PlainChoice,
    Technique,
    conflict,
    in_order,
    providers,
    register,
    together_note,
)

__all__ = ["HOOKS", "TECHNIQUES", "Param", "PlainChoice", "Technique", "Validated",
           "all_techniques", "build", "conflict", "kind_problem", "plain_choices",
           "providers", "register", "technique_class", "together_note", "validate"]

# Every module in this folder is a plug-in (or a helper one of them imports): importing them
# registers the techniques.
for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")


def technique_class(name: str) -> type[Technique]:
    return TECHNIQUES.get(name)


def all_techniques() -> list[type[Technique]]:
    """Every technique, in the order their hooks run."""
    return in_order()


@dataclass
class Validated:
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def validate(techniques: dict[str, dict[str, Any]], dataset_kind: str) -> Validated:
    """Fill defaults, check ranges, kinds and conflicts (by capability: e.g. two techniques
    that both decide are refused). Pure; no torch needed."""
    out = Validated()
    for name, given in techniques.items():
        if name not in TECHNIQUES:
            out.problems.append(
                f"techniques: unknown technique {name!r}; choose from "
                f"{', '.join(TECHNIQUES.get(n).title for n in TECHNIQUES.names())}")
            continue
        cls = TECHNIQUES.get(name)
        given = dict(given or {})
        known = {p.name for p in cls.params}
        for extra in sorted(set(given) - known):
            out.problems.append(f"{cls.title}: {extra!r} is not one of its settings; known: "
                                f"{', '.join(sorted(known)) or 'none'}")
        values = {}
        for p in cls.params:
            value, problem = p.check(cls.title, given.get(p.name, p.default))
            values[p.name] = value
            if problem:
                out.problems.append(problem)
        if dataset_kind not in cls.kinds:
            out.problems.append(kind_problem(cls, dataset_kind))
        out.settings[name] = values
    names = list(out.settings)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            problem = conflict(TECHNIQUES.get(a), TECHNIQUES.get(b))
            if problem:
                out.problems.append(f"techniques: {problem}")
    return out


def kind_problem(cls: type[Technique], dataset_kind: str) -> str:
    """Why `cls` is refused on this kind of data, with its own reason when it gives one."""
    reason = cls.not_for.get(dataset_kind)
    if reason:
        return f"{cls.title} does not apply to {dataset_kind} data: {reason}; switch it off"
    return (f"{cls.title} works on {' and '.join(cls.kinds)} data, not {dataset_kind} data; "
            "switch it off")


def build(settings: dict[str, dict[str, Any]]) -> list[Technique]:
    """The switched-on techniques in the order their hooks run, each declared by its `order`
    (not the order the user listed them: e.g. early stopping must restore the best weights
    before pruning zeroes some of them)."""
    return [cls(**settings[cls.name]) for cls in in_order() if cls.name in settings]


def plain_choices(dataset_kind: str, has_groups: bool) -> list[type[Technique]]:
    """The techniques simple mode offers on this data, in the order it lists them: those
    that declare a plain choice, suit the data and can run on this machine."""
    return sorted((cls for cls in in_order() if cls.plain is not None
                   and dataset_kind in cls.kinds and not cls.unavailable()
                   and (has_groups or not cls.plain.needs_groups)),
                  key=lambda cls: cls.plain.rank)
