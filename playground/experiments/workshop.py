"""Workshop mode: named workspaces on one server, their rules, fair sharing and leaderboards.

A presenter opens a workspace and gets a secret key; participants join by link with a
display name, unique in the workshop, and get a private token of their own (their personal
link): whoever holds it is that person, on any page, after a reload, in a second tab.
Runs queued in a workspace carry its name and their owner (columns of the run store),
which the store's claim uses to take turns between people and the permission rule
(playground.common.permissions) uses to say who may change what. The workspace file holds
the presenter's lesson (fixed settings, locked controls), the per-person caps, the
leaderboard thresholds and the people (their tokens stored hashed). No Streamlit here.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from playground.common.files import create_json, write_json
from playground.common.metric_registry import Metric
from playground.common.permissions import Actor, Place, check
from playground.data.views import run_data
from playground.runs.queue import Plan, Refused, Submitted, submit
from playground.runs.store import ACTIVE, Run, Store
from playground.training.config import RunConfig, shorthands
from playground.training.techniques import participant_problems
from playground.training.techniques.dp import EPSILON


class WorkshopError(ValueError):
    """Something a workshop refuses; `problems` holds one plain sentence each."""

    def __init__(self, problems: list[str] | str):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
MAX_DISPLAY = 30
DISPLAY_RE = re.compile(r"^[\w .'-]+$")


def clean_name(text: str) -> str:
    """A workspace name from what someone typed: lower case, spaces become dashes."""
    name = re.sub(r"[\s_]+", "-", (text or "").strip().lower())
    if not NAME_RE.match(name):
        raise WorkshopError(
            f"workshop name {text!r}: use 1 to 40 letters, digits or dashes, starting and "
            "ending with a letter or digit (for example friday-class)")
    return name


def clean_display_name(text: str) -> str:
    """A participant's display name: trimmed, single spaces, printable, 1-30 characters."""
    name = " ".join((text or "").split())
    if not name:
        raise WorkshopError("your name: type the name the others will see on the leaderboard")
    if len(name) > MAX_DISPLAY:
        raise WorkshopError(f"your name: at most {MAX_DISPLAY} characters "
                            f"(you gave {len(name)})")
    if not DISPLAY_RE.match(name):  # also keeps markup out of the pages that show it
        raise WorkshopError("your name: use letters, digits, spaces, dots, dashes and "
                            "apostrophes only")
    return name


@dataclass
class Limits:
    """Fair sharing: per person, how many runs may wait or train at once, and how big one
    run may be (epochs × training examples). The presenter is not capped."""

    max_active: int = 4
    max_size: int = 30_000


@dataclass
class Lesson:
    """Settings the presenter fixed for everyone, and which Train controls are locked
    (shown, not changeable) or hidden. Uses the Train page's URL/preset convention."""

    values: dict[str, Any] = field(default_factory=dict)  # flat make_config values
    lock: list[str] = field(default_factory=list)
    hide: list[str] = field(default_factory=list)
    note: str = ""  # the presenter's instructions, shown to everyone


@dataclass
class Boards:
    """The boards' bounds: the accuracy the smallest and fastest boards ask for, and per
    bounded metric (the registry's `limited_metrics`, e.g. ε) the presenter's bound, by
    key; a metric without one uses its declared default."""

    accuracy_min: float = 0.95
    limits: dict[str, float] = field(default_factory=dict)

    def limit(self, metric: Metric) -> float:
        return float(self.limits.get(metric.key, metric.limit))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Boards":
        data = dict(data)
        if (old := data.pop("epsilon_max", None)) is not None:  # workshop files before limits
            data["limits"] = {EPSILON.key: old, **data.get("limits", {})}
        return cls(**data)


@dataclass
class Person:
    """A participant: an id (the first part of their token), the name the room sees, and
    their token, stored salted and hashed like the presenter key."""

    id: str
    name: str
    salt: str
    token_hash: str
    joined: float = 0.0


