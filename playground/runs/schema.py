"""The store's tables and how an older database file becomes today's.

The schema is the list of migration steps below, applied in order; the database records how
many it has had in SQLite's `PRAGMA user_version`. Opening a store applies the steps it
lacks, in one write transaction, so processes that open a fresh or old file at the same
moment migrate it once between them. Every step is also safe to apply again (tables and
indexes only if missing, a column only if absent): files from before the version number
existed start at 0 and already have some of what the steps add.
"""
from __future__ import annotations

import sqlite3
import time
from typing import Callable

from playground.runs.records import first_waited_for, load_config


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


def _add_column(conn: sqlite3.Connection, table: str, name: str, decl: str) -> None:
    if name not in _columns(conn, table):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {decl}")


def _runs_and_epochs(conn: sqlite3.Connection) -> None:
    """The first tables: runs (which are also the queue) and their per-epoch numbers."""
    conn.execute("""CREATE TABLE IF NOT EXISTS runs (
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
        device TEXT)""")
    conn.execute("CREATE INDEX IF NOT EXISTS runs_status ON runs(status, seq)")
    conn.execute("""CREATE TABLE IF NOT EXISTS epochs (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        train_loss REAL, train_accuracy REAL, val_loss REAL, val_accuracy REAL, seconds REAL,
        PRIMARY KEY (run_id, epoch))""")


def _epoch_extras(conn: sqlite3.Connection) -> None:
    """What techniques add per epoch beyond the fixed columns (JSON), e.g. a privacy budget."""
    _add_column(conn, "epochs", "extra", "TEXT")


def _owners(conn: sqlite3.Connection) -> None:
    """Workshops: the workshop a run was queued in and the display name of who queued it
    (both NULL outside any workshop)."""
    _add_column(conn, "runs", "workspace", "TEXT")
    _add_column(conn, "runs", "owner", "TEXT")


def _waits_for(conn: sqlite3.Connection) -> None:
    """A run that must end before this one starts (a distillation teacher), which the queue
    reads. Runs already queued get theirs from their config; doing that again gives the
    same answer."""
    _add_column(conn, "runs", "waits_for", "TEXT")
    for row in conn.execute("SELECT id, config FROM runs WHERE status='queued'"
                            " AND waits_for IS NULL").fetchall():
        conn.execute("UPDATE runs SET waits_for=? WHERE id=?",
                     (first_waited_for(load_config(row[1])), row[0]))


def _where_it_ran(conn: sqlite3.Connection) -> None:
    """Where a run trained: the executor (local or ray) and the machine (and Ray node)."""
    _add_column(conn, "runs", "executor", "TEXT")
    _add_column(conn, "runs", "node", "TEXT")


def _jobs(conn: sqlite3.Connection) -> None:
    """Heavy work that is not a run (explanations, sanity checks): queued, claimed and taken
    in turns exactly like runs, by the same workers; the app's server only asks and reads."""
    conn.execute("""CREATE TABLE IF NOT EXISTS jobs (
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
        requester TEXT  -- the browser session that asked, so its stale requests can go
    )""")
    conn.execute("CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq)")


def _scope_index(conn: sqlite3.Connection) -> None:
    """A workshop's pages list its runs (a person's, a page at a time)."""
    conn.execute("CREATE INDEX IF NOT EXISTS runs_scope ON runs(workspace, owner, status, seq)")


def _owner_ids(conn: sqlite3.Connection) -> None:
    """People are ids: the owner's person id in the workshop (names are display only, and a
    name can come back as someone else), and the run's own wall-clock limit in seconds
    (NULL: the server's limit when it trains). Older runs keep NULL for both."""
    _add_column(conn, "runs", "owner_id", "TEXT")
    _add_column(conn, "runs", "time_limit", "REAL")


# Append new steps at the end; never reorder or edit one that has shipped (a database's
# version counts the steps it has had).
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _runs_and_epochs, _epoch_extras, _owners, _waits_for, _where_it_ran, _jobs, _scope_index,
    _owner_ids)
LATEST = len(MIGRATIONS)


def version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection) -> list[int]:
    """Apply the steps the database lacks, in one transaction; returns the versions applied
    (none when it was up to date). `conn` must be in autocommit mode (isolation_level=None).
    A file newer than this code (a later version) is left as it is."""
    if version(conn) >= LATEST:
        return []  # the usual case: no write lock taken
    conn.execute("BEGIN IMMEDIATE")
    try:
        start = version(conn)  # another process may have migrated while this one waited
        applied = list(range(start + 1, LATEST + 1))
        for step in MIGRATIONS[start:]:
            step(conn)
        if applied:
            conn.execute(f"PRAGMA user_version={LATEST}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return applied


def use_wal(conn: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """Switch the database to WAL mode (outside any transaction: SQLite refuses it inside).

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
