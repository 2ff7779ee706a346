"""What a person asks of a run, checked: cancel, delete, and reading a run to clone it.

Every page acts through these (see `playground.common.permissions`); the store's own
`request_cancel` and `delete` stay for the system (workers, the CLI, tests). Each checks
who asks inside the same write transaction as the change, so a refused action changes
nothing and no check can go stale before the change.
"""
from __future__ import annotations

import shutil
import sqlite3
from contextlib import contextmanager
from typing import Iterator

from playground.common.permissions import Actor, Refused, may, still_here
from playground.runs.database import Database
from playground.runs.lifecycle import cancel_run
from playground.runs.records import Run, run_from_row


def _checked(conn: sqlite3.Connection, actor: Actor, action: str, run_id: str) -> Run:
    """The run, when `actor` (still in their place) may take `action` on it; else Refused
    with the reason."""
    if (problem := still_here(actor)) is not None:
        raise Refused(problem)
    row = conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
    if row is None:
        raise Refused(f"There is no run {run_id} any more (it may have been deleted "
                      "meanwhile); reload the page.")
    run = run_from_row(row)
    if (problem := may(actor, action, run)) is not None:
        raise Refused(problem)
    return run


class CheckedActions(Database):
    @contextmanager
    def _acting(self, actor: Actor, action: str, run_id: str) -> Iterator[sqlite3.Connection]:
        """A write transaction that first checks `actor` may take `action` on the run; a
        refusal rolls back before anything changed (the caller commits)."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                _checked(conn, actor, action, run_id)
            except Refused:
                conn.execute("ROLLBACK")
                raise
            yield conn

    def cancel(self, run_id: str, actor: Actor) -> str:
        """`actor` cancels a queued run at once, or asks the worker to stop a running one;
        returns the run's status. Raises Refused (nothing changed) when they may not."""
        with self._acting(actor, "cancel", run_id) as conn:
            status = cancel_run(conn, run_id)
            conn.execute("COMMIT")
        assert status is not None  # the check found the run, in this same transaction
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
            return _checked(conn, actor, action, run_id)
