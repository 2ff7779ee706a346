"""The jobs' table: work for a worker that is not a run (an explanation batch, say).

Jobs queue beside runs and are claimed in the same turns (see `playground.runs.claims`);
what a kind of job does is registered in `playground.runs.jobs`. A job's partial result is
written as it goes, so a page can show the pieces already done.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any

from playground.runs.database import Database
from playground.runs.records import ENDED, Job, job_from_row


class JobStore(Database):
    def enqueue_job(self, kind: str, payload: dict[str, Any], total: int, *,
                    workspace: str | None = None, owner: str | None = None,
                    requester: str | None = None) -> str:
        """Queue a job of `kind` with `total` pieces; returns its id."""
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
        """True when the job should stop: asked to, deleted, or no longer running."""
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
        """Jobs newest first, narrowed to `statuses` and `kind` when given."""
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
