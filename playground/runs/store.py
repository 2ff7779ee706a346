"""The run store: SQLite (WAL, busy timeout) plus one artifact folder per run.

The store is also the queue: queuing a run is inserting a row; a worker claims the next
queued row with one atomic UPDATE, so two workers can never get the same run. The next
row is the oldest ready one of the owner served least recently (see `claim`).
Each thread keeps its own connection, so the store is safe to share between threads and
processes. Work that is not a run (explanations) queues as a job in the same fair queue.
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

from playground.common.paths import default_home
from playground.common.permissions import Actor, Refused, may
from playground.runs.fairness import _READY, SERVED_SQL, _next
from playground.training.config import RunConfig
from playground.training.techniques import TECHNIQUES

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
    owner TEXT,  -- display name of who queued it inside that workshop
    waits_for TEXT,  -- a run that must end before this one starts (a teacher), if any
    executor TEXT,  -- where it ran: local (a worker process) or ray
    node TEXT  -- the machine (and Ray node) that trained it
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status, seq);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    epoch INTEGER NOT NULL,
    train_loss REAL, train_accuracy REAL, val_loss REAL, val_accuracy REAL, seconds REAL,
    extra TEXT,  -- JSON of what techniques add per epoch, e.g. epsilon
    PRIMARY KEY (run_id, epoch)
);
-- Heavy work that is not a run (explanations, sanity checks): queued, claimed and taken
-- in turns exactly like runs, by the same workers; the app's server only asks and reads.
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    kind TEXT NOT NULL,  -- e.g. explain
    created REAL NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,  -- JSON: what to do
    result TEXT,  -- JSON: what came of it (also while running: progress so far)
    error TEXT,
    worker_pid INTEGER,
    started REAL,
    finished REAL,
    done INTEGER NOT NULL DEFAULT 0,
    total INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    workspace TEXT,
    owner TEXT,
    requester TEXT  -- the browser session that asked, so its stale requests can be dropped
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq);
"""

_EPOCH_COLUMNS = {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"}


def epoch_from_row(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data.update(json.loads(data.pop("extra") or "{}"))
    return data


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
    executor: str | None = None  # local or ray
    node: str | None = None  # the machine (and Ray node) it ran on

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
            "executor": self.executor, "node": self.node,
        }


def run_from_row(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"], status=row["status"],
        config=_load_config(row["config"]), created=row["created"],
        metrics=json.loads(row["metrics"]) if row["metrics"] else {}, error=row["error"],
        worker_pid=row["worker_pid"], started=row["started"], finished=row["finished"],
        progress=row["progress"], progress_at=row["progress_at"],
        cancel_requested=bool(row["cancel_requested"]), device=row["device"],
        workspace=row["workspace"], owner=row["owner"],
        executor=row["executor"], node=row["node"],
    )


@dataclass
class Job:
    """Work for a worker that is not a run: an explanation batch, say."""

    id: str
    kind: str
    status: str
    payload: dict[str, Any]
    created: float
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    worker_pid: int | None = None
    started: float | None = None
    finished: float | None = None
    done: int = 0
    total: int = 0
    cancel_requested: bool = False
    workspace: str | None = None
    owner: str | None = None
    requester: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def job_from_row(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"], kind=row["kind"], status=row["status"],
        payload=json.loads(row["payload"]), created=row["created"],
        result=json.loads(row["result"]) if row["result"] else {}, error=row["error"],
        worker_pid=row["worker_pid"], started=row["started"], finished=row["finished"],
        done=row["done"], total=row["total"], cancel_requested=bool(row["cancel_requested"]),
        workspace=row["workspace"], owner=row["owner"], requester=row["requester"],
    )


def _load_config(text: str) -> RunConfig:
    """A stored run's config as it was stored. Not validated again: today's rules (an
    uploaded dataset since deleted, a GPU-only technique read on a CPU, a tightened range)
    must not stop a finished run from listing; configs are validated where they are made."""
    data = json.loads(text)
    # Runs stored before dropout became a technique kept it as a top-level field.
    rate = data.pop("dropout", None)
    if rate:
        data.setdefault("techniques", {})["dropout"] = {"rate": rate}
    known = {k: v for k, v in data.items() if k in RunConfig.model_fields}
    return RunConfig.model_construct(**known)


def _where(statuses: tuple[str, ...] | None, scope: dict[str, str | None]) -> tuple[str, list]:
    clauses, args = [], []
    if statuses:
        clauses.append(f"status IN ({','.join('?' * len(statuses))})")
        args += statuses
    for name in ("workspace", "owner"):
        if name in scope:
            clauses.append(f"{name} IS ?")
            args.append(scope.pop(name))
    if scope:
        raise TypeError(f"unknown filter {', '.join(scope)}: use workspace= or owner=")
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), args


