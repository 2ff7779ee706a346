"""Runs and jobs on a Ray cluster instead of local worker processes.

`python -m playground worker --ray ADDRESS` (what the app starts when PLAYGROUND_RAY_ADDRESS
is set) is the head's dispatcher: it claims work from the store's one queue only when
the cluster has a free slot, so whose turn it is stays the store's decision, and sends
each item to Ray as a task that runs the worker's own `execute` / JobDesk against a
NodeStore (see parcel.py). The task streams its writes back (a Ray streaming generator);
the dispatcher alone writes the SQLite store. Datasets go through the object store, put
once per dataset (a text dataset with its tokenizer inside, pickled as its JSON, so a node
never fits one of its own); the files of the runs the work reads travel in its parcel.

ADDRESS is `local` (a private Ray instance in this process, stopped on exit), `auto`, or
`host:port` of a running cluster (`ray start --head`). A task never retries (a run is never
silently run twice); a Ray worker or node that dies fails its run with the reason; a cancel
reaches the task with `ray.cancel`.
"""
from __future__ import annotations

import functools
import importlib
import os
import queue
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from playground.data.catalog import use_shipped
from playground.runs import parcel as P
from playground.runs.jobs import HEAD_ONLY
from playground.runs.records import Job, Run
from playground.runs.store import Store
from playground.runs.supervisor import RAY_ADDRESS_ENV, default_worker_count
from playground.runs.worker import APP_WORKER_NICENESS, JobDesk, execute

ADDRESS_ENV = RAY_ADDRESS_ENV
# Several small runs share a GPU: each asks for this much of one.
GPU_SHARE = float(os.environ.get("PLAYGROUND_RAY_GPU_SHARE", "0.25"))
OBJECT_STORE_BYTES = 128 * 1024 ** 2  # datasets and weights here are a few MB
POLL_SECONDS = 0.05
CANCEL_EVERY = 0.2
RESOURCES_EVERY = 2.0  # nodes may join or leave
ROOT = Path(__file__).resolve().parents[2]


def connect(address: str, cpus: int | None = None) -> None:
    """Join (or, for `local`, start) the Ray cluster this process sends work to."""
    import ray  # only the Ray executor pays for importing Ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # A node elsewhere has the same packages installed, not our code: ship our packages.
    runtime_env = {"py_modules": [str(ROOT / "playground"), str(ROOT / "models")]}
    if address == "local":
        ray.init(num_cpus=cpus or default_worker_count() or 1, include_dashboard=False,
                 object_store_memory=OBJECT_STORE_BYTES, runtime_env=runtime_env,
                 log_to_driver=False)
    else:
        ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)


def node_name() -> str:
    import ray

    return f"{socket.gethostname()} ({ray.util.get_node_ip_address()}, Ray node " \
           f"{ray.get_runtime_context().get_node_id()[:8]})"


def work_on_node(parcel: P.Parcel, datasets: dict):
    """The Ray task: do one run or job here, yielding its writes as they happen."""
    import ray

    for module in parcel.modules:  # the features that registered the job's kind
        importlib.import_module(module)
    use_shipped(dict(zip(datasets, ray.get(list(datasets.values())), strict=True)))
    events: queue.SimpleQueue = queue.SimpleQueue()
    with tempfile.TemporaryDirectory(prefix="playground-node-") as home:
        store = P.NodeStore(home, parcel, events.put)
        item = parcel.item

        def work() -> None:
            try:
                if isinstance(item, Run):
                    execute(store, item, executor=("ray", node_name()))
                else:
                    JobDesk(store).execute(item)
            finally:
                events.put(None)

        thread = threading.Thread(target=work, name="playground-work", daemon=True)
        thread.start()
        try:
            while True:
                try:  # a timeout, so ray.cancel's interrupt is seen promptly
                    event = events.get(timeout=0.2)
                except queue.Empty:
                    continue
                if event is None:
                    break
                yield event
        except BaseException:  # cancelled: let the loop stop at its next check
            store.cancelled.set()
            thread.join(timeout=30)
            raise
        thread.join()


@functools.cache
def _task():
    import ray

    return ray.remote(max_retries=0)(work_on_node)


def describe_failure(exc: BaseException, what: str) -> str:
    import ray

    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, ray.exceptions.NodeDiedError):
        return f"The Ray node running this {what} went away ({first})."
    if isinstance(exc, ray.exceptions.WorkerCrashedError):
        return f"The Ray worker process running this {what} died ({first})."
    return f"Ray could not run this {what}: {type(exc).__name__}: {first}"


