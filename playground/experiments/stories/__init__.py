"""Stories: one-click guided experiments, a few small runs each, explained from their own
results.

A story is one module in this folder: the settings of its runs and its walkthrough
together, registered in STORIES by key (`register(Story(...))`). Every module here is
imported with the package, so adding a story is adding one file; the Stories page, Home
and workshops list whatever is registered. `base` holds what a story is and the registry,
`prose` what several walkthroughs share, `records` queueing a story and finding its runs.
"""
from __future__ import annotations

import importlib
import pkgutil

from playground.experiments.stories.base import (
    DEFAULT_STORY,
    STORIES,
    Step,
    Story,
    StoryRegistry,
    StoryRuns,
    Walkthrough,
    register,
)
from playground.experiments.stories.prose import (
    attacker_right,
    deployed,
    lopsided_accuracy,
    most_right,
    points,
)
from playground.experiments.stories.records import (
    BROKEN,
    LOCK_STALE_S,
    StoryRecord,
    ensure_story,
    load_record,
    queue_story,
    story_run_ids,
    story_runs,
    story_state,
    walkthrough,
)

__all__ = [
    "BROKEN",
    "DEFAULT_STORY",
    "LOCK_STALE_S",
    "STORIES",
    "Step",
    "Story",
    "StoryRecord",
    "StoryRegistry",
    "StoryRuns",
    "Walkthrough",
    "attacker_right",
    "deployed",
    "ensure_story",
    "load_record",
    "lopsided_accuracy",
    "most_right",
    "points",
    "queue_story",
    "register",
    "story_run_ids",
    "story_runs",
    "story_state",
    "walkthrough",
]

# Every other module in this folder is a story (or a helper they import): importing them
# registers the stories.
for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
