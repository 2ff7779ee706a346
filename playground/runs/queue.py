"""The one way to queue a run: Train, the CLI, sweeps, stories and workshops all come here.

A run may bring others with it, as its techniques ask: distillation with "train a teacher
first" queues the teacher before the student (the store holds the student until its
teacher has finished), and queues the student alone too, once, to compare against. A
workshop passes `admit`, its rules for this person, which see everything that would be
queued; refused, nothing is queued.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from playground.runs.store import Store
from playground.runs.turns import queue_order
from playground.training.config import RunConfig
from playground.training.techniques import technique_class


class Refused(ValueError):
    """Nothing was queued; `problems` says why, one plain sentence each."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass
class Plan:
    """What queueing `config` would add, in the order it is queued."""

    config: RunConfig
    first: list[tuple[str, str, RunConfig]] = field(default_factory=list)  # (technique,
    # setting, run): each run is queued first and the setting then holds its id
    alongside: list[RunConfig] = field(default_factory=list)  # queued with it, if new
    extras: list[str] = field(default_factory=list)  # what each extra run is, in plain words

    @property
    def size(self) -> int:
        return 1 + len(self.first) + len(self.alongside)


@dataclass
class Submitted:
    run_id: str
    first: list[str] = field(default_factory=list)
    alongside: list[str] = field(default_factory=list)

    @property
    def ids(self) -> list[str]:
        """Every run queued, in the order they can train."""
        return [*self.first, *self.alongside, self.run_id]


def plan(store: Store, config: RunConfig) -> Plan:
    """What `submit` would queue (nothing is written)."""
    out = Plan(config)
    existing: list[RunConfig] | None = None
    for name in config.techniques:
        cls = technique_class(name)
        for setting, run in cls.prerequisites(config):
            out.first.append((name, setting, run))
            out.extras.append(f"its {setting}, a new {run.model} trained first")
        for companion in cls.companions(config):
            if existing is None:
                existing = [r.config for r in store.list_runs(("queued", "running", "finished"))]
            if companion not in existing and companion not in out.alongside:
                out.alongside.append(companion)
                out.extras.append(f"the same model without {cls.words()}, to compare")
    return out


def submit(store: Store, config: RunConfig, *, workspace: str | None = None,
           owner: str | None = None, admit: Callable[[Plan], list[str]] | None = None,
           reuse: dict[str, str] | None = None, owner_id: str | None = None,
           time_limit: float | None = None) -> Submitted:
    """Queue `config` and what its techniques bring with it, tagged with the workshop and the
    person (display name and id), each with `time_limit` seconds to train (None: the
    server's). People's routes come through `playground.experiments.workshop.submit_as`,
    which checks who asks and their caps and passes `admit`.
    `admit(plan)` returns problems (then Refused is raised and nothing is queued).
    `reuse` maps a prerequisite's config (JSON) to a run already queued for it: a sweep
    trains one teacher for all its students."""
    the_plan = plan(store, config)
    if admit is not None and (problems := admit(the_plan)):
        raise Refused(problems)
    reuse = {} if reuse is None else reuse
    tags = {"workspace": workspace, "owner": owner, "owner_id": owner_id,
            "time_limit": time_limit}
    techniques = {k: dict(v) for k, v in config.techniques.items()}
    first = []
    for tech, setting, run in the_plan.first:
        key = run.model_dump_json()
        if key not in reuse:
            reuse[key] = store.enqueue(run, **tags)
            first.append(reuse[key])
        techniques[tech][setting] = reuse[key]
    given = config.techniques
    config = config.model_copy(update={"techniques": techniques})
    # A companion keeps the run's other techniques: it learns from the same new teacher.
    alongside = [store.enqueue(_same_firsts(c, the_plan.first, given, techniques),
                               **tags)
                 for c in the_plan.alongside]
    return Submitted(store.enqueue(config, **tags), first, alongside)


def _same_firsts(companion: RunConfig, first, given, chosen) -> RunConfig:
    """The companion with each prerequisite's setting ("new-mlp") replaced by the run queued
    for it, as in the run itself."""
    techniques = {k: dict(v) for k, v in companion.techniques.items()}
    for tech, setting, _ in first:
        if tech in techniques and techniques[tech].get(setting) == given[tech][setting]:
            techniques[tech][setting] = chosen[tech][setting]
    return companion.model_copy(update={"techniques": techniques})


def queue_positions(store: Store) -> dict[str, int]:
    """run id -> 1-based place in the line of every queued run on this server."""
    queued = store.list_runs(statuses=("queued",))[::-1]  # oldest first
    return {r.id: i for i, r in enumerate(queue_order(queued, store.last_served()), 1)}
