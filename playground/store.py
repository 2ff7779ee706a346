"""The run store: SQLite (WAL, busy timeout) plus one artifact folder per run.

The store is also the queue: queuing a run is inserting a row; a worker claims the next
queued row with one atomic UPDATE, so two workers can never get the same run. The next
row is the oldest ready one of the owner served least recently (see `claim`).
Every call opens its own short-lived connection, so the store is safe to share between
threads and processes.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from playground.config import RunConfig

ACTIVE = ("queued", "running")
ENDED = ("finished", "failed", "cancelled", "interrupted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL,
    metrics TEXT,
    error TEXT,
    worker_pid INTEGER,
    started REAL,
    finished REAL,
    progress REAL NOT NULL DEFAULT 0,
    progress_at REAL,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    device TEXT,
    workspace TEXT,  -- workshop the run was queued in (None: none)
    owner TEXT  -- display name of who queued it inside that workshop
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, seq);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    train_loss REAL, train_accuracy REAL, val_loss REAL, val_accuracy REAL, seconds REAL,
    extra TEXT,  -- JSON of what techniques add per epoch, e.g. epsilon
    PRIMARY KEY (run_id, epoch)
);
"""


# The run a queued run waits for: its distillation teacher, read from the config JSON.
_TEACHER = "json_extract(config, '$.techniques.distillation.teacher')"
_READY = (f"(COALESCE({_TEACHER}, '') = '' OR {_TEACHER} NOT IN"
          " (SELECT id FROM runs WHERE status IN ('queued', 'running')))")

# Whose turn it is: the queue is shared fairly between owners (a workshop participant is
# workspace + name); every run without an owner counts as one owner together.
_OWNER_KEY = ("(CASE WHEN {t}owner IS NULL THEN '' ELSE"
              " COALESCE({t}workspace, '') || char(31) || {t}owner END)")
# The next run to train: among ready queued runs, the owner served least recently (by the
# latest start among their runs; never served comes first), then first come, first served.
_NEXT = (
    "SELECT q.seq FROM runs q LEFT JOIN (SELECT " + _OWNER_KEY.format(t="") + " AS who,"
    " MAX(started) AS last FROM runs WHERE started IS NOT NULL GROUP BY who) s"
    " ON s.who = " + _OWNER_KEY.format(t="q.") + " WHERE q.status='queued' AND "
    + _READY + " ORDER BY COALESCE(s.last, 0), q.seq LIMIT 1"
)