@dataclass
class Workspace:
    name: str
    created: float
    key_salt: str
    key_hash: str
    lesson: Lesson = field(default_factory=Lesson)
    limits: Limits = field(default_factory=Limits)
    boards: Boards = field(default_factory=Boards)
    version: int = 0  # bumps on every presenter change, so pages notice
    people: list[Person] = field(default_factory=list)
    presenter_name: str = "Presenter"  # the presenter's runs carry it; no one else may

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Workspace":
        return cls(**{**data, "lesson": Lesson(**data.get("lesson", {})),
                      "limits": Limits(**data.get("limits", {})),
                      "boards": Boards.from_json(data.get("boards", {})),
                      "people": [Person(**p) for p in data.get("people", [])]})

    def is_presenter_key(self, key: str | None) -> bool:
        return bool(key) and hmac.compare_digest(_hash(self.key_salt, key), self.key_hash)

    def join_url(self) -> str:
        return f"/workshop?ws={self.name}"

    def personal_url(self, token: str) -> str:
        """The participant's own link: it brings them back as themselves (keep it private)."""
        return f"/workshop?ws={self.name}&token={token}"

    def person_for_token(self, token: str | None) -> Person | None:
        """The participant whose token this is, or None (a wrong, old or removed token)."""
        if not token or "." not in token:
            return None
        person_id = token.split(".", 1)[0]
        for person in self.people:
            if person.id == person_id:
                ok = hmac.compare_digest(_hash(person.salt, token), person.token_hash)
                return person if ok else None
        return None

    def person_for_id(self, person_id: str | None) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)

    def name_taken(self, name: str) -> bool:
        wanted = _fold(name)
        return wanted == _fold(self.presenter_name) or any(
            _fold(p.name) == wanted for p in self.people)

    def actor(self, token: str | None = None, key: str | None = None) -> Actor | None:
        """Who holds this presenter key or participant token here (None: nobody)."""
        if self.is_presenter_key(key):
            return Actor("presenter", self.name, self.presenter_name)
        person = self.person_for_token(token)
        if person is None:
            return None
        return Actor("participant", self.name, person.name, person.id)


def _fold(name: str) -> str:
    """Names compare case-insensitively, after the same clean-up as clean_display_name."""
    return " ".join((name or "").split()).casefold()


def _hash(salt: str, key: str) -> str:
    return hashlib.sha256((salt + key).encode()).hexdigest()


def _folder(home: Path) -> Path:
    return Path(home) / "workshops"


def _path(home: Path, name: str) -> Path:
    return _folder(home) / f"{clean_name(name)}.json"


@contextlib.contextmanager
def _locked(home: Path, name: str) -> Iterator[None]:
    """One change to a workspace file at a time (a join must not undo another's)."""
    lock = _folder(home) / f".{clean_name(name)}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def open_workspace(home: Path, name: str, presenter_name: str = "Presenter"
                   ) -> tuple[Workspace, str]:
    """Create a workspace; return it and the presenter key (shown once, stored hashed)."""
    name = clean_name(name)
    presenter_name = clean_display_name(presenter_name)
    _folder(home).mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(9)
    salt = secrets.token_hex(8)
    ws = Workspace(name, time.time(), salt, _hash(salt, key), presenter_name=presenter_name)
    # Of two presenters choosing one name at once, exactly one gets it.
    if not create_json(_path(home, name), asdict(ws)):
        raise WorkshopError(f"workshop name {name!r} is taken on this server; pick another "
                            "name, or open it with its presenter key")
    return ws, key


def load_workspace(home: Path, name: str) -> Workspace | None:
    try:
        return Workspace.from_json(json.loads(_path(home, name).read_text()))
    except (OSError, ValueError, TypeError, WorkshopError):
        return None


def list_workspaces(home: Path) -> list[str]:
    return sorted(p.stem for p in _folder(home).glob("*.json"))


def _existing(home: Path, name: str) -> Workspace:
    ws = load_workspace(home, name)
    if ws is None:
        raise WorkshopError(f"no workshop called {name!r} on this server")
    return ws


def _save(home: Path, ws: Workspace) -> None:
    write_json(_path(home, ws.name), asdict(ws))


