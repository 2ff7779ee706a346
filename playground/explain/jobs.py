"""Explanations are computed by the workers, never by the app's server.

The page asks for the explanations it needs; what the cache lacks goes into the run store
as one job (in the same fair queue as runs), which a worker process computes into the
cache, request by request, reporting progress. The page polls `progress` (from the
server's shared snapshot of waiting and running jobs) and reads finished maps from the
cache. A method that fails leaves a plain message for its cell and never stops the job.
A session that asks for something new drops its own older, unstarted requests.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from playground.explain import methods as M
from playground.explain.cache import GLOBAL_EXAMPLES, ExplanationCache, Request
from playground.explain.subjects import ModelBank
from playground.runs.jobs import JOB_KINDS, JOB_RUNS
from playground.runs.store import Job, Store

KIND = "explain"


def global_rows(X_test: np.ndarray, n: int = GLOBAL_EXAMPLES) -> np.ndarray:
    """Evenly spaced test examples (a fixed choice, so the global view is cacheable)."""
    if len(X_test) <= n:
        return X_test
    return X_test[np.linspace(0, len(X_test) - 1, n).round().astype(int)]


def global_importance(subject: M.Subject, X: np.ndarray, method: str,
                      options: dict) -> M.Attribution:
    """Mean |attribution| over examples, each explained for the class the model chose."""
    targets = subject.probs(X).argmax(1)
    maps = [M.explain(subject, x, method, int(t), options) for x, t in zip(X, targets, strict=True)]
    values = np.mean([np.abs(m.values) for m in maps], axis=0)
    return M.Attribution(method, values, -1, sum(m.seconds for m in maps),
                         {"examples": len(maps)})


def compute(bank: ModelBank, request: Request) -> M.Attribution:
    subject = bank.subject(request.run_id, request.variant)
    if request.is_global:
        X = global_rows(bank.loaded(request.run_id).data.X_test)
        return global_importance(subject, X, request.method, request.settings)
    return M.explain(subject, request.x, request.method, request.target, request.settings,
                     text=request.text)


def explain_cached(bank: ModelBank, cache: ExplanationCache,
                   request: Request) -> tuple[M.Attribution, bool]:
    """(attribution, came from the cache)."""
    found = cache.get(request)
    if found is not None:
        return found, True
    attribution = compute(bank, request)
    cache.put(request, attribution)
    return attribution, False


def plain_error(exc: BaseException) -> str:
    if isinstance(exc, (M.GradientsUnavailable, ValueError)):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@dataclass
class Progress:
    total: int
    done: int
    failed: int
    running: str | None = None  # what a worker computes now, if it is one of these
    errors: dict[str, str] = field(default_factory=dict)  # request key -> message

    @property
    def finished(self) -> bool:
        return self.done + self.failed >= self.total


# -- in a worker ----------------------------------------------------------------------------


@JOB_KINDS.register(KIND)
def handler(store: Store):
    """A worker's explainer: the models it loads stay loaded for the next job."""
    bank, cache = ModelBank(store), ExplanationCache(store)
    return lambda job: run_job(store, job, bank, cache)


@JOB_RUNS.register(KIND)
def runs_explained(job: Job) -> list[str]:
    return sorted({r["run_id"] for r in job.payload["requests"]})


def run_job(store: Store, job: Job, bank: ModelBank, cache: ExplanationCache) -> str:
    """Compute a job's requests into the cache (what the cache already has is skipped);
    returns how the job ended."""
    requests = [Request.from_json(d) for d in job.payload["requests"]]
    errors: dict[str, str] = {}
    for i, request in enumerate(requests):
        if store.job_cancel_requested(job.id):
            store.end_job(job.id, "cancelled", "Replaced by a newer request.")
            return "cancelled"
        try:
            explain_cached(bank, cache, request)
        except Exception as exc:  # a failed method must not stop the others
            errors[request.key] = plain_error(exc)
        store.job_progress(job.id, i + 1, {"errors": errors})
    store.finish_job(job.id, {"errors": errors})
    return "finished"


# -- in the app's server --------------------------------------------------------------------


