"""Workshop mode: named workspaces on one server, their rules, fair sharing and leaderboards.

A presenter opens a workspace and gets a secret key; participants join by link with a
display name, unique in the workshop, and get a private token of their own (their personal
link): whoever holds it is that person, on any page, after a reload, in a second tab.
Runs queued in a workspace carry its name and their owner (columns of the run store),
which the store's claim uses to take turns between people and the permission rule
(playground.common.permissions) uses to say who may change what. The workspace file holds
the presenter's lesson (fixed settings, locked controls), the per-person caps, the
leaderboard thresholds and the people (their tokens stored hashed); it holds secrets'
hashes, so it is written readable by the server's user alone. Names are display only and
are compared as a reader sees them (playground.common.names.same_name): "Веn" in Cyrillic,
"Ben." and " BEN " are all the name Ben. Ending a workshop closes joining and queuing; its export is
one CSV of every run and one HTML page of the boards (playground.experiments.room_export).
No Streamlit here.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from models.base import model_info
from playground.common.files import create_json, temporary_beside
from playground.common.metric_registry import Metric
from playground.common.names import mixed_scripts, name_key, name_keys, same_name
from playground.common.permissions import PRESENTER_ID, Actor, Place, check
from playground.common.server_settings import run_minutes
from playground.data.catalog import dataset_info
from playground.data.views import run_data
from playground.runs.cost import over_cap, run_cost
from playground.runs.queue import Plan, Refused, Submitted, submit
from playground.runs.store import ACTIVE, Run, Store
from playground.training.capabilities import PRIVACY_GUARANTEE
from playground.training.config import RunConfig, field_words, shorthands
from playground.training.techniques import technique_class
from playground.training.techniques.dp import DELTA, EPSILON, automatic_delta


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
    if not name_key(name):
        raise WorkshopError("your name: use at least one letter or digit")
    if mixed_scripts(name):
        raise WorkshopError("your name: write it in one alphabet (letters from two alphabets "
                            "can pass for someone else's name)")
    return name


# Nobody but the presenter may appear as the presenter, whatever name they chose.
RESERVED = ("Presenter",)


@dataclass(frozen=True)
class RoomSettings:
    """The server's limits on workshops, so joins and new workshops can't grow without end
    (each join adds to a file every page of the room reads): people per workshop and
    workshops open at once. From the environment: PLAYGROUND_MAX_PEOPLE and
    PLAYGROUND_MAX_WORKSHOPS."""

    max_people: int = 100
    max_open: int = 20

    @classmethod
    def from_env(cls) -> "RoomSettings":
        def number(var: str, default: int) -> int:
            try:
                return max(1, int(os.environ.get(var, default)))
            except ValueError:
                return default
        return cls(number("PLAYGROUND_MAX_PEOPLE", cls.max_people),
                   number("PLAYGROUND_MAX_WORKSHOPS", cls.max_open))


@dataclass
class Limits:
    """Fair sharing: per person, how many runs may wait or train at once, how big one run
    may be (epochs × training examples), what one run may cost (the model's work per
    example × examples × epochs, in default runs: see playground.runs.cost) and how long
    it may train. The presenter is not capped by count, size or cost; every run in the
    workshop, theirs too, has the time limit."""

    max_active: int = 4
    max_size: int = 30_000
    max_cost: float = 20.0  # times the default run's work
    max_minutes: float = 10.0  # wall clock per run


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
    delta_max: float | None = None  # the presenter's δ, when lower than the data's own

    def limit(self, metric: Metric) -> float:
        return float(self.limits.get(metric.key, metric.limit))

    def delta(self, n_train: int) -> float:
        """The δ every private run in the workshop trains with on `n_train` examples: the
        data's own (honest_delta) or the presenter's, whichever is lower."""
        own = honest_delta(n_train)
        return own if self.delta_max is None else min(own, self.delta_max)

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
    ended: float | None = None  # when the presenter ended it: no joining, no queuing

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
        """A name someone here has already, or one that would read as theirs on a screen
        (the presenter's, a removed person's mark): compared by same_name."""
        return self.reserved(name) or any(same_name(p.name, name) for p in self.people)

    def reserved(self, name: str) -> bool:
        """The presenter's name (theirs and the word itself) and the removed mark."""
        mark = name_keys(REMOVED)
        return (any(same_name(n, name) for n in (self.presenter_name, *RESERVED))
                or any(k.endswith(m) for k, m in zip(name_keys(name), mark, strict=True)))

    def is_removed(self, run: Run) -> bool:
        """The run's owner was removed from this workshop (their runs stay, marked)."""
        return bool(run.owner) and run.owner.endswith(REMOVED)

    def actor(self, token: str | None = None, key: str | None = None) -> Actor | None:
        """Who holds this presenter key or participant token here (None: nobody). The actor
        re-reads the workshop file when they act, so a removed person's session, or one
        holding an old key, can do nothing (see permissions.still_here)."""
        recheck = _rechecker(getattr(self, "_home", None), self.name, token, key)
        if self.is_presenter_key(key):
            return Actor("presenter", self.name, self.presenter_name, recheck=recheck)
        person = self.person_for_token(token)
        if person is None:
            return None
        return Actor("participant", self.name, person.name, person.id, recheck=recheck)


