"""A run's life in the store, from queued to ended, and reading runs back.

Queuing a run is inserting its row (the store is the queue); a worker reports progress and
epochs into it, then how it ended. A worker that died leaves its runs marked with the
reason (`fail_runs_of`, `recover_orphans`), so nothing a person started is silently lost.
`request_cancel` and `delete` here are the system's own (workers, the CLI, tests): a person's
cancel or delete goes through `playground.runs.actions`, which checks who asks and shares
the cancel statement (`cancel_run`).
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
import uuid
from typing import Any

from playground.runs.database import Database
from playground.runs.records import (
    ENDED,
    EPOCH_COLUMNS,
    Run,
    epoch_from_row,
    first_waited_for,
    run_from_row,
)
from playground.training.config import RunConfig


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


def cancel_run(conn: sqlite3.Connection, run_id: str) -> str | None:
    """Cancel a queued run at once, or ask the worker to stop a running one; the run's status
    afterwards (None: no such run). Runs inside the caller's transaction, if any."""
    conn.execute(
        "UPDATE runs SET status='cancelled', finished=?,"
        " error='Cancelled before it started.' WHERE id=? AND status='queued'",
        (time.time(), run_id))
    conn.execute("UPDATE runs SET cancel_requested=1 WHERE id=? AND status='running'", (run_id,))
    row = conn.execute("SELECT status FROM runs WHERE id=?", (run_id,)).fetchone()
    return row["status"] if row else None


def _where(statuses: tuple[str, ...] | None, scope: dict[str, str | None]) -> tuple[str, list]:
    clauses, args = [], []
    if statuses:
        clauses.append(f"status IN ({','.join('?' * len(statuses))})")
        args += statuses
    for name in ("workspace", "owner", "owner_id"):
        if name in scope:
            clauses.append(f"{name} IS ?")
            args.append(scope.pop(name))
    if scope:
        raise TypeError(f"unknown filter {', '.join(scope)}: use workspace=, owner= or "
                        "owner_id=")
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), args


class Lifecycle(Database):
    # -- queueing ------------------------------------------------------------------------

    def enqueue(self, config: RunConfig, status: str = "queued", pid: int | None = None, *,
                workspace: str | None = None, owner: str | None = None,
                owner_id: str | None = None, time_limit: float | None = None) -> str:
        """Queue a run; `workspace`, `owner` (display name) and `owner_id` (person id) tag it
        as someone's run in a workshop; `time_limit` is the seconds it may train (None: the
        server's limit). (`status="running"` with `pid` records a run this process trains
        at once.)"""
        run_id = uuid.uuid4().hex[:10]
        now = time.time()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO runs (id, created, status, config, worker_pid, started,"
                " workspace, owner, waits_for, owner_id, time_limit)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, now, status, config.model_dump_json(), pid,
                 now if status == "running" else None, workspace, owner,
                 first_waited_for(config), owner_id, time_limit),
            )
        return run_id

    # -- progress ------------------------------------------------------------------------

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
        """Record one epoch's numbers (what is not a fixed column goes in `extra`) and the
        run's progress, together."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "INSERT OR REPLACE INTO epochs (run_id, epoch, train_loss, train_accuracy,"
                " val_loss, val_accuracy, seconds, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, epoch, values.get("train_loss"), values.get("train_accuracy"),
                 values.get("val_loss"), values.get("val_accuracy"), values.get("seconds"),
                 json.dumps({k: v for k, v in values.items() if k not in EPOCH_COLUMNS})),
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

    # -- endings -------------------------------------------------------------------------

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
        """Runs (and jobs) marked running whose process is gone were cut off: mark them
        interrupted; returns the runs' ids."""
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

    # -- the system's stop and delete (a person's go through the checked actions) ---------

    def request_cancel(self, run_id: str) -> str | None:
        """Cancel a queued run at once, or ask the worker to stop a running one; returns the
        run's status (None: no such run)."""
        with self._connect() as conn:
            return cancel_run(conn, run_id)

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

    # -- reading -------------------------------------------------------------------------

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

    def counts(self) -> dict[str, int]:
        """How many runs per status."""
        with self._connect() as conn:
            rows = conn.execute("SELECT status, COUNT(*) AS n FROM runs GROUP BY status").fetchall()
        return {r["status"]: r["n"] for r in rows}
