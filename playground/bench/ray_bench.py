"""Ray against the local worker, side by side: one default run queued → finished (warm), and
the time to drain 20 default runs (2 Ray workers against 1 local worker).

Part of `make bench`; alone: `scripts/private-network python -m playground.bench.ray_bench
--out BENCHMARKS.md` replaces only its own block. Ray runs in a private network namespace
(scripts/private-network), where it stays on loopback.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from playground.bench import blocks
from playground.bench.blocks import markers
from playground.runs.store import Store
from playground.runs.supervisor import RAY_ADDRESS_ENV, ROOT, Supervisor
from playground.training.config import make_config

START, END = markers("ray")
DRAIN_RUNS = 20
ROUNDS = 3


def _finished(store: Store, run_id: str, timeout: float = 600.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = store.get(run_id)
        if run is not None and not run.active:
            if run.status != "finished":
                raise RuntimeError(f"benchmark run {run_id} {run.status}: {run.error}")
            return run
        time.sleep(0.005)
    raise TimeoutError(f"benchmark run {run_id} did not finish in {timeout:.0f} s")


@contextmanager
def local_workers(home: Path, workers: int):
    env = os.environ.pop(RAY_ADDRESS_ENV, None)
    supervisor = Supervisor(Store(home), workers=workers).start()
    try:
        yield
    finally:
        supervisor.stop()
        if env is not None:
            os.environ[RAY_ADDRESS_ENV] = env


@contextmanager
def ray_dispatcher(home: Path, cpus: int):
    env = dict(os.environ, PYTHONPATH=str(ROOT), RAY_USAGE_STATS_ENABLED="0")
    proc = subprocess.Popen([sys.executable, "-m", "playground", "--home", str(home), "worker",
                             "--ray", "local", "--cpus", str(cpus),
                             # as the app starts it (at the same niceness as its workers)
                             "--parent-pid", str(os.getpid())], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(60)


def one_run(home: Path) -> dict:
    """Warm (first run not timed), then queued → finished for the default run, median."""
    store = Store(home)
    _finished(store, store.enqueue(make_config()))
    times = []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        _finished(store, store.enqueue(make_config()))
        times.append(time.perf_counter() - t0)
    return {"done_s": statistics.median(times)}


def drain(home: Path) -> dict:
    """Warm, then queue 20 default runs at once: seconds until the last one finished."""
    store = Store(home)
    _finished(store, store.enqueue(make_config(epochs=1)))
    t0 = time.perf_counter()
    ids = [store.enqueue(make_config(seed=i)) for i in range(DRAIN_RUNS)]
    for run_id in ids:
        _finished(store, run_id)
    return {"drain_s": time.perf_counter() - t0}


def measure() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        with local_workers(tmp / "local1", 1):
            local = one_run(tmp / "local1") | drain(tmp / "local1")
        with ray_dispatcher(tmp / "ray1", 1):
            ray_one = one_run(tmp / "ray1")
        with ray_dispatcher(tmp / "ray2", 2):
            ray_two = drain(tmp / "ray2")
    return {"local": local, "ray_one": ray_one, "ray_two": ray_two}


def markdown(r: dict) -> list[str]:
    ratio = r["ray_one"]["done_s"] / r["local"]["done_s"]
    speedup = r["local"]["drain_s"] / r["ray_two"]["drain_s"]
    return [
        START,
        "## (e) Ray against the local worker",
        "",
        "The default run (digits, CNN, 10 epochs) through the real dispatcher "
        "(`worker --ray local`: a private Ray on this machine) and through one local worker "
        "process; each warmed by one run first, the same store and queue. On Ray every run "
        "also ships its dataset (object store) and streams each write back to the head.",
        "",
        "| measure | local worker | Ray | ratio |",
        "|---|---|---|---|",
        f"| queued → finished, one default run (median of {ROUNDS}, 1 slot each) | "
        f"{r['local']['done_s']:.2f} s | {r['ray_one']['done_s']:.2f} s | "
        f"{ratio:.2f} (goal ≤ 1.5: {'met' if ratio <= 1.5 else 'missed'}) |",
        f"| {DRAIN_RUNS} default runs queued at once, until the last finished "
        f"(1 local worker; 2 Ray workers) | {r['local']['drain_s']:.1f} s | "
        f"{r['ray_two']['drain_s']:.1f} s | {speedup:.2f}× faster on Ray |",
        "",
        f"This machine has {os.cpu_count()} cores, so 2 Ray workers share them with the "
        "dispatcher and the bench itself.",
        END,
    ]


def main(argv: list[str] | None = None) -> int:
    return blocks.main("ray", __doc__, measure, markdown, argv)


if __name__ == "__main__":
    raise SystemExit(main())