def _rechecker(home: Path | None, name: str, token: str | None, key: str | None):
    """Whether the holder of this token or key is still who they were in workshop `name`
    (None without a data folder to read: a workspace built in memory)."""
    if home is None:
        return None

    def still_here() -> bool:
        ws = load_workspace(home, name)
        if ws is None:
            return False
        if key is not None and ws.is_presenter_key(key):
            return True
        return token is not None and ws.person_for_token(token) is not None

    return still_here


def honest_delta(n_train: int) -> float:
    """δ for a private run on `n_train` examples: the privacy technique's own rule (well below
    1/n: a δ near 1/n allows a mechanism that publishes one person's record outright)."""
    return automatic_delta(max(1, int(n_train)))


def _hash(salt: str, key: str) -> str:
    return hashlib.sha256((salt + key).encode()).hexdigest()


def _folder(home: Path) -> Path:
    return Path(home) / "workshops"


def _path(home: Path, name: str) -> Path:
    return _folder(home) / f"{clean_name(name)}.json"


@contextlib.contextmanager
def _locked(home: Path, name: str | None) -> Iterator[None]:
    """One change to a workspace file at a time (a join must not undo another's); with no
    name, one new workspace at a time (the count of open ones must hold)."""
    lock = _folder(home) / (f".{clean_name(name)}.lock" if name else ".open.lock")
    lock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def open_workspace(home: Path, name: str, presenter_name: str = "Presenter",
                   settings: RoomSettings | None = None) -> tuple[Workspace, str]:
    """Create a workspace; return it and the presenter key (shown once, stored hashed).
    Refused when the server already has its limit of open workshops."""
    name = clean_name(name)
    presenter_name = clean_display_name(presenter_name)
    settings = settings or RoomSettings.from_env()
    key = secrets.token_urlsafe(9)
    salt = secrets.token_hex(8)
    ws = Workspace(name, time.time(), salt, _hash(salt, key), presenter_name=presenter_name)
    with _locked(home, None):
        if len(open_workspaces(home)) >= settings.max_open:
            raise WorkshopError(
                f"this server already has {settings.max_open} workshops open, its limit; end "
                "one that is over (its presenter can), or ask whoever runs the server to "
                "raise PLAYGROUND_MAX_WORKSHOPS")
        # Of two presenters choosing one name at once, exactly one gets it.
        if not create_json(_path(home, name), asdict(ws)):
            raise WorkshopError(f"workshop name {name!r} is taken on this server; pick "
                                "another name, or open it with its presenter key")
    return ws, key


def load_workspace(home: Path, name: str) -> Workspace | None:
    try:
        ws = Workspace.from_json(json.loads(_path(home, name).read_text()))
    except (OSError, ValueError, TypeError, WorkshopError):
        return None
    ws._home = Path(home)  # where its actors re-check themselves (not saved)
    return ws


def list_workspaces(home: Path) -> list[str]:
    return sorted(p.stem for p in _folder(home).glob("*.json"))


def open_workspaces(home: Path) -> list[str]:
    """The workshops not ended yet."""
    return [n for n in list_workspaces(home)
            if (ws := load_workspace(home, n)) is not None and ws.ended is None]


def _existing(home: Path, name: str) -> Workspace:
    ws = load_workspace(home, name)
    if ws is None:
        raise WorkshopError(f"no workshop called {name!r} on this server")
    return ws


