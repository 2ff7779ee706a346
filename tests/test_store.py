"""The SQLite run store, which is also the queue shared by the app, the CLI and workers.

Concurrency is tested with real processes (multiprocessing, 'spawn'), because the store's
promise is about several processes on one database file, not threads in one interpreter.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from playground.runs.schema import LATEST, MIGRATIONS, migrate, version
from playground.runs.store import ACTIVE, ENDED, Store, pid_alive
from playground.training.config import make_config
from tests.old_store import write_oldest_store
from tests.store_support import (
    CONFIG,
    N_PROCS,
    claim_until_empty,
    dead_pid,
    enqueue_many,
    open_store,
    run_in_all,
)

# -- the schema and its migrations ----------------------------------------------------------

# What today's store holds, written out by hand: every migration path must end here.
TABLES = {
    "runs": ["seq", "id", "created", "status", "config", "metrics", "error", "worker_pid",
             "started", "finished", "progress", "progress_at", "cancel_requested", "device",
             "workspace", "owner", "waits_for", "executor", "node", "owner_id", "time_limit"],
    "epochs": ["run_id", "epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
               "seconds", "extra"],
    "jobs": ["seq", "id", "kind", "created", "status", "payload", "result", "error",
             "worker_pid", "started", "finished", "done", "total", "cancel_requested",
             "workspace", "owner", "requester"],
}
INDEXES = {"runs_status": "runs", "runs_scope": "runs", "jobs_status": "jobs"}


def _schema(conn: sqlite3.Connection) -> tuple[dict, dict]:
    """Each table's columns (name, type, not null, default, key) and each index's table."""
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    indexes = {r[0]: r[1] for r in conn.execute(
        "SELECT name, tbl_name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL")}
    return {t: [tuple(c)[1:] for c in conn.execute(f"PRAGMA table_info({t})")]
            for t in sorted(tables)}, indexes


def _contents(conn: sqlite3.Connection) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY rowid")]
            for t in TABLES}


def test_a_fresh_store_has_todays_tables_at_the_latest_version(home: Path):
    store = Store(home)
    with store._connect() as conn:
        columns, indexes = _schema(conn)
        assert version(conn) == LATEST == len(MIGRATIONS)
    assert {t: [c[0] for c in cols] for t, cols in columns.items()} == TABLES
    assert indexes == INDEXES


def test_an_oldest_store_is_migrated_in_place_and_migrating_again_changes_nothing(home: Path):
    teacher_config = make_config(dataset="moons", model="mlp", epochs=3, width=64)
    write_oldest_store(home, [
        ("done", "finished", CONFIG.model_dump_json()),
        ("teacher", "queued", teacher_config.model_dump_json()),
        ("student", "queued", make_config(dataset="moons", model="mlp", epochs=3,
                                          distill_from="teacher").model_dump_json()),
    ])
    store = Store(home)
    with store._connect() as conn:
        assert version(conn) == LATEST
        columns, indexes = _schema(conn)
        before, changes = _contents(conn), conn.total_changes
        assert migrate(conn) == []  # opening or migrating again: nothing to do ...
        assert conn.total_changes == changes  # ... and nothing written
        assert _contents(conn) == before and _schema(conn) == (columns, indexes)
    assert {t: [c[0] for c in cols] for t, cols in columns.items()} == TABLES
    assert indexes == INDEXES
    with Store(home / "fresh")._connect() as conn:  # the same tables as a store made today
        assert _schema(conn) == (columns, indexes)

    # The old rows read as they were, with the columns they lacked empty.
    done = store.get("done")
    assert (done.status, done.config, done.owner, done.owner_key, done.node) == (
        "finished", CONFIG, None, "", None)
    assert store.epochs("done") == [{
        "run_id": "done", "epoch": 1, "train_loss": None, "train_accuracy": None,
        "val_loss": None, "val_accuracy": 0.5, "seconds": None}]
    # The queued student learned which run it waits for: its teacher goes first, alone.
    assert store.claim(os.getpid()).id == "teacher"
    assert store.claim(os.getpid()) is None
    store.finish("teacher", {}, "test")
    assert store.claim(os.getpid()).id == "student"
    # The jobs table came with the migration.
    job = store.enqueue_job("explain", {"run": "done"}, 2)
    assert store.get_job(job).payload == {"run": "done"}


def test_every_migration_step_can_be_applied_again(home: Path):
    """Files written before the version number existed start at 0 with some of the steps
    already done, and a step may meet what another process just did: no step may fail on,
    or change, what is already there."""
    store = Store(home)
    teacher = store.enqueue(CONFIG)
    store.enqueue(make_config(dataset="moons", model="mlp", epochs=3, distill_from=teacher),
                  workspace="room", owner="ana")
    store.add_epoch(teacher, 1, {"val_accuracy": 0.5, "noise": 1.1}, 0.3)
    store.enqueue_job("explain", {}, 1, requester="s1")
    with store._connect() as conn:
        before = _schema(conn), _contents(conn)
        for step in MIGRATIONS:
            step(conn)
        assert (_schema(conn), _contents(conn)) == before
        conn.execute("PRAGMA user_version=0")  # as today's files were before the number
    reopened = Store(home)
    with reopened._connect() as conn:
        assert version(conn) == LATEST
        assert (_schema(conn), _contents(conn)) == before
    assert reopened.epochs(teacher)[0]["noise"] == 1.1


def test_several_processes_opening_an_old_store_at_once_migrate_it_once(pool, home: Path):
    write_oldest_store(home, [("old", "queued", CONFIG.model_dump_json())])
    opened = run_in_all(pool, open_store, str(home))
    assert [v for _, v in opened] == [LATEST] * N_PROCS
    store = Store(home)
    with store._connect() as conn:
        assert {t: [c[0] for c in cols] for t, cols in _schema(conn)[0].items()} == TABLES
    assert [r.id for r in store.list_runs()] == ["old"]
    assert store.get("old").config == CONFIG and store.claim(os.getpid()).id == "old"


# -- queueing and claiming ------------------------------------------------------------------


@pytest.mark.parametrize("work_seconds", [0.0, 0.02], ids=["tight-loop", "with-work"])
def test_concurrent_claims_hand_each_run_to_exactly_one_worker(pool, home: Path, work_seconds):
    store = Store(home)
    n_runs = 40
    queued = [store.enqueue(CONFIG) for _ in range(n_runs)]
    by_worker = dict(run_in_all(pool, claim_until_empty, str(home), work_seconds))

    claimed = [run_id for got in by_worker.values() for run_id, _, _ in got]
    # Never one run to two workers, and every queued run claimed exactly once.
    assert Counter(claimed) == Counter(queued)
    for pid, got in by_worker.items():
        for run_id, status, worker_pid in got:
            assert status == "running" and worker_pid == pid
            run = store.get(run_id)
            assert run.status == "finished"
            assert run.worker_pid == pid and run.metrics == {"claimed_by": pid}
        # Each worker takes the oldest queued run, so it sees its runs in queue order.
        order = [queued.index(run_id) for run_id, _, _ in got]
        assert order == sorted(order)
    assert store.counts() == {"finished": n_runs}
    assert not store.has_queued() and store.claim(os.getpid()) is None
    if work_seconds:
        # With a little work per run, the claims really did interleave between processes.
        assert sum(1 for got in by_worker.values() if got) >= 2


def test_twenty_runs_queued_at_once_from_several_processes(pool, home: Path):
    per_proc = 20 // N_PROCS
    ids = [run_id for _, got in run_in_all(pool, enqueue_many, str(home), per_proc)
           for run_id in got]

    runs = Store(home).list_runs()
    assert len(ids) == len(set(ids)) == N_PROCS * per_proc == 20
    assert sorted(r.id for r in runs) == sorted(ids)
    assert all(r.status == "queued" and r.config == CONFIG for r in runs)


def test_twenty_runs_queued_at_once_from_threads(home: Path):
    store = Store(home)
    barrier = threading.Barrier(20)
    ids: list[str] = []
    lock = threading.Lock()

    def enqueue():
        barrier.wait(30)
        run_id = store.enqueue(CONFIG)
        with lock:
            ids.append(run_id)

    threads = [threading.Thread(target=enqueue) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    runs = store.list_runs()
    assert len(ids) == len(set(ids)) == 20
    assert sorted(r.id for r in runs) == sorted(ids)
    assert store.counts() == {"queued": 20}


def test_claim_takes_the_oldest_queued_run_and_skips_ended_ones(home: Path):
    store = Store(home)
    first, second, third = (store.enqueue(make_config(epochs=e)) for e in (1, 2, 3))
    store.request_cancel(first)
    run = store.claim(1234)
    assert run.id == second and run.status == "running" and run.worker_pid == 1234
    assert run.config == make_config(epochs=2) and run.started is not None
    assert store.claim(1234).id == third
    assert store.claim(1234) is None and not store.has_queued()


def test_list_runs_is_newest_first_and_filters_by_status(home: Path):
    store = Store(home)
    ids = [store.enqueue(CONFIG) for _ in range(3)]
    store.claim(os.getpid())  # the oldest becomes running
    assert [r.id for r in store.list_runs()] == ids[::-1]
    assert [r.id for r in store.list_runs(statuses=("running",))] == ids[:1]
    assert [r.id for r in store.list_runs(statuses=("queued",))] == ids[:0:-1]
    assert store.counts() == {"running": 1, "queued": 2}
    assert set(ACTIVE).isdisjoint(ENDED)


# -- cancel and delete ------------------------------------------------------------------------


def test_cancel_of_a_queued_run_is_immediate(home: Path):
    store = Store(home)
    run_id = store.enqueue(CONFIG)
    assert store.request_cancel(run_id) == "cancelled"
    run = store.get(run_id)
    assert run.status == "cancelled" and not run.active
    assert run.finished is not None and run.error
    assert store.claim(os.getpid()) is None  # a worker will never start it


def test_cancel_of_a_running_run_sets_the_flag_the_worker_reads(home: Path):
    store = Store(home)
    run_id = store.enqueue(CONFIG)
    other = store.enqueue(CONFIG)
    store.claim(os.getpid())
    store.claim(os.getpid())
    assert store.cancel_requested(run_id) is False
    # Still running until the worker notices and stops: only the flag changes.
    assert store.request_cancel(run_id) == "running"
    assert store.cancel_requested(run_id) is True
    assert store.get(run_id).status == "running" and store.get(run_id).cancel_requested
    assert store.cancel_requested(other) is False
    store.end(run_id, "cancelled", "Stopped by request.")
    assert store.get(run_id).status == "cancelled"


def test_cancel_leaves_ended_runs_alone_and_reports_unknown_ids(home: Path):
    store = Store(home)
    run_id = store.enqueue(CONFIG)
    store.claim(os.getpid())
    assert store.finish(run_id, {"accuracy": 0.9}, "cpu")
    assert store.request_cancel(run_id) == "finished"
    assert store.get(run_id).metrics == {"accuracy": 0.9}
    assert store.request_cancel("no-such-run") is None


def test_end_does_not_overwrite_a_finished_run(home: Path):
    store = Store(home)
    run_id = store.enqueue(CONFIG)
    store.claim(os.getpid())
    store.finish(run_id, {"accuracy": 1.0}, "cpu")
    store.end(run_id, "failed", "too late")
    run = store.get(run_id)
    assert run.status == "finished" and run.error is None and run.progress == 1


def test_delete_removes_row_epochs_and_artifact_folder(home: Path):
    store = Store(home)
    run_id = store.enqueue(CONFIG)
    keep = store.enqueue(CONFIG)
    store.add_epoch(run_id, 1, {"train_loss": 0.5}, 0.5)
    folder = store.artifact_dir(run_id)
    (folder / "sub").mkdir(parents=True)
    (folder / "weights.safetensors").write_bytes(b"x" * 100)
    (folder / "sub" / "more.bin").write_bytes(b"y")

    store.delete(run_id)
    assert store.get(run_id) is None
    assert not folder.exists()
    assert store.epochs(run_id) == []
    assert [r.id for r in store.list_runs()] == [keep]
    # A worker still training a deleted run is told to stop, and its result is refused.
    assert store.cancel_requested(run_id) is True
    assert store.finish(run_id, {"accuracy": 1.0}, "cpu") is False
    assert store.get(run_id) is None


# -- orphans --------------------------------------------------------------------------------


def test_recover_orphans_marks_dead_workers_runs_interrupted_and_spares_live_ones(home: Path):
    store = Store(home)
    dead = dead_pid()
    orphan = store.enqueue(CONFIG, status="running", pid=dead)
    alive = store.enqueue(CONFIG, status="running", pid=os.getpid())
    queued = store.enqueue(CONFIG)

    assert store.recover_orphans() == [orphan]
    run = store.get(orphan)
    assert run.status == "interrupted" and run.error and run.finished is not None
    assert store.get(alive).status == "running"
    assert store.get(queued).status == "queued"
    assert store.recover_orphans() == []  # nothing left to recover


def test_recover_orphans_treats_a_zombie_worker_as_dead(home: Path):
    store = Store(home)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat = Path(f"/proc/{proc.pid}/stat")
        deadline = time.monotonic() + 30
        while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":  # exited, not reaped
            assert time.monotonic() < deadline
            time.sleep(0.01)
        run_id = store.enqueue(CONFIG, status="running", pid=proc.pid)
        assert store.recover_orphans() == [run_id]
        assert store.get(run_id).status == "interrupted"
    finally:
        proc.wait()


def test_recover_orphans_handles_a_running_run_without_a_worker_pid(home: Path):
    store = Store(home)
    run_id = store.enqueue(CONFIG, status="running", pid=None)
    assert store.recover_orphans() == [run_id]
    assert store.get(run_id).status == "interrupted"


def test_fail_runs_of_ends_only_that_workers_running_runs(home: Path):
    store = Store(home)
    mine = store.enqueue(CONFIG, status="running", pid=111)
    theirs = store.enqueue(CONFIG, status="running", pid=222)
    assert store.fail_runs_of(111, "killed (SIGKILL)") == [mine]
    assert store.get(mine).status == "failed" and store.get(mine).error == "killed (SIGKILL)"
    assert store.get(theirs).status == "running"


# -- progress and epochs -------------------------------------------------------------------


def test_epochs_round_trip(home: Path):
    store = Store(home)
    run_id = store.enqueue(CONFIG)
    other = store.enqueue(CONFIG)
    store.claim(os.getpid())
    history = [
        {"train_loss": 1.0 / e, "train_accuracy": 0.5 + e / 10, "val_loss": 1.5 / e,
         "val_accuracy": 0.4 + e / 10, "seconds": 0.01 * e}
        for e in (1, 2, 3)
    ]
    for e, values in enumerate(history, start=1):
        store.add_epoch(run_id, e, values, e / 3)
    store.add_epoch(other, 1, history[0], 0.2)

    got = store.epochs(run_id)
    assert [row["epoch"] for row in got] == [1, 2, 3]
    for row, values in zip(got, history, strict=True):
        assert row["run_id"] == run_id
        assert {k: row[k] for k in values} == values
    assert store.get(run_id).progress == pytest.approx(1.0)
    # Writing an epoch again replaces it rather than adding a row.
    store.add_epoch(run_id, 2, {**history[1], "val_accuracy": 0.99}, 2 / 3)
    assert [row["val_accuracy"] for row in store.epochs(run_id)][1] == 0.99
    assert len(store.epochs(run_id)) == 3
    both = store.epochs_for([run_id, other])
    assert len(both) == 4 and {row["run_id"] for row in both} == {run_id, other}
    assert store.epochs_for([]) == []


def test_set_progress_only_touches_running_runs(home: Path):
    store = Store(home)
    run_id = store.enqueue(CONFIG)
    store.set_progress(run_id, 0.5, device="cpu")
    assert store.get(run_id).progress == 0  # still queued: ignored
    store.claim(os.getpid())
    store.set_progress(run_id, 0.5, device="CPU (2 cores)")
    store.set_progress(run_id, 0.75)
    run = store.get(run_id)
    assert run.progress == 0.75 and run.device == "CPU (2 cores)" and run.progress_at


def test_run_to_json_carries_config_and_metrics(home: Path):
    store = Store(home)
    run_id = store.enqueue(CONFIG)
    store.claim(os.getpid())
    store.finish(run_id, {"accuracy": 0.5, "confusion_matrix": [[1, 0], [1, 0]]}, "cpu")
    data = store.get(run_id).to_json()
    assert data["run_id"] == run_id and data["status"] == "finished"
    assert data["config"] == CONFIG.model_dump()
    assert data["metrics"]["confusion_matrix"] == [[1, 0], [1, 0]]
    assert data["label"] == CONFIG.label() and data["device"] == "cpu"


def test_pid_alive():
    assert pid_alive(os.getpid())
    assert not pid_alive(None) and not pid_alive(0)
    assert not pid_alive(dead_pid())


def test_default_home_follows_playground_home(home: Path):
    assert Store().home == home.resolve()
    assert (home / "runs.sqlite").exists() and (home / "runs").is_dir()


def test_a_stored_run_loads_as_stored_even_where_todays_rules_refuse_it(home: Path):
    """A mixed-precision run trained on a GPU machine, read on this CPU: it lists, equal to
    its validated self; only queueing it again is refused, with the reason."""
    from playground.training.config import make_config, retrain_problems

    store = Store(home)
    run_id = store.enqueue(CONFIG)
    stored = json.loads(CONFIG.model_dump_json())
    stored["techniques"] = {"mixed_precision": {"dtype": "fp16"}}
    with store._connect() as conn:
        conn.execute("UPDATE runs SET config=? WHERE id=?", (json.dumps(stored), run_id))
    run = store.get(run_id)
    assert run.config.techniques == {"mixed_precision": {"dtype": "fp16"}}
    assert [r.id for r in store.list_runs()] == [run_id]
    problems = retrain_problems(run.config)
    assert problems and any("GPU" in p for p in problems)
    assert store.get(run_id).config == store.get(run_id).config  # loads the same every time
    assert run.config.model_copy(update={"techniques": {}}) == make_config(
        **{**CONFIG.model_dump(), "techniques": {}})
