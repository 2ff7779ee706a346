"""A run store as the first version of the app wrote it, for the migration tests."""
from __future__ import annotations

import sqlite3
from pathlib import Path


def write_oldest_store(home: Path, rows: list[tuple[str, str, str]]) -> None:
    """A database file as the first version of the app wrote it (no version number, runs
    without owners or waits, epochs without extras, no jobs), holding `rows`
    (id, status, config JSON), each with one epoch."""
    home.mkdir(parents=True)
    conn = sqlite3.connect(home / "runs.sqlite")
    conn.executescript("""
        CREATE TABLE runs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL,
            created REAL NOT NULL, status TEXT NOT NULL, config TEXT NOT NULL, metrics TEXT,
            error TEXT, worker_pid INTEGER, started REAL, finished REAL,
            progress REAL NOT NULL DEFAULT 0, progress_at REAL,
            cancel_requested INTEGER NOT NULL DEFAULT 0, device TEXT);
        CREATE INDEX runs_status ON runs(status, seq);
        CREATE TABLE epochs (run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            epoch INTEGER NOT NULL, train_loss REAL, train_accuracy REAL, val_loss REAL,
            val_accuracy REAL, seconds REAL, PRIMARY KEY (run_id, epoch));
    """)
    for i, (run_id, status, config) in enumerate(rows):
        conn.execute("INSERT INTO runs (id, created, status, config) VALUES (?, ?, ?, ?)",
                     (run_id, i + 1.0, status, config))
        conn.execute("INSERT INTO epochs (run_id, epoch, val_accuracy) VALUES (?, 1, 0.5)",
                     (run_id,))
    conn.commit()
    conn.close()
