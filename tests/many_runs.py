"""A store with hundreds of runs, for tests and measurements of pages at scale.

Three small runs are really trained (so metrics, curves, confusion matrices and weights
are real); the rest are copies of them under new ids, with their own seed in the config,
their own artifact folder, and spread over workshop people when asked. Copies, not
invented numbers: every page reads them exactly as it reads a trained run.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid

from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config

SOURCES = (
    dict(dataset="digits", model="mlp", epochs=2, width=16),
    dict(dataset="digits", model="mlp", epochs=2, width=16, dropout=0.2),
    dict(dataset="digits", model="mlp", epochs=2, width=16, quantize="int8"),
)


def train_sources(store: Store) -> list[str]:
    ids = []
    for values in SOURCES:
        run_id = store.enqueue(make_config(**values))
        run = store.claim_run(run_id, os.getpid()) and store.get(run_id)
        assert run and execute(store, run) == "finished", store.get(run_id).error
        ids.append(run_id)
    return ids


def fill(store: Store, finished: int = 300, training: int = 4,
         workspace: str | None = None, people: int = 30) -> dict[str, list[str]]:
    """`finished` runs (three trained, the rest copies of them), and `training` runs marked
    as training in this process (alive, so nothing recovers them) with an epoch each.
    With `workspace`, the copies belong to people p00..p{people-1} in it. Returns the
    copies' ids."""
    sources = train_sources(store)
    with store._connect() as conn:
        rows = {r["id"]: dict(r) for r in conn.execute(
            f"SELECT * FROM runs WHERE id IN ({','.join('?' * len(sources))})", sources)}
        epochs = {s: [dict(e) for e in conn.execute(
            "SELECT * FROM epochs WHERE run_id=? ORDER BY epoch", (s,))] for s in sources}
    made: dict[str, list[str]] = {"finished": [], "training": []}
    now = time.time()
    with store._connect() as conn:
        conn.execute("BEGIN IMMEDIATE")
        copies = finished - len(sources)
        for i in range(copies + training):
            source = sources[i % len(sources)]
            row = dict(rows[source])
            config = json.loads(row["config"])
            config["seed"] = 100 + i
            run_id = uuid.uuid4().hex[:10]
            going = i >= copies
            owner = f"p{i % people:02d}" if workspace else None
            conn.execute(
                "INSERT INTO runs (id, created, status, config, metrics, error, worker_pid,"
                " started, finished, progress, progress_at, device, workspace, owner)"
                " VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, now - (copies + training - i), "running" if going else "finished",
                 json.dumps(config), None if going else row["metrics"],
                 os.getpid() if going else row["worker_pid"], now - 5,
                 None if going else now - 1, 0.5 if going else 1.0, now, row["device"],
                 workspace, owner))
            for e in epochs[source][:1] if going else epochs[source]:
                conn.execute(
                    "INSERT INTO epochs (run_id, epoch, train_loss, train_accuracy, val_loss,"
                    " val_accuracy, seconds, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, e["epoch"], e["train_loss"], e["train_accuracy"], e["val_loss"],
                     e["val_accuracy"], e["seconds"], e["extra"]))
            if not going:
                shutil.copytree(store.artifact_dir(source), store.artifact_dir(run_id))
            made["training" if going else "finished"].append(run_id)
        conn.execute("COMMIT")
    return made
