"""What is happening now, read once for a whole server and shared by every session.

A room of thirty browsers each polling the store once a second is thirty reads a second;
the feed makes it one read per interval whatever the number of sessions. Each snapshot
holds the queued and running runs with their epochs, the queue order, the waiting and
running jobs, and a version that changes only when any of that (or the set of ended runs)
changed, so pages redraw only what is new.

The read is skipped altogether when SQLite says nothing was committed since the last one
(`PRAGMA data_version` on the feed's own connection). Nothing reads while nobody asks, so
an idle server costs nothing.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from playground.runs.records import (
    ACTIVE,
    ENDED,
    Job,
    Run,
    epoch_from_row,
    job_from_row,
    run_from_row,
)
from playground.runs.store import Store
from playground.runs.turns import SERVED_SQL, queue_order

INTERVAL = 0.5  # seconds a snapshot is served before the store is looked at again


@dataclass(frozen=True)
class Snapshot:
    version: int  # changes whenever anything below changed
    counts: Mapping[str, int]  # runs per status
    active: tuple[Run, ...]  # queued and running runs, newest first
    epochs: Mapping[str, tuple[dict[str, Any], ...]]  # per running run
    queue: tuple[str, ...]  # queued run ids in the order the workers will take them
    jobs: tuple[Job, ...]  # queued and running jobs, newest first
    ended: tuple  # changes when a run ends or is deleted (pages of finished runs redraw)
    raw: tuple = field(default=(), compare=False, repr=False)  # the rows it was made from

    @property
    def busy(self) -> bool:
        return bool(self.active or self.jobs)

    def run(self, run_id: str) -> Run | None:
        return next((r for r in self.active if r.id == run_id), None)

    def place(self, run_id: str) -> int | None:
        """1-based place in line of a queued run."""
        try:
            return self.queue.index(run_id) + 1
        except ValueError:
            return None


EMPTY = Snapshot(0, MappingProxyType({}), (), MappingProxyType({}), (), (), ())


class LiveFeed:
    """Serves one snapshot per `interval` to any number of threads (sessions)."""

    def __init__(self, store: Store, interval: float = INTERVAL,
                 clock: Callable[[], float] = time.monotonic):
        self.store = store
        self.interval = interval
        self.clock = clock
        self.checks = 0  # times the store was looked at (PRAGMA data_version)
        self.reads = 0  # times it had changed and was read
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._data_version: int | None = None
        self._snapshot = EMPTY
        self._checked_at = float("-inf")
        self._memo: dict[tuple, Any] = {}  # row -> its parsed object, for the last read

    def snapshot(self, max_age: float | None = None) -> Snapshot:
        """The current snapshot, at most `max_age` seconds old (default: the interval).
        Pages ask with max_age=0 on a full run (a click just changed something); polls
        take the shared one."""
        max_age = self.interval if max_age is None else max_age
        with self._lock:
            now = self.clock()
            if now - self._checked_at < max_age and self._snapshot is not EMPTY:
                return self._snapshot
            self._checked_at = now
            self.checks += 1
            conn = self._connection()
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version == self._data_version and self._snapshot is not EMPTY:
                return self._snapshot
            self._data_version = version
            self.reads += 1
            self._snapshot = self._read(conn, self._snapshot)
            return self._snapshot

    def invalidate(self) -> None:
        """The next snapshot() looks at the store again (this server just wrote to it)."""
        with self._lock:
            self._checked_at = float("-inf")

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.store.db_path, timeout=30, isolation_level=None,
                                   check_same_thread=False)  # used under self._lock only
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            self._conn = conn
        return self._conn

    def _read(self, conn: sqlite3.Connection, old: Snapshot) -> Snapshot:
        marks = ",".join("?" * len(ACTIVE))
        ended_marks = ",".join("?" * len(ENDED))
        conn.execute("BEGIN")  # one consistent view of the store
        try:
            runs = conn.execute(f"SELECT * FROM runs WHERE status IN ({marks})"
                                " ORDER BY seq DESC", ACTIVE).fetchall()
            counts = {r["status"]: r["n"] for r in conn.execute(
                "SELECT status, COUNT(*) AS n FROM runs GROUP BY status")}
            ended = tuple(conn.execute(
                f"SELECT COUNT(*), MAX(seq), MAX(finished) FROM runs WHERE status IN"
                f" ({ended_marks})", ENDED).fetchone())
            running = [r["id"] for r in runs if r["status"] == "running"]
            epoch_rows = conn.execute(
                f"SELECT * FROM epochs WHERE run_id IN ({','.join('?' * len(running))})"
                " ORDER BY run_id, epoch", running).fetchall() if running else []
            jobs = conn.execute(f"SELECT * FROM jobs WHERE status IN ({marks})"
                                " ORDER BY seq DESC", ACTIVE).fetchall()
            served = {r["who"]: r["last"] for r in conn.execute(SERVED_SQL)} \
                if counts.get("queued") else {}
        finally:
            conn.execute("COMMIT")
        raw = (tuple(tuple(r) for r in runs), tuple(sorted(counts.items())), ended,
               tuple(tuple(r) for r in epoch_rows), tuple(tuple(r) for r in jobs))
        if raw == old.raw:
            return old  # nothing a page shows has changed: same object, same version
        # Rows that did not change keep their parsed objects (a run's config is validated
        # once, not on every progress tick; an epoch's JSON is parsed once).
        memo = self._memo
        self._memo = {}

        def parsed(row, make):
            key = tuple(row)
            value = memo[key] if key in memo else make(row)
            self._memo[key] = value
            return value

        active = tuple(parsed(r, run_from_row) for r in runs)
        epochs: dict[str, list] = {}
        for row in epoch_rows:
            epochs.setdefault(row["run_id"], []).append(parsed(row, epoch_from_row))
        queued = [r for r in reversed(active) if r.status == "queued"]  # oldest first
        snapshot = Snapshot(
            version=old.version + 1, counts=MappingProxyType(counts), active=active,
            epochs=MappingProxyType({k: tuple(v) for k, v in epochs.items()}),
            queue=tuple(r.id for r in queue_order(queued, served)),
            jobs=tuple(job_from_row(r) for r in jobs), ended=ended,
            raw=raw)
        return snapshot
