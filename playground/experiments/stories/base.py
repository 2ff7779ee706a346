"""What a story is: its steps (runs) and the walkthrough it tells from their results, and the
registry every story module adds itself to."""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import altair as alt
import pandas as pd

from playground.common.registry import Registry
from playground.results import luck as luck_test
from playground.results.luck import Luck
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


_MEASURED: OrderedDict[tuple[str, str, str], Luck] = OrderedDict()
_KEEP = 512  # pairs remembered per process: a few stories and walkthroughs, many times over


def measured(store, run_a: Run, run_b: Run) -> Luck:
    """Run b against run a, whether their accuracy difference is bigger than luck; measured
    once per pair of finished runs (they never change) and remembered by their ids."""
    key = (str(store.home), run_a.id, run_b.id)
    if (known := _MEASURED.get(key)) is not None:
        return known
    result = luck_test.compare(store, run_a, run_b)
    if run_a.status == run_b.status == "finished":
        _MEASURED[key] = result
        while len(_MEASURED) > _KEEP:
            _MEASURED.popitem(last=False)
    return result


class StoryRuns(dict[str, Run]):
    """A story's runs by role (a dict), and the store that holds their test answers, so a
    walkthrough can say whether a difference between two of them is bigger than luck."""

    def __init__(self, runs: dict[str, Run], store=None):
        super().__init__(runs)
        self.store = store

    def luck(self, a: str, b: str) -> Luck | None:
        """Role b's run against role a's (b minus a); None where nothing can be measured (no
        store: runs made up in a test, or a role the story lacks)."""
        if self.store is None or a not in self or b not in self:
            return None
        return measured(self.store, self[a], self[b])


Explain = Callable[["Story", dict[str, Run], dict[str, list[dict]]], Walkthrough]


@dataclass(frozen=True)
class Story:
    """A guided experiment: the runs it queues and how it explains their results.

    `explain(story, runs, epochs)` gets the finished runs by role (a StoryRuns: a dict that
    also measures luck between two roles) and each one's epochs, and writes the walkthrough
    from their numbers. `order` places it in lists (lower first;
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