def update_workspace(home: Path, name: str, key: str, *, lesson: Lesson | None = None,
                     limits: Limits | None = None, boards: Boards | None = None) -> Workspace:
    """The presenter's changes; refused without the presenter key."""
    if limits is not None and (limits.max_active < 1 or limits.max_size < 1):
        raise WorkshopError("limits: allow at least 1 run and a size of at least 1")
    with _locked(home, name):
        ws = _existing(home, name)
        if not ws.is_presenter_key(key):
            raise WorkshopError("only the presenter can change the lesson: the presenter key "
                                "does not match")
        ws.lesson = lesson or ws.lesson
        ws.limits = limits or ws.limits
        ws.boards = boards or ws.boards
        ws.version += 1
        _save(home, ws)
    return ws


# -- people ----------------------------------------------------------------------------------


def join_workspace(home: Path, name: str, display_name: str,
                   token: str | None = None) -> tuple[Actor, str]:
    """Join workshop `name` as `display_name`; return the participant and their private
    token (their way back in: keep it in their session and their personal link).

    Names are unique in a workshop (ignoring case): a name that is taken is refused,
    unless `token` is that person's own (they are coming back)."""
    shown = clean_display_name(display_name)
    with _locked(home, name):
        ws = _existing(home, name)
        if (person := ws.person_for_token(token)) is not None:
            return Actor("participant", ws.name, person.name, person.id), token
        if ws.name_taken(shown):
            raise WorkshopError(
                f"the name {shown!r} is taken in this workshop. If it is yours, open your "
                "personal link (the one you got when you joined) to come back as "
                f"{shown}; otherwise pick another name")
        person_id = secrets.token_hex(4)
        while any(p.id == person_id for p in ws.people):
            person_id = secrets.token_hex(4)
        token = f"{person_id}.{secrets.token_urlsafe(16)}"
        salt = secrets.token_hex(8)
        ws.people.append(Person(person_id, shown, salt, _hash(salt, token), time.time()))
        _save(home, ws)
    return Actor("participant", ws.name, shown, person_id), token


def _presenter_person(home: Path, name: str, key: str, person_id: str
                      ) -> tuple[Workspace, Person]:
    ws = _existing(home, name)
    if not ws.is_presenter_key(key):
        raise WorkshopError("only the presenter can rename or remove people: the presenter "
                            "key does not match")
    person = next((p for p in ws.people if p.id == person_id), None)
    if person is None:
        raise WorkshopError("that person is no longer in this workshop; reload the page")
    return ws, person


def rename_person(home: Path, store: Store, name: str, key: str, person_id: str,
                  new_name: str) -> Person:
    """The presenter renames a participant: their runs follow the new name; their token
    keeps working."""
    shown = clean_display_name(new_name)
    with _locked(home, name):
        ws, person = _presenter_person(home, name, key, person_id)
        if _fold(shown) != _fold(person.name) and ws.name_taken(shown):
            raise WorkshopError(f"the name {shown!r} is taken in this workshop; pick another")
        old, person.name = person.name, shown
        ws.version += 1
        _save(home, ws)
    store.rename_owner(ws.name, old, shown)
    return person


REMOVED = " (removed)"  # parentheses: no one can join under a removed person's old name


def remove_person(home: Path, store: Store, name: str, key: str, person_id: str) -> Person:
    """The presenter removes a participant: their token stops working, their runs still
    waiting or training are cancelled, and their ended runs stay (under "NAME (removed)",
    a name nobody can take) for the presenter to keep or delete."""
    with _locked(home, name):
        ws, person = _presenter_person(home, name, key, person_id)
        ws.people = [p for p in ws.people if p.id != person_id]
        ws.version += 1
        _save(home, ws)
    for run in store.list_runs(ACTIVE, workspace=ws.name, owner=person.name):
        store.request_cancel(run.id)
    store.rename_owner(ws.name, person.name, person.name + REMOVED)
    return person


# -- fair sharing ----------------------------------------------------------------------------


def run_size(config: RunConfig) -> int:
    """Epochs × training examples: roughly the work a run asks of the server."""

    data = run_data(config)
    return config.epochs * len(data.y_train)