class ExplainJobs:
    """Asks the workers for explanations and tells how far they are (one per server).

    `active_jobs` returns the waiting and running jobs; the app passes its shared
    snapshot's, so polling sessions add no store reads. Without it the store is read.
    """

    def __init__(self, store: Store, bank: ModelBank | None = None,
                 cache: ExplanationCache | None = None,
                 active_jobs: Callable[[], Iterable[Job]] | None = None):
        self.store = store
        self.bank = bank or ModelBank(store)  # data and predictions for the page; no maps
        self.cache = cache or ExplanationCache(store)
        self.active_jobs = active_jobs or (lambda: store.list_jobs(("queued", "running"), KIND))
        self._lock = threading.Lock()
        self._jobs: dict[str, list[str]] = {}  # job id -> request keys, until it ended
        self._errors: dict[str, str] = {}  # request key -> why it failed

    # -- asking --------------------------------------------------------------------------

    def submit(self, requests: list[Request], *, requester: str | None = None,
               workspace: str | None = None, owner: str | None = None) -> str | None:
        """Queue what is neither cached, failed nor already asked for by this requester, in
        the order given; the requester's older requests that no worker started yet are
        dropped. Returns the new job's id (None: nothing to ask)."""
        with self._lock:
            missing = [r for r in dict((r.key, r) for r in requests).values()
                       if r.key not in self._errors and self.cache.get(r) is None]
        if not missing:
            return None
        asked = {k for j in self.active_jobs() if j.requester == requester and j.kind == KIND
                 for k in _keys(j)}
        if requester is not None and {r.key for r in missing} <= asked:
            return None  # the same view again (a rerun): its job is on its way
        if requester is not None:
            self.store.cancel_jobs(requester=requester, kind=KIND)
        job_id = self.store.enqueue_job(
            KIND, {"requests": [r.to_json() for r in missing], "keys": [r.key for r in missing]},
            len(missing),
            workspace=workspace, owner=owner, requester=requester)
        with self._lock:
            self._jobs[job_id] = [r.key for r in missing]
        return job_id

    def retry(self, requests: list[Request], **who) -> None:
        with self._lock:
            for r in requests:
                self._errors.pop(r.key, None)
        self.submit(requests, **who)

    # -- reading -------------------------------------------------------------------------

    def result(self, request: Request) -> M.Attribution | None:
        return self.cache.get(request)

    def error(self, request: Request) -> str | None:
        with self._lock:
            return self._errors.get(request.key)

    def progress(self, requests: list[Request]) -> Progress:
        active = {j.id: j for j in self.active_jobs() if j.kind == KIND}
        self._collect_ended(active)
        running_now = {_keys(j)[j.done] for j in active.values()
                       if j.status == "running" and j.done < j.total}
        done = failed = 0
        errors: dict[str, str] = {}
        running = None
        for r in requests:
            message = self.error(r)
            if message is not None:
                failed += 1
                errors[r.key] = message
            elif self.cache.get(r) is not None:
                done += 1
            elif r.key in running_now:
                running = describe(r)
        return Progress(len(requests), done, failed, running, errors)

    def wait(self, requests: list[Request], timeout: float = 120.0) -> Progress:
        """Block until every request is done or failed (CLI and tests)."""
        deadline = time.monotonic() + timeout
        while not (progress := self.progress(requests)).finished:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        return progress

    def _collect_ended(self, active: dict[str, Job]) -> None:
        """Jobs of ours that left the queue: keep their errors; a job that died (worker
        killed, say) fails whatever it had not done, with its reason."""
        with self._lock:
            ended = [j for j in self._jobs if j not in active]
        for job_id in ended:
            job = self.store.get_job(job_id)
            if job is not None and job.active:
                continue  # queued since the snapshot was read
            with self._lock:
                keys = self._jobs.pop(job_id, [])
                if job is None or job.status == "cancelled":
                    continue  # replaced: the newer job has what is still wanted
                self._errors.update(job.result.get("errors", {}))
                if job.status != "finished":
                    reason = (job.error or job.status).split("\n")[0]
                    for key in keys[job.done:]:
                        self._errors.setdefault(key, reason)


def _keys(job: Job) -> list[str]:
    return job.payload.get("keys", [])


def describe(request: Request) -> str:
    title = M.method(request.method).title
    what = "overall view" if request.is_global else title
    variant = "" if request.variant == "float" else f" ({request.variant} model)"
    return f"{what} of run {request.run_id}{variant}"
