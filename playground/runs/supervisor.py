"""Starts and watches local worker processes: one supervisor per app server.

A worker that dies (even by kill -9) has its run marked failed with the reason, and a
replacement is started. At start-up, runs orphaned by an earlier shutdown are marked
interrupted and queued runs are picked up again.
"""
from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from playground.runs.store import Store

ROOT = Path(__file__).resolve().parents[2]  # the repository: the workers' cwd
# Set, the app starts one Ray dispatcher (ray_executor.py) instead of local workers.
RAY_ADDRESS_ENV = "PLAYGROUND_RAY_ADDRESS"


def default_worker_count() -> int:
    value = os.environ.get("PLAYGROUND_WORKERS")
    if value is not None:
        return max(0, int(value))
    return 1 if (os.cpu_count() or 1) <= 2 else 2


def worker_threads(workers: int) -> int:
    """Torch threads per worker. One core stays with the app itself: on a 2-core machine
    two torch threads per worker fought the server and each other (a DP story run took
    55 s vs 2.3 s)."""
    return max(1, ((os.cpu_count() or 1) - 1) // max(1, workers))


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"The worker process training this run was killed ({name})."
    return f"The worker process training this run exited unexpectedly (exit code {code})."


class Supervisor:
    def __init__(self, store: Store, workers: int | None = None, check_every: float = 0.3):
        self.store = store
        self.size = default_worker_count() if workers is None else workers
        if os.environ.get(RAY_ADDRESS_ENV) and self.size:
            self.size = 1  # the dispatcher; Ray runs the work
        self.threads = worker_threads(self.size)
        self.check_every = check_every
        self.procs: list[subprocess.Popen] = []
        self._born: dict[int, float] = {}  # pid -> start time, to spot crash loops
        self._hold_until = 0.0
        self.restarts = 0
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def _spawn(self) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "playground", "--home", str(self.store.home), "worker",
               "--threads", str(self.threads), "--parent-pid", str(os.getpid())]
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        env = dict(os.environ, PYTHONPATH=path)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
        self._born[proc.pid] = time.monotonic()
        return proc

    def start(self) -> "Supervisor":
        self.store.recover_orphans()
        self.store.prune_jobs()
        with self._lock:
            self.procs = [self._spawn() for _ in range(self.size)]
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()
        atexit.register(self.stop)
        return self

    def check(self) -> None:
        """Replace dead workers, failing whatever they were training."""
        with self._lock:
            for i, proc in enumerate(self.procs):
                code = proc.poll()
                if code is None or self._stopped.is_set():
                    continue
                self.store.fail_runs_of(proc.pid, describe_exit(code))
                now = time.monotonic()
                if now < self._hold_until:
                    continue
                if now - self._born.pop(proc.pid, 0.0) < 2.0:
                    # Died right after starting: something is broken; don't spin.
                    self._hold_until = now + 10.0
                    print(f"playground: a worker exited at start-up (code {code}); "
                          "retrying in 10 s", file=sys.stderr)
                    continue
                self.procs[i] = self._spawn()
                self.restarts += 1

    def _watch(self) -> None:
        while not self._stopped.wait(self.check_every):
            try:
                self.check()
            except Exception as exc:  # keep watching whatever happens
                print(f"playground supervisor: {exc}", file=sys.stderr)

    def pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self.procs]

    def alive(self) -> int:
        with self._lock:
            return sum(p.poll() is None for p in self.procs)

    def stop(self, timeout: float = 5.0) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        with self._lock:
            for p in self.procs:
                if p.poll() is None:
                    p.terminate()
            deadline = time.time() + timeout
            for p in self.procs:
                try:
                    p.wait(max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
