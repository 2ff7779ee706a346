"""Workers and their supervisor, with real processes: nothing here is mocked.

Each test starts its own Supervisor (or worker subprocess) on a fresh store and stops it
in teardown. Waits poll the store against a generous deadline; no sleep is an assertion.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, TypeVar

import pytest

from playground.runs.store import Run, Store, pid_alive
from playground.runs.supervisor import Supervisor
from playground.runs.worker import APP_WORKER_NICENESS
from playground.training.config import make_config

ROOT = Path(__file__).resolve().parent.parent
DEADLINE = 60.0
T = TypeVar("T")

# Small and quick once the worker is up.
SHORT = dict(dataset="wine", model="logreg", epochs=2)
# Digits with a CNN, tiny batches and the most epochs allowed: tens of seconds of
# training, so it is surely still running when a test kills or cancels it.
LONG = dict(dataset="digits", model="cnn", epochs=200, batch_size=16)


def wait_for(check: Callable[[], T], what: str, timeout: float = DEADLINE) -> T:
    """Poll `check` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def wait_status(store: Store, run_id: str, statuses: tuple[str, ...],
                timeout: float = DEADLINE) -> Run:
    """Poll until the run has one of `statuses`; fail saying where it got stuck."""
    deadline = time.monotonic() + timeout
    while True:
        run = store.get(run_id)
        if run is not None and run.status in statuses:
            return run
        if time.monotonic() > deadline:
            pytest.fail(f"run {run_id} not {'/'.join(statuses)} after {timeout:.0f} s: "
                        f"status {run and run.status}, error {run and run.error}")
        time.sleep(0.1)


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    assert proc.wait(30) == 0
    assert not pid_alive(proc.pid)
    return proc.pid


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "home")


@pytest.fixture
def start_supervisor():
    """Start supervisors on demand; every one is stopped at teardown, whatever happened."""
    started: list[Supervisor] = []

    def start(store: Store, workers: int = 1) -> Supervisor:
        sup = Supervisor(store, workers=workers)
        started.append(sup)
        return sup.start()

    yield start
    for sup in started:
        sup.stop()
        for pid in sup.pids():
            assert not pid_alive(pid), f"worker {pid} outlived supervisor.stop()"


def running_on_worker(store: Store, run_id: str, sup: Supervisor) -> Run:
    def check() -> Run | None:
        run = store.get(run_id)
        if run and run.status == "running" and run.worker_pid in sup.pids():
            return run
        return None

    return wait_for(check, f"run {run_id} to be running on one of the workers")


def test_supervised_worker_trains_a_queued_run(store, start_supervisor):
    sup = start_supervisor(store)
    assert sup.alive() == 1
    config = make_config(**SHORT)
    run_id = store.enqueue(config)

    run = wait_status(store, run_id, ("finished", "failed", "cancelled", "interrupted"))

    assert run.status == "finished", run.error
    assert run.worker_pid in sup.pids()
    assert run.error is None
    assert run.progress == 1
    assert run.config == config
    assert 0.0 <= run.metrics["accuracy"] <= 1.0
    assert run.metrics["epochs_run"] == config.epochs
    assert [e["epoch"] for e in store.epochs(run_id)] == list(range(1, config.epochs + 1))
    assert (store.artifact_dir(run_id) / "weights.safetensors").is_file()
    assert sup.restarts == 0
    # The app's own workers train at a lower priority than the page server.
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, run.worker_pid) == min(19, ours + APP_WORKER_NICENESS)


def test_killed_worker_fails_its_run_and_is_replaced(store, start_supervisor):
    sup = start_supervisor(store)
    run_id = store.enqueue(make_config(**LONG))
    victim = running_on_worker(store, run_id, sup).worker_pid

    os.kill(victim, signal.SIGKILL)

    run = wait_status(store, run_id, ("failed",), timeout=15)
    assert "killed" in run.error and "SIGKILL" in run.error, run.error
    assert run.finished is not None
    replacement = wait_for(
        lambda: [p for p in sup.pids() if p != victim and pid_alive(p)],
        "a replacement worker",
    )
    assert victim not in sup.pids()
    assert not pid_alive(victim)
    assert len(replacement) == 1
    assert sup.restarts == 1

    # The replacement picks up new work.
    next_id = store.enqueue(make_config(**SHORT))
    after = wait_status(store, next_id, ("finished", "failed"))
    assert after.status == "finished", after.error
    assert after.worker_pid == replacement[0]
    # The killed run stays failed: nobody retried or overwrote it.
    assert store.get(run_id).status == "failed"


