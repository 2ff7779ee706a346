"""Real processes for the store's concurrency tests: a pool started with 'spawn' (the
`pool` fixture in conftest.py) and the functions its children run, at module level so that
'spawn' can import them."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from playground.runs.schema import version
from playground.runs.store import Store, pid_alive
from playground.training.config import make_config

CONFIG = make_config(dataset="moons", model="mlp", epochs=3)
N_PROCS = 4

_barrier = None  # in each child: the barrier shared with the test process


def init_child(barrier) -> None:
    global _barrier
    _barrier = barrier
    barrier.wait(180)  # this process has imported everything and is ready


def together() -> None:
    """Wait until every child and the test are here, so store calls really overlap."""
    _barrier.wait(60)


def claim_until_empty(home: str, work_seconds: float):
    store = Store(home)
    pid = os.getpid()
    together()
    got = []
    while (run := store.claim(pid)) is not None:
        got.append((run.id, run.status, run.worker_pid))
        if work_seconds:
            time.sleep(work_seconds)  # "training", so the other workers get a turn
        store.finish(run.id, {"claimed_by": pid}, "test device")
    return pid, got


def open_store(home: str):
    together()
    store = Store(home)  # every child migrates the same old file at the same moment
    with store._connect() as conn:
        return os.getpid(), version(conn)


def enqueue_many(home: str, count: int):
    together()
    store = Store(home)  # every child opens the (fresh) database at the same moment
    return os.getpid(), [store.enqueue(CONFIG) for _ in range(count)]


def run_in_all(pool, fn, *args) -> list:
    """Call fn(*args) once in each pool process; they start together at the barrier."""
    p, barrier = pool
    pending = [p.apply_async(fn, args) for _ in range(N_PROCS)]
    barrier.wait(60)  # releases only when every process holds one task: one task each
    results = [r.get(timeout=120) for r in pending]
    assert len({pid for pid, _ in results}) == N_PROCS
    return results


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not pid_alive(proc.pid)
    return proc.pid