def lesson_problems(lesson: Lesson, config: RunConfig) -> list[str]:
    """Locked lesson settings the config does not keep."""

    flat = shorthands()
    problems = []
    for name in lesson.lock:
        if name not in lesson.values:
            continue
        want = lesson.values[name]
        if name in RunConfig.model_fields:
            got = getattr(config, name)
        elif name in flat:
            technique, param = flat[name]
            got = (config.techniques.get(technique) or {}).get(param)
        else:
            continue
        if got != want and not (isinstance(want, (int, float)) and isinstance(got, (int, float))
                                and float(got) == float(want)):
            problems.append(f"{name}: the presenter fixed it to {want!r} for this lesson "
                            f"(you have {got!r}); change it back, or ask the presenter")
    return problems


def submission_problems(ws: Workspace, owner: str, config: RunConfig, active_runs: int,
                        extras: tuple[str, ...] = (), presenter: bool = False) -> list[str]:
    """Why this person may not queue this run now (empty: they may). `extras` says what
    else queueing it brings, one phrase each (they count against the limit too)."""
    problems = lesson_problems(ws.lesson, config)
    if presenter:
        return problems
    problems += participant_problems(config.techniques, ws.lesson.values)  # δ: the room's
    limit = ws.limits
    new_runs = 1 + len(extras)
    if active_runs + new_runs > limit.max_active:
        problems.append(
            f"you already have {active_runs} run{'s' * (active_runs != 1)} waiting or "
            f"training, and each person may have {limit.max_active} at once"
            + (f" (this one queues {new_runs}: it also trains {' and '.join(extras)})"
               if extras else "")
            + "; wait for one to finish, or cancel one on the Runs page")
    size = run_size(config)
    if size > limit.max_size:
        problems.append(
            f"run size: {config.epochs} epochs × {size // config.epochs:,} training examples "
            f"= {size:,}, above this workshop's limit of {limit.max_size:,}; use fewer "
            "epochs or less data")
    return problems


def owner_runs(store: Store, workspace: str, owner: str | None = None,
               statuses: tuple[str, ...] | None = None) -> list[Run]:
    return store.list_runs(statuses, workspace=workspace,
                           **({} if owner is None else {"owner": owner}))


def submit_as(store: Store, actor: Actor, config: RunConfig, home: Path | None = None
              ) -> Submitted:
    """Queue `config` for `actor`: the local user outside workshops (as ever), a participant
    or the presenter in their workshop, under their own name and within its rules. Raises
    Refused (permissions) or WorkshopError (the workshop's rules, or a workshop that is gone);
    refused, nothing is queued."""
    check(actor, "queue", Place(actor.workspace, actor.name))
    if not actor.in_workshop:
        return submit(store, config)
    ws = load_workspace(home or store.home, actor.workspace)
    if ws is None:
        raise WorkshopError(f"workshop {actor.workspace!r} is closed on this server; leave it "
                            "to train on your own")
    owner = ws.presenter_name if actor.presenter else actor.name
    if actor.kind == "participant":
        if (person := ws.person_for_id(actor.person)) is None:
            raise WorkshopError("the presenter removed you from this workshop; join again "
                                "with a new name to train here")
        owner = person.name  # the presenter may have renamed them since
    return submit_to_workspace(store, ws, owner, config, actor.presenter)


def submit_to_workspace(store: Store, ws: Workspace, owner: str, config: RunConfig,
                        presenter: bool = False) -> Submitted:
    """Queue a run as `owner` in `ws`, the one way every run is queued (a teacher trained
    first and the student alone count against the person's limit too), or raise
    WorkshopError saying why not."""
    def admit(plan: Plan) -> list[str]:
        active = store.count_runs(ACTIVE, workspace=ws.name, owner=owner)
        return submission_problems(ws, owner, plan.config, active, tuple(plan.extras), presenter)

    try:
        return submit(store, config, workspace=ws.name, owner=owner, admit=admit)
    except Refused as exc:
        raise WorkshopError(exc.problems) from None
