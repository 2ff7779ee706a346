"""A long-lived worker: claims queued runs and jobs (explanations) from the store's one fair
queue and does them one at a time.

Torch is imported once when the worker starts, so a queued run begins within a poll
interval. A run that raises is marked failed with its reason; the worker carries on. A run
past its wall-clock limit (its own, or the server's) is stopped between batches and marked
failed with "time limit", keeping the epochs it reported. The models a job loads stay
loaded for the next one.
"""
from __future__ import annotations

import os
import signal
import socket
import time
import traceback

from playground.common import device as devices
from playground.common.server_settings import run_minutes
from playground.data.catalog import load_dataset
from playground.runs.jobs import JOB_KINDS
from playground.runs.store import Job, Run, Store
from playground.training.loop import Cancelled, train
from playground.training.privacy import EpsilonService

POLL_SECONDS = 0.1
PROGRESS_EVERY = 0.25  # seconds between progress writes
CANCEL_EVERY = 0.2  # seconds between cancellation checks
# Workers the app starts share its cores: a page drawn late is felt by everyone in the room,
# a run that ends a moment later by no one (cores the server leaves idle still all train).
APP_WORKER_NICENESS = 10


class StoreReporter:
    """Reports progress into the store, throttled so the loop stays fast, and says when to
    stop: a cancel request, or the run's time limit (`limit_s`) passed."""

    def __init__(self, store: Store, run_id: str, limit_s: float | None = None):
        self.store = store
        self.run_id = run_id
        self._last_progress = 0.0
        self._last_cancel_check = time.monotonic()
        self._stop = False
        self._deadline = None if limit_s is None else time.monotonic() + limit_s
        self.timed_out = False

    def progress(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_EVERY:
            self._last_progress = now
            self.store.set_progress(self.run_id, fraction)

    def epoch(self, epoch: int, values: dict[str, float], fraction: float) -> None:
        self.store.add_epoch(self.run_id, epoch, values, fraction)

    def should_stop(self) -> bool:
        now = time.monotonic()
        if not self._stop and now - self._last_cancel_check >= CANCEL_EVERY:
            self._last_cancel_check = now
            self._stop = self.store.cancel_requested(self.run_id)
        if not self._stop and self._deadline is not None and time.monotonic() > self._deadline:
            self._stop = self.timed_out = True
        return self._stop


def time_limit_s(store: Store, run: Run) -> float:
    """Seconds `run` may train: its own limit (a workshop's), else the server's."""
    return run.time_limit or run_minutes(getattr(store, "home", None)) * 60


def limit_words(seconds: float) -> str:
    minutes = seconds / 60
    return (f"{minutes:g} minute{'s' * (minutes != 1)}" if minutes >= 1 else
            f"{seconds:g} second{'s' * (seconds != 1)}")


def execute(store: Store, run: Run, reporter: StoreReporter | None = None,
            executor: tuple[str, str] | None = None,
            epsilons: EpsilonService | None = None) -> str:
    """Train a claimed run and record how it ended. Returns the final status.

    `executor` says where it runs: (local, this machine) unless a Ray node says otherwise.
    `epsilons`: the worker's ε service, which remembers DP answers from run to run.
    """
    limit = time_limit_s(store, run)
    reporter = reporter or StoreReporter(store, run.id, limit)
    store.set_executor(run.id, *(executor or ("local", socket.gethostname())))
    try:
        store.set_progress(run.id, 0.0, device=devices.describe(run.config.device))
        result = train(run.config, reporter, out_dir=store.artifact_dir(run.id), store=store,
                       epsilons=epsilons)
    except Cancelled:
        if getattr(reporter, "timed_out", False):
            store.end(run.id, "failed", f"Stopped at its time limit ({limit_words(limit)}): "
                      "the epochs it finished are kept. Try fewer epochs or a smaller "
                      "model.")
            return "failed"
        store.end(run.id, "cancelled", "Stopped by request.")
        return "cancelled"
    except Exception as exc:  # a bad run must never take the worker down
        reason = f"{type(exc).__name__}: {exc}"
        store.end(run.id, "failed", reason + "\n\n" + traceback.format_exc(limit=5))
        return "failed"
    if not store.finish(run.id, result.metrics, result.metrics["device"]):
        # Deleted while training: drop what we wrote.
        store.delete(run.id)
        return "deleted"
    return "finished"


class JobDesk:
    """What a worker keeps between jobs: one handler per kind (with what it loaded)."""

    def __init__(self, store: Store):
        self.store = store
        self._handlers: dict = {}

    def execute(self, job: Job) -> str:
        """Do a claimed job and record how it ended. Returns the final status."""
        try:
            if job.kind not in JOB_KINDS:
                raise ValueError(f"this worker does not know jobs of kind {job.kind!r} "
                                 f"(it knows {', '.join(JOB_KINDS.names()) or 'none'})")
            if job.kind not in self._handlers:
                self._handlers[job.kind] = JOB_KINDS.get(job.kind)(self.store)
            return self._handlers[job.kind](job)
        except Exception as exc:  # never take the worker down
            self.store.end_job(job.id, "failed", f"{type(exc).__name__}: {exc}")
            return "failed"


def drain_jobs(store: Store, desk: JobDesk | None = None) -> int:
    """Do every waiting job here and now, in queue order (the CLI, tests); returns how many."""
    desk = desk or JobDesk(store)
    done = 0
    while (job := store.claim_next(os.getpid(), kinds=("job",))) is not None:
        desk.execute(job)
        done += 1
    return done


def serve(store: Store, threads: int | None = None, max_runs: int | None = None,
          parent_pid: int | None = None) -> None:
    """Claim and execute runs until stopped (SIGTERM / Ctrl-C) or `max_runs` are done.

    With `parent_pid` (the app that started us), exit once that process is gone.
    """
    import torch

    if parent_pid is not None:  # before torch starts its thread pool, which inherits it
        os.nice(APP_WORKER_NICENESS)
    if threads:
        torch.set_num_threads(threads)
    # Pay the import and first-load costs now, not when the first run is queued.

    load_dataset("digits", 0)

    def _stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    pid = os.getpid()
    desk = JobDesk(store)
    # ε answers remembered across this worker's runs, and the helper process that works
    # them out while a model trains; stopped with the worker.
    epsilons = EpsilonService()
    try:
        _serve_loop(store, pid, desk, epsilons, max_runs, parent_pid)
    finally:
        epsilons.close()


def _serve_loop(store: Store, pid: int, desk: JobDesk, epsilons: EpsilonService,
                max_runs: int | None, parent_pid: int | None) -> None:
    done = 0
    while True:
        if parent_pid is not None and os.getppid() != parent_pid:
            break  # the app that started us is gone
        # Idle polls only read; the claim (a write) happens when there is work.
        item = store.claim_next(pid) if store.has_queued() else None
        if item is None:
            time.sleep(POLL_SECONDS)
            continue
        if isinstance(item, Job):
            try:
                desk.execute(item)
            except BaseException:
                store.end_job(item.id, "interrupted", "The worker was stopped during this job.")
                raise
            continue
        try:
            execute(store, item, epsilons=epsilons)
        except BaseException:
            # SIGTERM or Ctrl-C mid-run: say so instead of leaving the run "running".
            store.end(item.id, "interrupted", "The worker was stopped while training this run.")
            raise
        done += 1
        if max_runs is not None and done >= max_runs:
            break
