"""Computing explanations off the app's thread, with progress, into the cache.

The page asks for the explanations it needs; what the cache lacks is queued for one
background thread, newest requests first (the view a person is looking at now beats one
they have left). The page polls `progress` and reads finished maps from the cache. A
method that fails leaves a plain message for its cell and never stops the thread.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from playground.explain import methods as M
from playground.explain.cache import GLOBAL_EXAMPLES, ExplanationCache, Request
from playground.explain.subjects import ModelBank


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
    return M.explain(subject, request.x, request.method, request.target, request.settings)


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
    running: str | None = None  # what the thread works on now, if it is one of these
    errors: dict[str, str] = field(default_factory=dict)  # request key -> message

    @property
    def finished(self) -> bool:
        return self.done + self.failed >= self.total


class ExplainRunner:
    """One background thread that computes queued requests into the cache."""

    def __init__(self, store, bank: ModelBank | None = None,
                 cache: ExplanationCache | None = None):
        self.bank = bank or ModelBank(store)
        self.cache = cache or ExplanationCache(store)
        self._queue: deque[Request] = deque()
        self._queued: set[str] = set()
        self._errors: dict[str, str] = {}
        self._running: Request | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    # -- asking --------------------------------------------------------------------------

    def submit(self, requests: list[Request]) -> int:
        """Queue what is neither cached, queued, running nor failed; newest first."""
        fresh = []
        with self._cond:
            running = self._running.key if self._running else None
            for r in requests:
                key = r.key
                if key in self._queued or key == running or key in self._errors:
                    continue
                if self.cache.get(r) is not None:
                    continue
                fresh.append(r)
                self._queued.add(key)
            for r in reversed(fresh):
                self._queue.appendleft(r)
            if fresh:
                self._ensure_thread()
                self._cond.notify_all()
        return len(fresh)

    def retry(self, requests: list[Request]) -> None:
        with self._cond:
            for r in requests:
                self._errors.pop(r.key, None)
        self.submit(requests)

    def result(self, request: Request) -> M.Attribution | None:
        return self.cache.get(request)

    def error(self, request: Request) -> str | None:
        with self._cond:
            return self._errors.get(request.key)

    def progress(self, requests: list[Request]) -> Progress:
        done = failed = 0
        errors: dict[str, str] = {}
        running = None
        with self._cond:
            current = self._running
        for r in requests:
            message = self.error(r)
            if message is not None:
                failed += 1
                errors[r.key] = message
            elif self.cache.get(r) is not None:
                done += 1
            elif current is not None and current.key == r.key:
                running = describe(current)
        return Progress(len(requests), done, failed, running, errors)

    def wait(self, requests: list[Request], timeout: float = 120.0) -> Progress:
        """Block until every request is done or failed (CLI and tests)."""
        with self._cond:
            self._cond.wait_for(lambda: self.progress(requests).finished, timeout=timeout)
        return self.progress(requests)

    # -- the thread ----------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._serve, name="explain-runner",
                                            daemon=True)
            self._thread.start()

    def _serve(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: bool(self._queue))
                request = self._running = self._queue.popleft()
                self._queued.discard(request.key)
            try:
                explain_cached(self.bank, self.cache, request)
            except Exception as exc:  # a failed method must not stop the others
                with self._cond:
                    self._errors[request.key] = plain_error(exc)
            finally:
                with self._cond:
                    self._running = None
                    self._cond.notify_all()


def describe(request: Request) -> str:
    title = M.method(request.method).title
    what = "overall view" if request.is_global else title
    variant = "" if request.variant == "float" else f" ({request.variant} model)"
    return f"{what} of run {request.run_id}{variant}"