def _save(home: Path, ws: Workspace) -> None:
    """Replace the file whole (readers see the old or the new one), readable by the
    server's user alone from the moment it exists, as when it was created."""
    path = _path(home, ws.name)
    tmp = temporary_beside(path)
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(ws), f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def update_workspace(home: Path, name: str, key: str, *, lesson: Lesson | None = None,
                     limits: Limits | None = None, boards: Boards | None = None) -> Workspace:
    """The presenter's changes; refused without the presenter key."""
    if limits is not None and (limits.max_active < 1 or limits.max_size < 1):
        raise WorkshopError("limits: allow at least 1 run and a size of at least 1")
    if limits is not None and not (limits.max_cost > 0 and limits.max_minutes > 0):
        raise WorkshopError("limits: the largest run and the time limit must be above 0")
    if boards is not None and boards.delta_max is not None and not 0 < boards.delta_max < 1:
        raise WorkshopError("δ: give a chance above 0 and below 1, such as 1e-6 (it can only "
                            "lower the δ the data sets)")
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


def join_workspace(home: Path, name: str, display_name: str, token: str | None = None,
                   settings: RoomSettings | None = None) -> tuple[Actor, str]:
    """Join workshop `name` as `display_name`; return the participant and their private
    token (their way back in: keep it in their session and their personal link).

    Names are unique in a workshop as a reader sees them (same_name: case, spaces,
    punctuation and lookalike letters ignored): a name that is taken is refused, unless
    `token` is that person's own (they are coming back). An ended or full workshop takes
    nobody new."""
    shown = clean_display_name(display_name)
    with _locked(home, name):
        ws = _existing(home, name)
        if ws.person_for_token(token) is not None:
            return ws.actor(token=token), token
        if ws.ended is not None:
            raise WorkshopError(f"the workshop {ws.name!r} has ended: it takes no new people")
        most = (settings or RoomSettings.from_env()).max_people
        if len(ws.people) >= most:
            raise WorkshopError(f"the workshop {ws.name!r} is full ({most} people, this "
                                "server's limit); ask the presenter")
        if ws.reserved(shown):
            raise WorkshopError(f"the name {shown!r} is kept for the presenter (or reads like "
                                "it on the boards); pick another name")
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
    return ws.actor(token=token), token


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
        if not same_name(shown, person.name) and ws.name_taken(shown):
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


def end_workshop(home: Path, store: Store, name: str, key: str | None, *,
                 operator: bool = False, cancel_waiting: bool = False) -> Workspace:
    """The presenter (or the server's operator: the CLI) ends the workshop: nobody joins or
    queues in it any more; its runs, people and boards stay for the export. Runs still
    waiting or training finish, unless `cancel_waiting`. Ending twice keeps the first end."""
    with _locked(home, name):
        ws = _existing(home, name)
        if not operator and not ws.is_presenter_key(key):
            raise WorkshopError("only the presenter can end the workshop: the presenter key "
                                "does not match")
        if ws.ended is None:
            ws.ended = time.time()
            ws.version += 1
            _save(home, ws)
    if cancel_waiting:
        for run in store.list_runs(ACTIVE, workspace=ws.name):
            store.request_cancel(run.id)
    return ws


def training_examples(config: RunConfig) -> int:
    return len(run_data(config).y_train)


def room_config(ws: Workspace, config: RunConfig) -> RunConfig:
    """The run as this workshop queues it, for everyone in it (the presenter included):
    refused once the workshop has ended, and every technique that gives a privacy guarantee
    trains with the workshop's δ (Boards.delta, from the data size) whatever the config
    said, so no one can buy a smaller ε with a larger δ: δ is not a participant's choice."""
    if ws.ended is not None:
        raise WorkshopError(f"the workshop {ws.name!r} has ended: it takes no new runs. Its "
                            "runs stay on the boards; leave it to train on your own")
    private = [name for name in config.techniques if _has_delta(name)]
    if not private:
        return config
    delta = ws.boards.delta(training_examples(config))
    lesson = [v for name, v in ws.lesson.values.items()
              if name.endswith(DELTA.key) and isinstance(v, (int, float)) and 0 < v < delta]
    delta = min([delta, *lesson])  # a lesson may lower it too, never raise it
    techniques = {name: ({**params, DELTA.key: delta} if name in private else params)
                  for name, params in config.techniques.items()}
    return RunConfig.model_validate({**config.model_dump(), "techniques": techniques})


