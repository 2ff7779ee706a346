"""What a technique (or the glossary) teaches, as plain data: no Streamlit, no torch.

A technique plug-in declares its glossary terms, its lesson and what its result section
shows with these; the Learn page, the glossary and the run card render them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Term:
    key: str  # the anchor: /learn#glossary-<key>
    name: str
    short: str  # one sentence, shown in help tooltips
    more: str = ""  # a few more sentences, shown on the Learn page


@dataclass(frozen=True)
class Lesson:
    what: str  # one sentence
    trade_off: str
    used_when: str  # when a company would use it
    try_values: dict[str, Any] = field(default_factory=dict)  # flat Train preset values
    compare_hint: str = ""  # what to do after the run finishes


@dataclass(frozen=True)
class TryIt:
    values: dict[str, Any]  # flat values for the Train page preset (make_config accepts them)
    note: str = ""  # what to know before pressing Train
    problem: str = ""  # why it can't run here (e.g. it needs a GPU); then nothing opens


@dataclass(frozen=True)
class Tile:
    """A number shown large, with its label and what it means."""

    label: str
    value: str
    help: str = ""


@dataclass(frozen=True)
class Section:
    """What a technique bought and cost on one finished run, as the run card shows it."""

    lines: tuple[str, ...] = ()  # markdown paragraphs
    tiles: tuple[Tile, ...] = ()  # numbers side by side
    table: dict[str, dict[str, str]] | None = None  # column -> row -> value
    caption: str = ""
    notes: tuple[str, ...] = ()  # things to know, in a box
    warning: str = ""  # it could not do its job (e.g. quantization skipped), and why
