"""What a story is: its steps (runs) and the walkthrough it tells from their results."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import altair as alt
import pandas as pd

from playground.runs.store import Run


@dataclass(frozen=True)
class Step:
    """One run of a story."""

    role: str  # stable key, e.g. "baseline"
    label: str  # what the reader sees, e.g. "No privacy noise"
    values: dict[str, Any]  # flat make_config settings
    teacher: str | None = None  # role of an earlier step to distil from
    # (flat setting, role of an earlier step): the setting holds that step's run id, e.g.
    # (("init_from", "source"),) starts from the run of step "source".
    refs: tuple[tuple[str, str], ...] = ()


@dataclass
class Walkthrough:
    headline: str
    paragraphs: list[str]
    table: pd.DataFrame
    chart: alt.Chart


@dataclass(frozen=True)
class Story:
    key: str
    title: str
    question: str  # the founder's question it answers
    intro: str
    steps: tuple[Step, ...]
    explain: Callable[["Story", dict[str, Run], dict[str, list[dict]]], Walkthrough]

    def step(self, role: str) -> Step:
        return next(s for s in self.steps if s.role == role)