def _has_delta(technique: str) -> bool:
    """A privacy technique with a δ setting (it shares the δ metric's key)."""
    cls = technique_class(technique)
    return PRIVACY_GUARANTEE in cls.provides and any(p.name == DELTA.key for p in cls.params)


# -- fair sharing ----------------------------------------------------------------------------


def run_size(config: RunConfig) -> int:
    """Epochs × training examples: roughly the work a run asks of the server."""

    data = run_data(config)
    return config.epochs * len(data.y_train)


def setting_name(name: str) -> str:
    """A lesson's setting (a config field or a technique's shorthand) as Train names it:
    "Privacy noise (DP-SGD): noise multiplier", never the code name."""
    if name in shorthands():
        technique, param = shorthands()[name]
        cls = technique_class(technique)
        title = next(p for p in cls.params if p.name == param).title()
        return f"{cls.title}, {title[:1].lower()}{title[1:]}"
    return field_words(name).capitalize()


def _value_words(name: str, value: Any) -> str:
    if name == "dataset":
        return dataset_info(value).title
    if name == "model":
        return model_info(value).title
    if name in shorthands():
        technique, param = shorthands()[name]
        found = next(p for p in technique_class(technique).params if p.name == param)
        if found.words:
            return found.word(value)
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def setting_in_words(name: str, value: Any) -> str:
    """One fixed setting in words: "Dataset: Handwritten digits"."""
    try:
        return f"{setting_name(name)}: {_value_words(name, value)}"
    except (KeyError, ValueError, StopIteration):  # a setting this server no longer has
        return f"{field_words(name)}: {value}"


def _said(name: str, value: Any) -> str:
    if value is None:
        return "it switched off"
    try:
        return _value_words(name, value)
    except (KeyError, ValueError, StopIteration):
        return str(value)


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
            problems.append(f"{setting_in_words(name, want)}, fixed by the presenter for "
                            f"this lesson (you have {_said(name, got)}); change it back, or ask "
                            "the presenter")
    return problems


def submission_problems(ws: Workspace, owner: str, config: RunConfig, active_runs: int,
                        extras: tuple[str, ...] = (), presenter: bool = False,
                        firsts: tuple[RunConfig, ...] = ()) -> list[str]:
    """Why this person may not queue this run now (empty: they may). `extras` says what
    else queueing it brings, one phrase each (they count against the limit too); `firsts`
    are runs it trains first (a new teacher), each within the cost cap too."""
    if presenter:
        return lesson_problems(ws.lesson, config)
    return (lesson_problems(ws.lesson, config)
            + _count_problems(ws.limits, active_runs, 1 + len(extras), extras)
            + _run_problems(ws.limits, config, firsts))


def _count_problems(limit: Limits, active_runs: int, new_runs: int,
                    extras: tuple[str, ...] = ()) -> list[str]:
    if active_runs + new_runs <= limit.max_active:
        return []
    return [f"you already have {active_runs} run{'s' * (active_runs != 1)} waiting or "
            f"training, and each person may have {limit.max_active} at once"
            + (f" (this one queues {new_runs}: it also trains {' and '.join(extras)})"
               if extras else f" (this queues {new_runs})" if new_runs > 1 else "")
            + "; wait for one to finish, or cancel one on the Runs page"]


def _run_problems(limit: Limits, config: RunConfig, firsts: tuple[RunConfig, ...] = ()
                  ) -> list[str]:
    """The size and cost caps of one run (and of the runs it trains first)."""
    problems = []
    data = run_data(config)
    size = config.epochs * len(data.y_train)
    if size > limit.max_size:
        problems.append(
            f"run size: {config.epochs} epochs × {size // config.epochs:,} training examples "
            f"= {size:,}, above this workshop's limit of {limit.max_size:,}; use fewer "
            "epochs or less data")
    for run in (config, *firsts):
        if (problem := over_cap(run_cost(run, data if run is config else None),
                                limit.max_cost)) is not None:
            problems.append(problem if run is config else f"its first run: {problem}")
    return problems