class Dispatcher:
    """Sends the store's queued work to Ray, a slot at a time, and records what comes back."""

    def __init__(self, store: Store):
        import ray

        self.ray = ray
        self.store = store
        self._desk = JobDesk(store)  # head-only jobs
        self.pid = os.getpid()
        self.inflight: dict[Any, Run | Job] = {}  # streaming generator -> its item
        self._cancelled: set[str] = set()
        self._dataset_refs: dict[P.DatasetKey, Any] = {}
        self._slots, self._options = 0, {}
        self._resources_at = self._cancels_at = 0.0
        self.done = 0

    def _refresh_resources(self) -> None:
        resources = self.ray.cluster_resources()
        cpus, gpus = int(resources.get("CPU", 0)), resources.get("GPU", 0.0)
        if gpus >= GPU_SHARE:
            self._options = {"num_cpus": 1, "num_gpus": GPU_SHARE}
            self._slots = min(cpus, int(gpus / GPU_SHARE))
        else:
            self._options = {"num_cpus": 1}
            self._slots = cpus
        self._resources_at = time.monotonic()

    def _dataset_ref(self, key: P.DatasetKey):
        if key not in self._dataset_refs:  # put once, shared by every task that needs it
            self._dataset_refs[key] = self.ray.put(P.load_datasets([key])[key])
        return self._dataset_refs[key]

    def submit(self, item: Run | Job) -> None:
        if isinstance(item, Job) and item.kind in HEAD_ONLY:
            # It reads files only this machine has: done here, beside the dispatch loop.
            threading.Thread(target=self._desk.execute, args=(item,), daemon=True).start()
            return
        try:
            parcel = P.pack(self.store, item)
            datasets = {key: self._dataset_ref(key) for key in parcel.dataset_keys}
        except Exception as exc:  # e.g. an upload deleted since it was queued
            self._end(item, "failed", f"{type(exc).__name__}: {exc}")
            return
        options = dict(self._options)
        if isinstance(item, Run) and item.config.device == "cpu":
            options.pop("num_gpus", None)
        gen = _task().options(**options).remote(parcel, datasets)
        self.inflight[gen] = item

    def _end(self, item: Run | Job, status: str, reason: str) -> None:
        if isinstance(item, Run):
            self.store.end(item.id, status, reason)
        else:
            self.store.end_job(item.id, status, reason)

    def _advance(self, gen) -> None:
        """Take the generator's next event (it is ready) and replay it."""
        item = self.inflight[gen]
        try:
            event = self.ray.get(next(gen))
        except StopIteration:
            self.inflight.pop(gen)
            self._ended(item, None)
            return
        except Exception as exc:
            self.inflight.pop(gen)
            self._ended(item, exc)
            return
        P.apply(self.store, event)

    def _ended(self, item: Run | Job, exc: BaseException | None) -> None:
        what = "run" if isinstance(item, Run) else "job"
        if isinstance(item, Run):
            self.done += 1
        if item.id in self._cancelled or isinstance(exc, self.ray.exceptions.TaskCancelledError):
            self._cancelled.discard(item.id)
            self._end(item, "cancelled", "Stopped by request." if what == "run"
                      else "Replaced by a newer request.")
        elif exc is not None:
            self._end(item, "failed", describe_failure(exc, what))
        else:  # the work ended without saying how (it always should): never leave it running
            self._end(item, "failed", f"The Ray task ended without finishing this {what}.")

    def _forward_cancels(self) -> None:
        for gen, item in self.inflight.items():
            if item.id in self._cancelled:
                continue
            if isinstance(item, Run):
                wanted = self.store.cancel_requested(item.id) or self.store.get(item.id) is None
            else:
                wanted = self.store.job_cancel_requested(item.id)
            if wanted:
                self._cancelled.add(item.id)
                self.ray.cancel(gen)
        self._cancels_at = time.monotonic()

    def step(self) -> None:
        """One round: fill free slots from the queue, replay what came back, pass cancels."""
        now = time.monotonic()
        if now - self._resources_at >= RESOURCES_EVERY:
            self._refresh_resources()
        while len(self.inflight) < self._slots and self.store.has_queued():
            item = self.store.claim_next(self.pid)
            if item is None:
                break
            self.submit(item)
        if not self.inflight:
            time.sleep(POLL_SECONDS)
            return
        ready, _ = self.ray.wait(list(self.inflight), num_returns=len(self.inflight),
                                 timeout=POLL_SECONDS, fetch_local=False)
        for gen in ready:
            self._advance(gen)
        if time.monotonic() - self._cancels_at >= CANCEL_EVERY:
            self._forward_cancels()

    def interrupt_all(self) -> None:
        """Stopping: end what is in flight as interrupted (it is not run again)."""
        for gen, item in list(self.inflight.items()):
            self.ray.cancel(gen, force=True)
            self._end(item, "interrupted", f"The Ray dispatcher was stopped during this "
                      f"{'run' if isinstance(item, Run) else 'job'}.")
        self.inflight.clear()


def serve(store: Store, address: str, max_runs: int | None = None,
          parent_pid: int | None = None, cpus: int | None = None) -> None:
    """Dispatch queued work to Ray until stopped (SIGTERM / Ctrl-C) or `max_runs` ended."""
    def _stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    if parent_pid is not None:  # started by the app: pages first, as its local workers do
        os.nice(APP_WORKER_NICENESS)  # before Ray starts, so its processes inherit it
    connect(address, cpus)
    import ray

    print(f"Ray dispatcher {os.getpid()} sending runs from {store.home} to "
          f"{address} ({ray.cluster_resources().get('CPU', 0):g} CPUs, "
          f"{ray.cluster_resources().get('GPU', 0):g} GPUs)", file=sys.stderr)
    dispatcher = Dispatcher(store)
    try:
        while max_runs is None or dispatcher.done < max_runs:
            if parent_pid is not None and os.getppid() != parent_pid:
                break  # the app that started us is gone
            dispatcher.step()
    finally:
        dispatcher.interrupt_all()
        ray.shutdown()
