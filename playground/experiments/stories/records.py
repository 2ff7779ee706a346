"""Queueing a story's runs and finding them again.

Which runs belong to a story's latest showing is kept in a small JSON record per story (and
workshop) under PLAYGROUND_HOME/stories, so the Home page queues its story once per server,
not once per visitor. Once they have finished, `walkthrough` hands them to the story's own
`explain`, which writes every sentence from their real numbers.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.common.files import held_once, write_json
from playground.common.permissions import OPERATOR, Actor
from playground.experiments.stories.base import STORIES, Story, StoryRuns, Walkthrough
from playground.experiments.workshop import admit_all, submit_as
from playground.runs.store import Run, Store
from playground.training.config import make_config

# -- queueing a story and finding its runs again --------------------------------------------


def _step_values(step, seed: int, epochs: int | None) -> dict[str, Any]:
    values = dict(step.values, seed=seed)
    if epochs is not None:
        values["epochs"] = epochs
    return values


def queue_story(store: Store, story: Story, *, seed: int = 0, actor: Actor = OPERATOR,
                epochs: int | None = None) -> dict[str, str]:
    """Queue every step in order (a teacher before its student, a run before those that
    start from it) as `actor`, through the one entry (`submit_as`), after checking they may
    queue all of them together: a story never queues past a person's caps, nor a part of
    itself. Return role -> run id. `epochs` overrides every step's epochs (quick checks of
    the same setup). Raises Refused or WorkshopError with nothing queued."""
    # Steps that read an earlier step's run can't be built before it is queued; their own
    # settings are the same model on the same data, so they count, and their cost is
    # checked when each is queued.
    admit_all(store, actor, [make_config(**_step_values(s, seed, epochs))
                             for s in story.steps if not s.teacher and not s.refs],
              len(story.steps))
    ids: dict[str, str] = {}
    for step in story.steps:
        values = _step_values(step, seed, epochs)
        if step.teacher:
            values["distill_from"] = ids[step.teacher]
        for setting, role in step.refs:  # e.g. the run a head start comes from
            values[setting] = ids[role]
        # A student's "alone" twin is an earlier step: none is added.
        ids[step.role] = submit_as(store, actor, make_config(**values)).run_id
    _remember(store.home, ids.values())
    return ids


def _log_path(home: Path) -> Path:
    return Path(home) / "stories" / "runs.txt"


def _remember(home: Path, ids) -> None:
    # Every run a story ever queued, so lists can tell them from a person's own runs.
    _log_path(home).parent.mkdir(parents=True, exist_ok=True)
    with open(_log_path(home), "a") as log:
        log.write("".join(f"{i}\n" for i in ids))


def story_run_ids(home: Path) -> frozenset[str]:
    """The ids of every run a story queued on this server (latest showings and older)."""
    try:
        logged = _log_path(home).read_text().split()
    except OSError:
        logged = []
    shown = [i for p in (Path(home) / "stories").glob("*.json")
             for i in (_read(p).get("runs") or {}).values()]
    return frozenset(logged + shown)


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class StoryRecord:
    """Which runs show a story's latest result (per server, or per workshop)."""

    story: str
    runs: dict[str, str]
    queued_at: float
    workspace: str | None = None
    owner: str | None = None
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _record_path(home: Path, story: str, workspace: str | None) -> Path:
    return Path(home) / "stories" / f"{workspace or '_'}__{story}.json"


def load_record(home: Path, story: str, workspace: str | None = None) -> StoryRecord | None:
    """The story's record, or None: none yet, unreadable, or written before the story's
    steps changed (its runs no longer fit the walkthrough, so the story is queued again)."""
    path = _record_path(home, story, workspace)
    try:
        record = StoryRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    if story not in STORIES or set(record.runs) != {s.role for s in STORIES[story].steps}:
        return None
    return record


def _save_record(home: Path, record: StoryRecord) -> None:
    write_json(_record_path(home, record.story, record.workspace), record.__dict__)


def story_runs(store: Store, record: StoryRecord) -> dict[str, Run | None]:
    return {role: store.get(run_id) for role, run_id in record.runs.items()}


BROKEN = ("failed", "cancelled", "interrupted")


def story_state(runs: dict[str, Run | None]) -> str:
    """'finished', 'active' (queued or training), or 'broken' (a run is gone or failed)."""
    if any(r is None or r.status in BROKEN for r in runs.values()):
        return "broken"
    if all(r.status == "finished" for r in runs.values()):
        return "finished"
    return "active"


LOCK_STALE_S = 60.0


def ensure_story(store: Store, key: str, *, actor: Actor = OPERATOR, again: bool = False,
                 seed: int | None = None, epochs: int | None = None
                 ) -> tuple[StoryRecord | None, bool]:
    """The story's current record (the server's, or `actor`'s workshop's), queueing its runs
    as `actor` if there is none worth showing (or `again`). Returns (record, queued_now).
    Safe when many visitors arrive at once: one queues, the others get the record (or None
    for the moment while it is being written). Queueing is checked like any other (raises
    Refused or WorkshopError, nothing queued): a person's caps hold however often a story
    is started again."""
    workspace = actor.workspace if actor.in_workshop else None
    owner = actor.name if actor.in_workshop else None
    story = STORIES[key]
    home = store.home
    record = load_record(home, key, workspace)
    if record and not again and story_state(story_runs(store, record)) != "broken":
        return record, False
    path = _record_path(home, key, workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    with held_once(path.with_suffix(".lock"), LOCK_STALE_S) as held:
        if not held:  # another press is queueing it: theirs, once written
            return load_record(home, key, workspace), False
        fresh = load_record(home, key, workspace)
        if fresh and (not again and story_state(story_runs(store, fresh)) != "broken"
                      or again and record and fresh.queued_at != record.queued_at):
            return fresh, False  # someone else queued it while we waited for the lock
        if seed is None:
            seed = (fresh.seed + 1) if (again and fresh) else 0
        ids = queue_story(store, story, seed=seed, actor=actor, epochs=epochs)
        record = StoryRecord(key, ids, time.time(), workspace, owner, seed)
        _save_record(home, record)
        return record, True


def walkthrough(story: Story, store: Store, record: StoryRecord) -> Walkthrough | None:
    """The walkthrough of a finished story, computed from its runs (with the store, so it
    measures luck between them); None until then."""
    runs = story_runs(store, record)
    if story_state(runs) != "finished":
        return None
    epochs: dict[str, list[dict]] = {role: [] for role in runs}
    by_id = {r.id: role for role, r in runs.items()}
    for e in store.epochs_for(list(by_id)):
        epochs[by_id[e["run_id"]]].append(e)
    return story.explain(story, StoryRuns(runs, store), epochs)
