"""Claiming from the queue: a worker takes the next queued run or job with one atomic
UPDATE, so two workers can never get the same one. Which one is next is the rule in
`playground.runs.turns`.
"""
from __future__ import annotations

import time

from playground.runs.database import Database
from playground.runs.records import Job, Run, job_from_row, run_from_row
from playground.runs.turns import READY_SQL, SERVED_SQL, next_sql


class Claims(Database):
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
        """Atomically hand worker `pid` the next queued run or job, in one queue taken in
        turns: the owner served least recently goes first, whatever they asked for (see
        `claim`)."""
        now = time.time()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            found = conn.execute(next_sql(kinds)).fetchone()
            if found is None:
                conn.execute("COMMIT")
                return None
            table = "runs" if found["kind"] == "run" else "jobs"
            reset = ", progress=0" if table == "runs" else ""
            rows = conn.execute(
                f"UPDATE {table} SET status='running', worker_pid=?, started=?{reset}"
                " WHERE seq=? AND status='queued' RETURNING *",
                (pid, now, found["seq"])).fetchall()
            conn.execute("COMMIT")
        if not rows:
            return None
        return run_from_row(rows[0]) if table == "runs" else job_from_row(rows[0])

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
                f"SELECT 1 FROM runs WHERE status='queued' AND {READY_SQL}"
                " UNION ALL SELECT 1 FROM jobs WHERE status='queued' LIMIT 1").fetchone()
        return row is not None

    def last_served(self) -> dict[str, float]:
        """Per owner key (see Run.owner_key), when they were last served (their latest run or
        job started): the turn order."""
        with self._connect() as conn:
            rows = conn.execute(SERVED_SQL).fetchall()
        return {r["who"]: r["last"] for r in rows}