def runs_waited_for(config: RunConfig) -> list[str]:
    """The runs this one reads, as its techniques say (a teacher, a run to start from)."""
    return list(dict.fromkeys(
        other for name, settings in config.techniques.items()
        if name in TECHNIQUES and (other := TECHNIQUES.get(name).waits_for(settings))))


def _waits_for(config: RunConfig) -> str | None:
    """The run this one must wait for, as its techniques say (a teacher to finish)."""
    return next(iter(runs_waited_for(config)), None)


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
            for name in ("workspace", "owner", "executor", "node"):
                if name not in columns:
                    try:
                        conn.execute(f"ALTER TABLE runs ADD COLUMN {name} TEXT")
                    except sqlite3.OperationalError as exc:  # another process was first
                        if "duplicate column" not in str(exc):
                            raise
            # ... and the run each waits for, which the queue reads.
            if "waits_for" not in columns:
                try:
                    conn.execute("ALTER TABLE runs ADD COLUMN waits_for TEXT")
                except sqlite3.OperationalError as exc:  # another process was first
                    if "duplicate column" not in str(exc):
                        raise
                else:
                    for row in conn.execute(
                            "SELECT id, config FROM runs WHERE status='queued'").fetchall():
                        conn.execute("UPDATE runs SET waits_for=? WHERE id=?",
                                     (_waits_for(_load_config(row["config"])), row["id"]))
            # A workshop's pages list its runs (a person's, a page at a time).
            conn.execute("CREATE INDEX IF NOT EXISTS runs_scope"
                         " ON runs(workspace, owner, status, seq)")

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
                " workspace, owner, waits_for) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, now, status, config.model_dump_json(), pid,
                 now if status == "running" else None, workspace, owner, _waits_for(config)),
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
        item = self.claim_next(pid, kinds=("run",))
        assert item is None or isinstance(item, Run)
        return item

    def claim_next(self, pid: int, kinds: tuple[str, ...] = ("run", "job")) -> Run | Job | None:
        """Atomically hand worker `pid` the next queued run or job, in one fair queue: the
        owner served least recently goes first, whatever they asked for (see `claim`)."""
        now = time.time()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            found = conn.execute(_next(kinds)).fetchone()
            if found is None:
                conn.execute("COMMIT")
                return None
            if found["kind"] == "run":
                rows = conn.execute(
                    "UPDATE runs SET status='running', worker_pid=?, started=?, progress=0"
                    " WHERE seq=? AND status='queued' RETURNING *",
                    (pid, now, found["seq"])).fetchall()
            else:
                rows = conn.execute(
                    "UPDATE jobs SET status='running', worker_pid=?, started=?"
                    " WHERE seq=? AND status='queued' RETURNING *",
                    (pid, now, found["seq"])).fetchall()
            conn.execute("COMMIT")
        if not rows:
            return None
        return run_from_row(rows[0]) if found["kind"] == "run" else job_from_row(rows[0])

    def claim_run(self, run_id: str, pid: int) -> bool:
        """Claim one particular queued run (the CLI training a new teacher in front)."""
        with self._connect() as conn:
            cur = conn.execute(
                "UPDATE runs SET status='running', worker_pid=?, started=?, progress=0"
                " WHERE id=? AND status='queued'", (pid, time.time(), run_id))
        return cur.rowcount == 1

    def has_queued(self) -> bool:
        """A run ready to train or a job waiting (what an idle worker polls for)."""
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT 1 FROM runs WHERE status='queued' AND {_READY}"
                " UNION ALL SELECT 1 FROM jobs WHERE status='queued' LIMIT 1").fetchone()
        return row is not None

    # -- progress ----------------------------------------------------------------------

    def set_progress(self, run_id: str, progress: float, device: str | None = None) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE runs SET progress=?, progress_at=?, device=COALESCE(?, device)"
                " WHERE id=? AND status='running'",
                (progress, time.time(), device, run_id),
            )

    def set_executor(self, run_id: str, executor: str, node: str | None) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE runs SET executor=?, node=? WHERE id=?", (executor, node, run_id))

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
        return [epoch_from_row(r) for r in rows]

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
        """Mark every run still 'running' on worker `pid` (None: no worker) as ended, and
        whatever job it was doing; returns the runs' ids."""
        with self._connect() as conn:
            rows = conn.execute(
                "UPDATE runs SET status=?, error=?, finished=? WHERE status='running'"
                " AND worker_pid IS ? RETURNING id",
                (status, reason, time.time(), pid),
            ).fetchall()
            conn.execute(
                "UPDATE jobs SET status=?, error=?, finished=? WHERE status='running'"
                " AND worker_pid IS ?", (status, reason.replace("this run", "this job"),
                                         time.time(), pid))
        return [r["id"] for r in rows]

    def recover_orphans(self) -> list[str]:
        """Runs marked running whose process is gone were cut off: mark them interrupted."""
        orphans = []
        with self._connect() as conn:
            pids = {r[0] for r in conn.execute(
                "SELECT worker_pid FROM runs WHERE status='running' UNION"
                " SELECT worker_pid FROM jobs WHERE status='running'")}
        for pid in pids:
            if not pid_alive(pid):
                orphans += self.fail_runs_of(
                    pid,
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

    # -- what a person asks for, checked (see playground.common.permissions) ------------
    # request_cancel and delete above are the system's own (workers, the CLI, tests); every
    # page acts through these, which check who asks inside the same write transaction, so
    # a refused action changes nothing and no check can go stale before the change.

    def _checked(self, conn: sqlite3.Connection, actor: Actor, action: str,
                 run_id: str) -> Run:
        row = conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise Refused(f"There is no run {run_id} any more (it may have been deleted "
                          "meanwhile); reload the page.")
        run = run_from_row(row)
        if (problem := may(actor, action, run)) is not None:
            raise Refused(problem)
        return run

    @contextmanager
    def _acting(self, actor: Actor, action: str, run_id: str) -> Iterator[sqlite3.Connection]:
        """A write transaction that first checks `actor` may take `action` on the run; a
        refusal rolls back before anything changed (the caller commits)."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._checked(conn, actor, action, run_id)
            except Refused:
                conn.execute("ROLLBACK")
                raise
            yield conn

    def cancel(self, run_id: str, actor: Actor) -> str:
        """`actor` cancels a queued run at once, or asks the worker to stop a running one;
        returns the run's status. Raises Refused (nothing changed) when they may not."""
        with self._acting(actor, "cancel", run_id) as conn:
            conn.execute(
                "UPDATE runs SET status='cancelled', finished=?,"
                " error='Cancelled before it started.' WHERE id=? AND status='queued'",
                (time.time(), run_id))
            conn.execute(
                "UPDATE runs SET cancel_requested=1 WHERE id=? AND status='running'", (run_id,))
            status = conn.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()[0]
            conn.execute("COMMIT")
        return status

    def remove(self, run_id: str, actor: Actor) -> None:
        """`actor` deletes a run and its files. Raises Refused (nothing changed) when they
        may not."""
        with self._acting(actor, "delete", run_id) as conn:
            conn.execute("DELETE FROM runs WHERE id=?", (run_id,))
            conn.execute("COMMIT")
        shutil.rmtree(self.artifact_dir(run_id), ignore_errors=True)

    def checked_get(self, run_id: str, actor: Actor, action: str) -> Run:
        """The run, when `actor` may take `action` on it (clone); else Refused."""
        with self._connect() as conn:
            return self._checked(conn, actor, action, run_id)

    def rename_owner(self, workspace: str, old: str, new: str) -> int:
        """A workshop participant renamed (or removed) by the presenter: their runs and jobs
        follow the new name. Returns how many runs changed."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            cur = conn.execute("UPDATE runs SET owner=? WHERE workspace=? AND owner=?",
                               (new, workspace, old))
            conn.execute("UPDATE jobs SET owner=? WHERE workspace=? AND owner=?",
                         (new, workspace, old))
            conn.execute("COMMIT")
        return cur.rowcount

    # -- reading -----------------------------------------------------------------------

    def get(self, run_id: str) -> Run | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        return run_from_row(row) if row else None

    def list_runs(self, statuses: tuple[str, ...] | None = None, *, limit: int | None = None,
                  offset: int = 0, **scope: str | None) -> list[Run]:
        """Runs newest first; `statuses`, and `workspace=` / `owner=` (None: outside any
        workshop; leave out: any), narrow them; `limit` and `offset` page through them."""
        where, args = _where(statuses, scope)
        page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        with self._connect() as conn:
            rows = conn.execute(f"SELECT * FROM runs{where} ORDER BY seq DESC{page}",
                                args).fetchall()
        return [run_from_row(r) for r in rows]

    def count_runs(self, statuses: tuple[str, ...] | None = None, **scope: str | None) -> int:
        where, args = _where(statuses, scope)
        with self._connect() as conn:
            return conn.execute(f"SELECT COUNT(*) FROM runs{where}", args).fetchone()[0]

    def last_served(self) -> dict[str, float]:
        """Per owner key (see Run.owner_key), when they were last served (their latest run or
        job started): the turn order."""
        with self._connect() as conn:
            rows = conn.execute(SERVED_SQL).fetchall()
        return {r["who"]: r["last"] for r in rows}

    # -- jobs (work that is not a run) -----------------------------------------------------

    def enqueue_job(self, kind: str, payload: dict[str, Any], total: int, *,
                    workspace: str | None = None, owner: str | None = None,
                    requester: str | None = None) -> str:
        job_id = "j" + uuid.uuid4().hex[:11]
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO jobs (id, kind, created, status, payload, total, workspace,"
                " owner, requester) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
                (job_id, kind, time.time(), json.dumps(payload), total, workspace, owner,
                 requester))
        return job_id

    def job_progress(self, job_id: str, done: int, result: dict[str, Any]) -> None:
        with self._connect() as conn:
            conn.execute("UPDATE jobs SET done=?, result=? WHERE id=? AND status='running'",
                         (done, json.dumps(result), job_id))

    def finish_job(self, job_id: str, result: dict[str, Any]) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET status='finished', done=total, result=?, finished=?"
                " WHERE id=? AND status='running'", (json.dumps(result), time.time(), job_id))

    def end_job(self, job_id: str, status: str, error: str | None = None) -> None:
        assert status in ENDED
        with self._connect() as conn:
            conn.execute(
                "UPDATE jobs SET status=?, error=?, finished=?"
                " WHERE id=? AND status IN ('queued', 'running')",
                (status, error, time.time(), job_id))

    def cancel_jobs(self, *, requester: str, kind: str) -> int:
        """Drop one session's jobs of a kind (it has asked for something newer): queued ones
        at once, a running one after the piece it is on."""
        with self._connect() as conn:
            cur = conn.execute(
                "UPDATE jobs SET status='cancelled', finished=?, error='Replaced by a newer"
                " request.' WHERE requester=? AND kind=? AND status='queued'",
                (time.time(), requester, kind))
            conn.execute("UPDATE jobs SET cancel_requested=1 WHERE requester=? AND kind=?"
                         " AND status='running'", (requester, kind))
        return cur.rowcount

    def job_cancel_requested(self, job_id: str) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT cancel_requested, status FROM jobs WHERE id=?",
                               (job_id,)).fetchone()
        return row is None or bool(row["cancel_requested"]) or row["status"] != "running"

    def get_job(self, job_id: str) -> Job | None:
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        return job_from_row(row) if row else None

    def list_jobs(self, statuses: tuple[str, ...] | None = None,
                  kind: str | None = None) -> list[Job]:
        clauses, args = [], []
        if statuses:
            clauses.append(f"status IN ({','.join('?' * len(statuses))})")
            args += statuses
        if kind:
            clauses.append("kind=?")
            args.append(kind)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._connect() as conn:
            rows = conn.execute(f"SELECT * FROM jobs{where} ORDER BY seq DESC", args).fetchall()
        return [job_from_row(r) for r in rows]

    def prune_jobs(self, older_than_s: float = 86_400) -> int:
        """Forget ended jobs after a day: their results live in the explanation cache."""
        with self._connect() as conn:
            cur = conn.execute(
                f"DELETE FROM jobs WHERE status IN ({','.join('?' * len(ENDED))})"
                " AND finished < ?", (*ENDED, time.time() - older_than_s))
        return cur.rowcount

    def counts(self) -> dict[str, int]:
        with self._connect() as conn:
            rows = conn.execute("SELECT status, COUNT(*) AS n FROM runs GROUP BY status").fetchall()
        return {r["status"]: r["n"] for r in rows}