def owner_runs(store: Store, workspace: str, owner: str | None = None,
               statuses: tuple[str, ...] | None = None) -> list[Run]:
    return store.list_runs(statuses, workspace=workspace,
                           **({} if owner is None else {"owner": owner}))


def submit_as(store: Store, actor: Actor, config: RunConfig, home: Path | None = None, *,
              reuse: dict[str, str] | None = None) -> Submitted:
    """Queue `config` for `actor`: the one entry every route uses (Train, stories, sweeps,
    clones, the CLI). The operator outside workshops; a participant or the presenter in
    their workshop, under their own id and name, within its rules and caps; a visitor, or
    someone no longer in their workshop, nowhere. Raises Refused (permissions) or
    WorkshopError (the workshop's rules, or a workshop that is gone); refused, nothing is
    queued. `reuse`: see `playground.runs.queue.submit` (a sweep's shared teacher)."""
    check(actor, "queue", Place(actor.workspace, actor.name, actor.person))
    if not actor.in_workshop:
        return submit(store, config, reuse=reuse)
    ws = _workspace_of(store, actor, home)
    owner, owner_id = _owner(ws, actor)
    return submit_to_workspace(store, ws, owner, config, actor.presenter, owner_id=owner_id,
                               reuse=reuse)


def _workspace_of(store: Store, actor: Actor, home: Path | None) -> Workspace:
    ws = load_workspace(home or store.home, actor.workspace)
    if ws is None:
        raise WorkshopError(f"workshop {actor.workspace!r} is closed on this server; leave it "
                            "to train on your own")
    return ws


def _owner(ws: Workspace, actor: Actor) -> tuple[str, str]:
    """(display name, person id) a run queued by `actor` in `ws` carries."""
    if actor.presenter:
        return ws.presenter_name, PRESENTER_ID
    if (person := ws.person_for_id(actor.person)) is None:
        raise WorkshopError("the presenter removed you from this workshop; join again "
                            "with a new name to train here")
    return person.name, person.id  # the presenter may have renamed them since


def admit_all(store: Store, actor: Actor, configs: list[RunConfig], runs: int,
              home: Path | None = None) -> None:
    """Check, before any is queued, that `actor` may queue `runs` runs together (a story's),
    whose settings `configs` show: the same permission, lesson and caps as `submit_as`,
    counting every run they would add. Raises Refused or WorkshopError; when it returns,
    `submit_as` takes each (unless the room changes meanwhile)."""
    check(actor, "queue", Place(actor.workspace, actor.name, actor.person))
    if not actor.in_workshop:
        return
    ws = _workspace_of(store, actor, home)
    _, owner_id = _owner(ws, actor)
    problems = [p for c in configs for p in lesson_problems(ws.lesson, c)]
    if not actor.presenter:
        active = store.count_runs(ACTIVE, workspace=ws.name, owner_id=owner_id)
        problems += _count_problems(ws.limits, active, runs)
        problems += [p for c in configs for p in _run_problems(ws.limits, c)]
    if problems:
        raise WorkshopError(list(dict.fromkeys(problems)))


def workshop_time_limit(ws: Workspace, home: Path | None = None) -> float:
    """Seconds a run in `ws` may train: the workshop's limit, within the server's."""
    return 60 * min(ws.limits.max_minutes, run_minutes(home))


def submit_to_workspace(store: Store, ws: Workspace, owner: str, config: RunConfig,
                        presenter: bool = False, *, owner_id: str | None = None,
                        reuse: dict[str, str] | None = None) -> Submitted:
    """Queue a run as `owner` (person id `owner_id`) in `ws` (a teacher trained first and
    the student alone count against the person's limit too), or raise WorkshopError saying
    why not."""
    def admit(plan: Plan) -> list[str]:
        scope = {"owner_id": owner_id} if owner_id is not None else {"owner": owner}
        active = store.count_runs(ACTIVE, workspace=ws.name, **scope)
        return submission_problems(ws, owner, plan.config, active, tuple(plan.extras),
                                   presenter, tuple(r for _, _, r in plan.first))

    config = room_config(ws, config)  # closed once ended; the workshop's δ
    try:
        return submit(store, config, workspace=ws.name, owner=owner, owner_id=owner_id,
                      admit=admit, reuse=reuse, time_limit=workshop_time_limit(ws, store.home))
    except Refused as exc:
        raise WorkshopError(exc.problems) from None
