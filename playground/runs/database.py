"""The store's file and connections: one SQLite database (WAL, busy timeout) and one
artifact folder per run, under the data folder.

`Database` opens (and migrates) the file and gives each thread its own connection; the
store's parts (claims, a run's life, checked actions, jobs) are built on it.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from playground.common.paths import default_home
from playground.runs.schema import migrate, use_wal


class Database:
    def __init__(self, home: str | os.PathLike | None = None):
        self.home = Path(home).resolve() if home else default_home()
        self.db_path = self.home / "runs.sqlite"
        self._local = threading.local()
        self.runs_dir = self.home / "runs"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            use_wal(conn)
            migrate(conn)

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
