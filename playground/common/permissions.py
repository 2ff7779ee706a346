"""Who may do what: the acting person, and one rule for every action that changes something.

An `Actor` is whoever asks:
- the operator: who started the server (a browser on the server's own machine, one that
  presented the operator key, and the command line). Owns everything outside workshops;
- a visitor: anyone else outside a workshop. May look at everything and join a workshop,
  and change nothing: no queueing, cancelling, deleting, cloning, uploading, sweeping or
  exporting;
- a workshop participant, and a workshop's presenter.
Every action that changes a run or an upload (queue, cancel, delete, clone, upload, delete
an upload, sweep, export, send to MLflow) asks `may(actor, action, thing)` first, in the
core (the run store, the queue, the uploads folder, the exports), so hiding a button is
never the only guard.

The rule:
- visitors may do none of these;
- in a workshop, a participant may act only on their own runs and uploads in it (own: the
  run's owner id is theirs; names are for display), and may not sweep or send to MLflow;
- the presenter may act on everything in their workshop;
- nobody in a workshop may touch what lies outside it;
- the operator may act on everything outside workshops (not on a workshop's runs: those
  belong to the room and its presenter).

`thing` is anything with `workspace` and `owner` (and `owner_id` where known): a run, an
upload's manifest as a dict, or a `Place`: where something new would go. Reading (Compare,
Explain, Sweeps) is not an action here: everyone may read a finished run.

Who an actor is gets checked again when they act (`check`, and the store's checked
actions): a workshop actor carries how to re-check their membership, so a person the
presenter removed can do nothing with an identity their session held before.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

Kind = Literal["operator", "visitor", "participant", "presenter"]
ACTIONS = ("queue", "cancel", "delete", "clone", "upload", "delete_upload", "sweep",
           "export", "mlflow")
_WHAT = {"queue": "queue runs", "cancel": "cancel", "delete": "delete", "clone": "clone",
         "upload": "upload data", "delete_upload": "delete", "sweep": "start sweeps",
         "export": "export", "mlflow": "send runs to MLflow"}
# Actions on something new (a Place), not on an existing run or upload.
_NEW = ("queue", "upload", "sweep", "export", "mlflow")


class Refused(PermissionError):
    """An action this person may not take; nothing was changed. `problem` is one plain
    sentence: what is wrong and what to do."""

    def __init__(self, problem: str):
        self.problem = problem
        self.problems = [problem]
        super().__init__(problem)


@dataclass(frozen=True)
class Actor:
    """Who is acting. `name` is the display name (shown, never compared); `person` the
    participant's id in the workshop file, which their runs record as owner id (None for
    the operator and visitors). `recheck` (workshop actors) answers whether they still hold
    their place there, asked again when they act."""

    kind: Kind = "operator"
    workspace: str | None = None
    name: str | None = None
    person: str | None = None
    recheck: Callable[[], bool] | None = field(default=None, compare=False, repr=False)

    @property
    def in_workshop(self) -> bool:
        return self.kind in ("participant", "presenter")

    @property
    def presenter(self) -> bool:
        return self.kind == "presenter"

    @property
    def operator(self) -> bool:
        return self.kind == "operator"

    @property
    def visitor(self) -> bool:
        return self.kind == "visitor"


OPERATOR = Actor("operator")
VISITOR = Actor("visitor")
LOCAL = OPERATOR  # the single user of the app on their own machine is its operator
PRESENTER_ID = "presenter"  # the owner id of a presenter's runs (participants' are hex)


@dataclass(frozen=True)
class Place:
    """Where something new would go: a workshop (None: outside workshops) and for whom."""

    workspace: str | None
    owner: str | None
    owner_id: str | None = None


def _field(thing: Any, name: str) -> Any:
    return thing.get(name) if isinstance(thing, dict) else getattr(thing, name, None)


def _label(thing: Any, action: str) -> str:
    if action in ("upload", "delete_upload"):
        name = _field(thing, "name")
        return f"the dataset {name!r}" if name else "this dataset"
    if action in _NEW:
        return "a run"
    run_id = _field(thing, "id")
    return f"run {run_id}" if run_id else "this run"


def _owns(actor: Actor, thing: Any) -> bool:
    """Ids decide: a run records its owner's id. Only rows from before ids were recorded
    (and uploads, which keep a name) fall back to the name, which a removed person's old
    runs no longer carry (they are renamed "NAME (removed)")."""
    owner_id = _field(thing, "owner_id")
    if owner_id is not None:
        return owner_id == (actor.person or (PRESENTER_ID if actor.presenter else None))
    return _field(thing, "owner") == actor.name


def may(actor: Actor, action: str, thing: Any) -> str | None:
    """None when `actor` may take `action` on `thing`; else why not, in one plain sentence
    that says what to do instead. Costs a few attribute reads: cheap enough for every card
    a page draws (whether the actor still holds their place is asked by `check`)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}: one of {', '.join(ACTIONS)}")
    workspace, owner = _field(thing, "workspace"), _field(thing, "owner")
    what, label = _WHAT[action], _label(thing, action)
    if actor.kind == "visitor":
        return (f"Visitors can look at every run but not {what} here. Join a workshop "
                "with its link to train there, or ask whoever runs this server for its "
                "operator key.")
    if actor.kind == "operator":
        if workspace is None:
            return None
        return (f"{label[0].upper()}{label[1:]} belongs to workshop {workspace}: only its "
                f"owner there or the workshop's presenter can {what} it. Join the workshop "
                "with your personal link to act on your own runs."
                if action not in _NEW else
                f"You are not in workshop {workspace}: join it with your personal link "
                f"(or the join link) to {what} there.")
    if workspace != actor.workspace:
        where = f"workshop {workspace}" if workspace else "outside this workshop"
        if action in _NEW:
            return (f"You are in workshop {actor.workspace}, so you can {what} only there, "
                    f"not {where}.")
        return (f"{label[0].upper()}{label[1:]} is {'in ' if workspace else ''}{where}, and "
                f"in workshop {actor.workspace} you can act only on what is in it. Leave "
                "the workshop to manage runs outside it.")
    if actor.kind == "presenter":
        return None
    if action == "sweep":
        return ("A sweep queues many runs at once, so in a workshop only the presenter "
                "can start one. Train single runs, or ask the presenter to sweep.")
    if action == "mlflow":
        return ("In a workshop only the presenter can send runs to MLflow; download "
                "what you need from Compare instead.")
    if _owns(actor, thing):
        return None
    if action in _NEW:
        return f"You can {what} only as yourself ({actor.name}), not as {owner}."
    still = ("You can still train on it." if action == "delete_upload" else
             "You can still look at it and compare it with yours.")
    return (f"{label[0].upper()}{label[1:]} is {owner}'s: only {owner} or the presenter "
            f"can {what} it. {still}")


def still_here(actor: Actor) -> str | None:
    """None when `actor` still holds their place (their workshop token or key still
    works); else why not. Reads the workshop file: asked when someone acts, not per card."""
    if actor.recheck is None or actor.recheck():
        return None
    return (f"You are no longer in workshop {actor.workspace} (the presenter may have "
            "removed you, or ended it): nothing was changed. Join again with the join link.")


def check(actor: Actor, action: str, thing: Any) -> None:
    """Raise Refused when the actor no longer holds their place, or `may` says no."""
    if (problem := still_here(actor) or may(actor, action, thing)) is not None:
        raise Refused(problem)
