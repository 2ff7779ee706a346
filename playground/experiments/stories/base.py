"""What a story is: its steps (runs) and the walkthrough it tells from their results, and the
registry every story module adds itself to."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import altair as alt
import pandas as pd

from playground.common.registry import Registry
from playground.runs.store import Run


@dataclass(frozen=True)
class Step:
    """One run of a story."""

    role: str  # stable key, e.g. "baseline"
    label: str  # what the reader sees, e.g. "No privacy noise"
    values: dict[str, Any]  # flat make_config settings
    teacher: str | None = None  # role of an earlier step to distil from
    # Flat settings that hold the run id of an earlier step, written like `values`:
    # refs=dict(init_from="source") starts from the run of step "source". Kept as
    # (setting, role) pairs.
    refs: tuple[tuple[str, str], ...] | dict[str, str] = ()

    def __post_init__(self) -> None:
        if isinstance(self.refs, dict):
            object.__setattr__(self, "refs", tuple(self.refs.items()))


@dataclass
class Walkthrough:
    """What a finished story shows: a headline, paragraphs, a table and one chart."""

    headline: str
    paragraphs: list[str]
    table: pd.DataFrame
    chart: alt.Chart


Explain = Callable[["Story", dict[str, Run], dict[str, list[dict]]], Walkthrough]


@dataclass(frozen=True)
class Story:
    """A guided experiment: the runs it queues and how it explains their results.

    `explain(story, runs, epochs)` gets the finished runs by role and each one's epochs,
    and writes the walkthrough from their numbers. `order` places it in lists (lower first;
    a story that does not say comes after those that do)."""

    key: str
    title: str
    question: str  # the founder's question it answers
    intro: str
    steps: tuple[Step, ...]
    explain: Explain
    order: int = 1000

    def step(self, role: str) -> Step:
        return next(s for s in self.steps if s.role == role)


class StoryRegistry(Registry[Story]):
    """Stories by key, listed in their declared order; reads like a dict of them."""

    def names(self) -> list[str]:
        return sorted(self._items, key=lambda k: (self._items[k].order, k))

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __getitem__(self, key: str) -> Story:
        return self.get(key)

    def __len__(self) -> int:
        return len(self._items)

    def values(self) -> list[Story]:
        return [self._items[k] for k in self.names()]

    def items(self) -> list[tuple[str, Story]]:
        return [(k, self._items[k]) for k in self.names()]


# Every module in this folder that defines a story registers it here when the package loads.
STORIES = StoryRegistry("story")

# The story the Home page queues and shows.
DEFAULT_STORY = "privacy"


def register(story: Story) -> Story:
    """Add a story to STORIES under its key (twice is an error)."""
    return STORIES.register(story.key)(story)