def test_cancel_stops_a_running_run(store, start_supervisor):
    sup = start_supervisor(store)
    run_id = store.enqueue(make_config(**LONG))
    running_on_worker(store, run_id, sup)
    asked = time.monotonic()

    assert store.request_cancel(run_id) == "running"  # asked; the worker stops it

    run = wait_status(store, run_id, ("cancelled", "finished", "failed"), timeout=20)
    assert run.status == "cancelled", run.error
    assert time.monotonic() - asked < 15
    assert run.cancel_requested
    assert run.error
    # The worker survives the cancellation and trains the next run.
    worker = run.worker_pid
    next_id = store.enqueue(make_config(**SHORT))
    after = wait_status(store, next_id, ("finished", "failed"))
    assert after.status == "finished", after.error
    assert after.worker_pid == worker
    assert sup.restarts == 0


def test_cancel_of_a_queued_run_never_trains_it(store, start_supervisor):
    # No supervisor yet: the run is surely still queued when cancelled.
    run_id = store.enqueue(make_config(**SHORT))
    assert store.request_cancel(run_id) == "cancelled"
    sup = start_supervisor(store)
    marker = store.enqueue(make_config(**SHORT))
    assert wait_status(store, marker, ("finished", "failed")).status == "finished"
    run = store.get(run_id)
    assert run.status == "cancelled"
    assert run.started is None and run.worker_pid is None
    assert store.epochs(run_id) == []
    assert sup.restarts == 0


def test_restart_marks_orphans_interrupted_and_trains_queued_runs(store, start_supervisor):
    gone = dead_pid()
    orphan = store.enqueue(make_config(**SHORT), status="running", pid=gone)
    queued = store.enqueue(make_config(**SHORT))
    assert store.get(orphan).status == "running"

    start_supervisor(store)

    # Recovery happens in start(), before any worker could have touched the store.
    run = store.get(orphan)
    assert run.status == "interrupted"
    assert run.error and "stopped" in run.error
    assert run.finished is not None
    done = wait_status(store, queued, ("finished", "failed"))
    assert done.status == "finished", done.error
    assert store.get(orphan).status == "interrupted"  # not picked up again


def test_run_that_raises_fails_and_the_worker_carries_on(store, start_supervisor):
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA to make device='cuda' fail")
    sup = start_supervisor(store)
    bad = store.enqueue(make_config(**SHORT, device="cuda"))
    good = store.enqueue(make_config(**SHORT))

    failed = wait_status(store, bad, ("failed", "finished"))
    assert failed.status == "failed"
    first_line = failed.error.partition("\n\n")[0]
    assert first_line.startswith("RuntimeError: ")
    assert "CUDA" in first_line and "no usable GPU" in first_line
    assert "Traceback" in failed.error  # details for the expander

    done = wait_status(store, good, ("finished", "failed"))
    assert done.status == "finished", done.error
    assert done.worker_pid == failed.worker_pid
    assert pid_alive(done.worker_pid)
    assert sup.restarts == 0


def test_cli_worker_trains_one_run_then_exits(store):
    first = store.enqueue(make_config(**SHORT))
    second = store.enqueue(make_config(**SHORT))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    proc = subprocess.run(
        [sys.executable, "-m", "playground", "--home", str(store.home), "worker",
         "--max-runs", "1", "--threads", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert str(store.home) in proc.stderr  # it says where it serves from
    run = store.get(first)
    assert run.status == "finished", run.error
    assert run.worker_pid != os.getpid()
    assert store.get(second).status == "queued"  # --max-runs 1 means exactly one
