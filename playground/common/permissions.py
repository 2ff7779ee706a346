"""Who may do what: the acting person, and one rule for every action that changes something.

An `Actor` is whoever asks: the local user (outside any workshop: the single user of the
app, who owns everything outside workshops, as always), a workshop participant, or a
workshop's presenter. Every action that changes a run or an upload (queue, cancel, delete,
clone, upload, delete an upload) asks `may(actor, action, thing)` first, in the core (the
run store, the queue, the uploads folder), so hiding a button is never the only guard.

The rule:
- In a workshop, a participant may act only on their own runs and uploads in it;
- the presenter may act on everything in their workshop;
- nobody in a workshop may touch what lies outside it;
- the local user may act on everything outside workshops (not on a workshop's runs: those
  belong to the room and its presenter).

`thing` is anything with `workspace` and `owner` (a run, an upload's manifest as a dict, or
a `Place`: where a new run or upload would go). Reading (Compare, Explain, Sweeps) is not
an action here: everyone may read a finished run.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["local", "participant", "presenter"]
ACTIONS = ("queue", "cancel", "delete", "clone", "upload", "delete_upload")
_WHAT = {"queue": "queue runs", "cancel": "cancel", "delete": "delete", "clone": "clone",
         "upload": "upload data", "delete_upload": "delete"}


class Refused(PermissionError):
    """An action this person may not take; nothing was changed. `problem` is one plain
    sentence: what is wrong and what to do."""

    def __init__(self, problem: str):
        self.problem = problem
        self.problems = [problem]
        super().__init__(problem)


@dataclass(frozen=True)
class Actor:
    """Who is acting. `name` is the display name (a run's owner in a workshop); `person` the
    participant's id in the workshop file (None for the local user and the presenter)."""

    kind: Kind = "local"
    workspace: str | None = None
    name: str | None = None
    person: str | None = None

    @property
    def in_workshop(self) -> bool:
        return self.kind != "local"

    @property
    def presenter(self) -> bool:
        return self.kind == "presenter"


LOCAL = Actor()


@dataclass(frozen=True)
class Place:
    """Where something new would go: a workshop (None: outside workshops) and for whom."""

    workspace: str | None
    owner: str | None


def _field(thing: Any, name: str) -> Any:
    return thing.get(name) if isinstance(thing, dict) else getattr(thing, name, None)


def _label(thing: Any, action: str) -> str:
    if action in ("upload", "delete_upload"):
        name = _field(thing, "name")
        return f"the dataset {name!r}" if name else "this dataset"
    if action == "queue":
        return "a run"
    run_id = _field(thing, "id")
    return f"run {run_id}" if run_id else "this run"


def may(actor: Actor, action: str, thing: Any) -> str | None:
    """None when `actor` may take `action` on `thing`; else why not, in one plain sentence
    that says what to do instead. Costs a few attribute reads: cheap enough for every card
    a page draws."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    workspace, owner = _field(thing, "workspace"), _field(thing, "owner")
    what, label = _WHAT[action], _label(thing, action)
    if actor.kind == "local":
        if workspace is None:
            return None
        return (f"{label[0].upper()}{label[1:]} belongs to workshop {workspace}: only its "
                f"owner there or the workshop's presenter can {what} it. Join the workshop "
                "with your personal link to act on your own runs."
                if action != "queue" else
                f"You are not in workshop {workspace}: join it with your personal link "
                "(or the join link) to queue runs there.")
    if workspace != actor.workspace:
        where = f"workshop {workspace}" if workspace else "outside this workshop"
        if action in ("queue", "upload"):
            return (f"You are in workshop {actor.workspace}, so you can {what} only there, "
                    f"not {where}.")
        return (f"{label[0].upper()}{label[1:]} is {'in ' if workspace else ''}{where}, and "
                f"in workshop {actor.workspace} you can act only on what is in it. Leave "
                "the workshop to manage runs outside it.")
    if actor.kind == "presenter" or owner == actor.name:
        return None
    if action in ("queue", "upload"):
        return f"You can {what} only as yourself ({actor.name}), not as {owner}."
    still = ("You can still train on it." if action == "delete_upload" else
             "You can still look at it and compare it with yours.")
    return (f"{label[0].upper()}{label[1:]} is {owner}'s: only {owner} or the presenter "
            f"can {what} it. {still}")


def check(actor: Actor, action: str, thing: Any) -> None:
    """Raise Refused when `may` says no."""
    if (problem := may(actor, action, thing)) is not None:
        raise Refused(problem)
