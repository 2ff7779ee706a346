"""Workshop mode: named workspaces on one server, their rules, fair sharing and leaderboards.

A presenter opens a workspace and gets a secret key; participants join by link with a
display name. Runs queued in a workspace carry its name and their owner (columns of the
run store), which the store's claim uses to take turns between people. The workspace file
holds the presenter's lesson (fixed settings, locked controls), the per-person caps and the
leaderboard thresholds. No Streamlit here.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from playground.common.files import create_json, write_json
from playground.data.views import run_data
from playground.runs.queue import Plan, Refused, Submitted, submit
from playground.runs.store import ACTIVE, Run, Store
from playground.training.config import RunConfig, shorthands


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
    epsilon_max: float = 3.0
    accuracy_min: float = 0.95


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

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Workspace":
        return cls(**{**data, "lesson": Lesson(**data.get("lesson", {})),
                      "limits": Limits(**data.get("limits", {})),
                      "boards": Boards(**data.get("boards", {}))})

    def is_presenter_key(self, key: str | None) -> bool:
        return bool(key) and hmac.compare_digest(_hash(self.key_salt, key), self.key_hash)

    def join_url(self) -> str:
        return f"/workshop?ws={self.name}"


def _hash(salt: str, key: str) -> str:
    return hashlib.sha256((salt + key).encode()).hexdigest()


def _folder(home: Path) -> Path:
    return Path(home) / "workshops"


def _path(home: Path, name: str) -> Path:
    return _folder(home) / f"{clean_name(name)}.json"


def open_workspace(home: Path, name: str) -> tuple[Workspace, str]:
    """Create a workspace; return it and the presenter key (shown once, stored hashed)."""
    name = clean_name(name)
    _folder(home).mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(9)
    salt = secrets.token_hex(8)
    ws = Workspace(name, time.time(), salt, _hash(salt, key))
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


def update_workspace(home: Path, name: str, key: str, *, lesson: Lesson | None = None,
                     limits: Limits | None = None, boards: Boards | None = None) -> Workspace:
    """The presenter's changes; refused without the presenter key."""
    ws = load_workspace(home, name)
    if ws is None:
        raise WorkshopError(f"no workshop called {name!r} on this server")
    if not ws.is_presenter_key(key):
        raise WorkshopError("only the presenter can change the lesson: the presenter key "
                            "does not match")
    if limits is not None and (limits.max_active < 1 or limits.max_size < 1):
        raise WorkshopError("limits: allow at least 1 run and a size of at least 1")
    ws.lesson = lesson or ws.lesson
    ws.limits = limits or ws.limits
    ws.boards = boards or ws.boards
    ws.version += 1
    write_json(_path(home, name), asdict(ws))
    return ws


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