_EPOCH_COLUMNS = {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"}


def _epoch_row(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data.update(json.loads(data.pop("extra") or "{}"))
    return data


def default_home() -> Path:
    return Path(os.environ.get("PLAYGROUND_HOME", ".playground")).resolve()


@dataclass
class Run:
    id: str
    status: str
    config: RunConfig
    created: float
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    worker_pid: int | None = None
    started: float | None = None
    finished: float | None = None
    progress: float = 0.0
    progress_at: float | None = None
    cancel_requested: bool = False
    device: str | None = None
    workspace: str | None = None  # the workshop it was queued in
    owner: str | None = None  # who queued it there

    @property
    def owner_key(self) -> str:
        """Whose turn this run takes in the fair queue (mirrors the SQL _OWNER_KEY)."""
        return "" if self.owner is None else f"{self.workspace or ''}\x1f{self.owner}"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.id, "status": self.status, "config": self.config.model_dump(),
            "metrics": self.metrics, "error": self.error, "created": self.created,
            "started": self.started, "finished": self.finished, "progress": self.progress,
            "device": self.device, "label": self.config.label(),
            "workspace": self.workspace, "owner": self.owner,
        }


def _row_to_run(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"], status=row["status"],
        config=_load_config(row["config"]), created=row["created"],
        metrics=json.loads(row["metrics"]) if row["metrics"] else {}, error=row["error"],
        worker_pid=row["worker_pid"], started=row["started"], finished=row["finished"],
        progress=row["progress"], progress_at=row["progress_at"],
        cancel_requested=bool(row["cancel_requested"]), device=row["device"],
        workspace=row["workspace"], owner=row["owner"],
    )


def _load_config(text: str) -> RunConfig:
    data = json.loads(text)
    # Runs stored before dropout became a technique kept it as a top-level field.
    rate = data.pop("dropout", None)
    if rate:
        data.setdefault("techniques", {})["dropout"] = {"rate": rate}
    return RunConfig.model_validate(data)


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (dead, not yet reaped by its parent) still answers kill(0).
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _use_wal(conn: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """Switch the database to WAL mode.

    When several processes open a fresh database at once, SQLite can answer the switch
    with "database is locked" at once instead of waiting out the busy timeout, so retry.
    """
    deadline = time.monotonic() + wait_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Store:
    def __init__(self, home: str | os.PathLike | None = None):
        self.home = Path(home).resolve() if home else default_home()
        self.db_path = self.home / "runs.sqlite"
        self._local = threading.local()
        self.runs_dir = self.home / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            _use_wal(conn)
            conn.executescript(_SCHEMA)
            # Stores made before per-epoch extras existed gain the column in place.
            columns = {r["name"] for r in conn.execute("PRAGMA table_info(epochs)")}
            if "extra" not in columns:
                conn.execute("ALTER TABLE epochs ADD COLUMN extra TEXT")
            # ... and runs gain who queued them, for workshops.
            columns = {r["name"] for r in conn.execute("PRAGMA table_info(runs)")}
            for name in ("workspace", "owner"):
                if name not in columns:
                    try:
                        conn.execute(f"ALTER TABLE runs ADD COLUMN {name} TEXT")
                    except sqlite3.OperationalError as exc:  # another process was first
                        if "duplicate column" not in str(exc):
                            raise

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (autocommit), opened on first use and kept: opening one
        per call cost ~1 ms, a tenth of a small model's epoch. Statements' cursors are
        consumed or dropped at once, so no read snapshot or write lock outlives a call."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA foreign_keys=ON")
            # In WAL mode NORMAL still survives a crashed process intact; it skips the
            # fsync on every commit (an epoch row, a progress tick), which FULL pays. Only
            # a power cut could lose the last commits. (Not without WAL: there, NORMAL could
            # corrupt the file on a power cut.)
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                conn.execute("PRAGMA synchronous=NORMAL")
            # Thread-local, so it is closed when its thread ends (Streamlit runs each
            # script run in a new thread).
            self._local.conn, self._local.pid = conn, os.getpid()
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # an explicit transaction cut short must not linger
                conn.rollback()
            raise

    def artifact_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    # -- queueing and claiming -------------------------------------------------------

    def enqueue(self, config: RunConfig, status: str = "queued", pid: int | None = None, *,
                workspace: str | None = None, owner: str | None = None) -> str:
        """Queue a run; `workspace` and `owner` tag it as someone's run in a workshop."""
        run_id = uuid.uuid4().hex[:10]
        now = time.time()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO runs (id, created, status, config, worker_pid, started,"
                " workspace, owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, now, status, config.model_dump_json(), pid,
                 now if status == "running" else None, workspace, owner),
            )
        return run_id

    def claim(self, pid: int) -> Run | None:
        """Atomically hand the next ready queued run to worker `pid`, or return None.

        Owners take turns: the next run belongs to the owner served least recently (one who
        was never served goes first), and each owner's runs go first come, first served, so
        nobody waits behind a long queue of someone else's runs (round robin).
        A run that learns from another run (a distillation teacher queued with "train a
        teacher first") waits while that run is queued or training; once it has ended the
        student runs (and the distillation plug-in reports a teacher that did not finish).
        """
        with self._connect() as conn:
            row = conn.execute(
                "UPDATE runs SET status='running', worker_pid=?, started=?, progress=0"
                f" WHERE seq = ({_NEXT}) AND status='queued' RETURNING *",
                (pid, time.time()),
            ).fetchall()  # stepped to the end: the autocommit write is done here
        return _row_to_run(row[0]) if row else None

    def claim_run(self, run_id: str, pid: int) -> bool:
        """Claim one particular queued run (the CLI training a new teacher in front)."""
        with self._connect() as conn:
            cur = conn.execute(
                "UPDATE runs SET status='running', worker_pid=?, started=?, progress=0"
                " WHERE id=? AND status='queued'", (pid, time.time(), run_id))
        return cur.rowcount == 1

    def has_queued(self) -> bool:
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT 1 FROM runs WHERE status='queued' AND {_READY} LIMIT 1").fetchone()
        return row is not None

    # -- progress ----------------------------------------------------------------------

    def set_progress(self, run_id: str, progress: float, device: str | None = None) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET progress=?, progress_at=?, device=COALESCE(?, device)"
                " WHERE id=? AND status='running'",
                (progress, time.time(), device, run_id),
            )

    def add_epoch(self, run_id: str, epoch: int, values: dict[str, float], progress: float) -> None:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, train_loss, train_accuracy,"
                " val_loss, val_accuracy, seconds, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, epoch, values.get("train_loss"), values.get("train_accuracy"),
                 values.get("val_loss"), values.get("val_accuracy"), values.get("seconds"),
                 json.dumps({k: v for k, v in values.items() if k not in _EPOCH_COLUMNS})),
            )
            conn.execute(
                "UPDATE runs SET progress=?, progress_at=? WHERE id=?",
                (progress, time.time(), run_id),
            )
            conn.execute("COMMIT")

    def epochs(self, run_id: str) -> list[dict[str, Any]]:
        return self.epochs_for([run_id])

    def epochs_for(self, run_ids: list[str]) -> list[dict[str, Any]]:
        if not run_ids:
            return []
        marks = ",".join("?" * len(run_ids))
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT * FROM epochs WHERE run_id IN ({marks}) ORDER BY run_id, epoch", run_ids
            ).fetchall()
        return [_epoch_row(r) for r in rows]

    # -- endings -----------------------------------------------------------------------

    def finish(self, run_id: str, metrics: dict[str, Any], device: str) -> bool:
        """Record a finished run; False if the run was deleted meanwhile."""
        with self._connect() as conn:
            cur = conn.execute(
                "UPDATE runs SET status='finished', metrics=?, finished=?, progress=1, device=?"
                " WHERE id=?",
                (json.dumps(metrics), time.time(), device, run_id),
            )
        return cur.rowcount == 1

    def end(self, run_id: str, status: str, error: str | None = None) -> None:
        assert status in ENDED
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET status=?, error=?, finished=?"
                " WHERE id=? AND status IN ('queued', 'running')",
                (status, error, time.time(), run_id),
            )

    def fail_runs_of(self, pid: int | None, reason: str, status: str = "failed") -> list[str]:
        """Mark every run still 'running' on worker `pid` (None: no worker) as ended."""
        with self._connect() as conn:
            rows = conn.execute(
                "UPDATE runs SET status=?, error=?, finished=? WHERE status='running'"
                " AND worker_pid IS ? RETURNING id",
                (status, reason, time.time(), pid),
            ).fetchall()
        return [r["id"] for r in rows]

    def recover_orphans(self) -> list[str]:
        """Runs marked running whose process is gone were cut off: mark them interrupted."""
        orphans = []
        for run in self.list_runs(statuses=("running",)):
            if not pid_alive(run.worker_pid):
                orphans += self.fail_runs_of(
                    run.worker_pid,
                    "The process training this run stopped (the app or worker was shut down "
                    "or restarted). Queue it again to rerun it.",
                    status="interrupted",
                )
        return orphans

    # -- user actions ------------------------------------------------------------------

    def request_cancel(self, run_id: str) -> str | None:
        """Cancel a queued run at once, or ask the worker to stop a running one."""
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET status='cancelled', finished=?,"
                " error='Cancelled before it started.' WHERE id=? AND status='queued'",
                (time.time(), run_id),
            )
            conn.execute(
                "UPDATE runs SET cancel_requested=1 WHERE id=? AND status='running'", (run_id,)
            )
            row = conn.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
        return row["status"] if row else None

    def cancel_requested(self, run_id: str) -> bool:
        """True when the user asked to stop this run, or deleted it."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT cancel_requested FROM runs WHERE id=?", (run_id,)
            ).fetchone()
        return row is None or bool(row["cancel_requested"])

    def delete(self, run_id: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM runs WHERE id=?", (run_id,))
        shutil.rmtree(self.artifact_dir(run_id), ignore_errors=True)

    # -- reading -----------------------------------------------------------------------

    def get(self, run_id: str) -> Run | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        return _row_to_run(row) if row else None

    def list_runs(self, statuses: tuple[str, ...] | None = None) -> list[Run]:
        query = "SELECT * FROM runs"
        args: tuple = ()
        if statuses:
            query += f" WHERE status IN ({','.join('?' * len(statuses))})"
            args = statuses
        with self._connect() as conn:
            rows = conn.execute(query + " ORDER BY seq DESC", args).fetchall()
        return [_row_to_run(r) for r in rows]

    def last_served(self) -> dict[str, float]:
        """Per owner key (see Run.owner_key), when their latest run started: the turn order."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_OWNER_KEY.format(t='')} AS who, MAX(started) AS last FROM runs"
                " WHERE started IS NOT NULL GROUP BY who").fetchall()
        return {r["who"]: r["last"] for r in rows}

    def counts(self) -> dict[str, int]:
        with self._connect() as conn:
            rows = conn.execute("SELECT status, COUNT(*) AS n FROM runs GROUP BY status").fetchall()
        return {r["status"]: r["n"] for r in rows}
