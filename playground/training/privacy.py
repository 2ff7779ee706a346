"""ε answers for DP-SGD runs: Opacus' own accountants, cached, and worked out ahead of time.

Opacus is imported on first use (it takes
seconds to import, and most runs and the app never need it).

An `EpsilonService` belongs to whoever trains (a worker keeps one for all its runs; a
single `train()` call without one makes its own and closes it): it remembers the answers
already known in this process and owns one helper process that works out the ε each planned
epoch will have while the model trains. Nothing here is module state, and Opacus' functions
are used as published: the Rényi divergence per step, the costly part of every query, is
cached by accountant subclasses of ours around Opacus' public `compute_rdp` and
`get_privacy_spent`, which give the very numbers Opacus' own accountants give.
"""
from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, InvalidStateError
from functools import lru_cache

import numpy as np

HELPER_PATIENCE_S = 20.0  # one answer takes 10-40 ms; a queue of them, well under 1 s
Key = tuple  # (accountant kind, σ, sample rate, steps, δ)


@lru_cache(maxsize=256)
def _rdp_per_step(sample_rate: float, sigma: float) -> np.ndarray:
    """The Rényi divergence of one step at Opacus' default orders (read-only array): a pure
    function of its arguments, ~0.1-0.2 s, asked again on every ε query otherwise."""
    from opacus.accountants import RDPAccountant
    from opacus.accountants.analysis import rdp as rdp_analysis

    rdp = rdp_analysis.compute_rdp(q=sample_rate, noise_multiplier=sigma, steps=1,
                                   orders=RDPAccountant.DEFAULT_ALPHAS)
    rdp.setflags(write=False)
    return rdp


def _rdp_spent(history, delta: float) -> tuple[float, float]:
    """What RDPAccountant.get_privacy_spent says for this history, through the cached
    divergence (compute_rdp multiplies the per-step divergence by the steps: the same
    numbers, in the same order)."""
    from opacus.accountants import RDPAccountant
    from opacus.accountants.analysis import rdp as rdp_analysis

    rdp = sum([_rdp_per_step(q, sigma) * steps for sigma, q, steps in history])
    eps, alpha = rdp_analysis.get_privacy_spent(orders=RDPAccountant.DEFAULT_ALPHAS, rdp=rdp,
                                                delta=delta)
    return float(eps), float(alpha)


@lru_cache(maxsize=1)
def accountant_classes() -> dict[str, type]:
    """Opacus' PRV and RDP accountants, subclassed so the per-step divergence is cached."""
    from opacus.accountants import PRVAccountant, RDPAccountant
    from opacus.accountants.analysis.prv import Domain

    class CachedRDPAccountant(RDPAccountant):
        def get_privacy_spent(self, *, delta, alphas=None):
            if alphas is not None or not self.history:
                return super().get_privacy_spent(delta=delta, alphas=alphas)
            return _rdp_spent(self.history, delta)

    class CachedPRVAccountant(PRVAccountant):
        """The safe discretisation domain (Gopi et al., remark 5.6), worked out from RDP
        bounds as opacus.accountants.analysis.prv.compute_safe_domain_size does, through
        the cached divergence."""

        def _get_domain(self, prvs, num_self_compositions, eps_error, delta_error):
            total = sum(num_self_compositions)
            history = [(p.noise_multiplier, p.sample_rate, k)
                       for p, k in zip(prvs, num_self_compositions, strict=True)]
            size = _rdp_spent(history, delta_error / 4)[0]
            for p in prvs:
                size = max(size, _rdp_spent([(p.noise_multiplier, p.sample_rate, 1)],
                                            delta_error / (8 * total))[0])
            size = max(size, eps_error) + 3
            mesh = eps_error / np.sqrt(total * np.log(12 / delta_error) / 2)
            return Domain.create_aligned(-size, size, mesh)

    return {"prv": CachedPRVAccountant, "rdp": CachedRDPAccountant}


def make_accountant(kind: str):
    """A fresh accountant of `kind` ("prv" or "rdp"), Opacus' own with the cache above."""
    return accountant_classes()[kind]()


def accountant_epsilon(kind: str, sigma: float, sample_rate: float, steps: int,
                       delta: float) -> float:
    """ε from a fresh accountant of `kind` after `steps` steps of one setting."""
    accountant = make_accountant(kind)
    accountant.history = [(sigma, sample_rate, steps)]
    return float(accountant.get_epsilon(delta))


def _helper_start() -> None:
    """In the helper: go when the process that forked it goes, even if it was killed
    (strictly, when the forking *thread* ends; training runs on the main thread, and a
    helper lost that way is replaced on the next query). And yield the CPU to training:
    ε is a report, the model is what the user waits for."""
    import ctypes
    import os
    import signal

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (AttributeError, OSError):
        pass
    try:
        os.nice(19)
    except OSError:
        pass


def _serve(conn) -> None:
    """The helper's loop: take every question waiting, drop the ones withdrawn, answer the
    oldest; (ticket, ε, None) or (ticket, None, problem) back."""
    _helper_start()
    waiting: dict[int, Key] = {}
    while True:
        if not waiting or conn.poll(0):
            try:
                message = conn.recv()
            except EOFError:
                return
            kind, payload = message
            if kind == "ask":
                waiting[payload[0]] = payload[1]
            else:  # "drop": questions no longer wanted
                for ticket in payload:
                    waiting.pop(ticket, None)
            continue
        ticket = min(waiting)
        key = waiting.pop(ticket)
        try:
            conn.send((ticket, accountant_epsilon(*key), None))
        except Exception as exc:  # noqa: BLE001 - the asker decides what to do
            conn.send((ticket, None, f"{type(exc).__name__}: {exc}"))


class EpsilonService:
    """ε answers for one process: remembered, and worked out ahead by one forked helper
    process that this object starts, owns and stops (`retire`, `close`).

    In a thread the answers starved training of the GIL (first epochs 3-5x longer); a
    process has its own GIL and, in a worker, the core the worker leaves free. Forked, it
    starts in milliseconds with Opacus already imported, and it never touches torch."""

    def __init__(self) -> None:
        self._known: dict[Key, float] = {}  # answers already known in this process
        self._owed: list[Future] = []  # futures of the run training now (one at a time)
        self._process = None
        self._conn = None
        self._pending: dict[int, Future] = {}
        self._tickets = 0
        self._lock = threading.Lock()

    # -- answers ---------------------------------------------------------------------------

    def known(self, key: Key) -> float | None:
        return self._known.get(key)

    def remember(self, key: Key, epsilon: float) -> None:
        self._known[key] = epsilon

    def epsilon(self, *key) -> float:
        """ε for (kind, σ, sample rate, steps, δ), worked out here unless known."""
        if key not in self._known:
            self._known[key] = accountant_epsilon(*key)
        return self._known[key]

    def forget(self) -> None:
        """Drop the remembered answers (the benchmark's 'first run with these settings')."""
        self._known.clear()

    # -- asking ahead ----------------------------------------------------------------------

    def plan(self, *key) -> Future:
        """A future for ε at `key`: known already, or worked out by the helper."""
        future: Future = Future()
        if key in self._known:
            future.set_result(self._known[key])
            return future
        if self._process is None or not self._process.is_alive():
            self._start()
        with self._lock:
            self._tickets += 1
            ticket = self._tickets
            self._pending[ticket] = future
        try:
            self._conn.send(("ask", (ticket, key)))
        except OSError as exc:  # the helper just died: the asker works it out itself
            future.set_exception(exc)

        def remember(f: Future) -> None:
            if not f.cancelled() and f.exception() is None:
                self._known[key] = f.result()

        future.add_done_callback(remember)
        return future

    def new_run(self, futures: list[Future]) -> None:
        """The run training now owes these answers; a previous run's (cancelled or failed
        before it collected them) are withdrawn so they don't hold this run's up."""
        self.withdraw(self._owed)
        self._owed = list(futures)

    def owed(self) -> list[Future]:
        return list(self._owed)

    def withdraw(self, futures) -> None:
        """Cancel these questions; the helper skips those it has not started."""
        with self._lock:
            tickets = [t for t, f in self._pending.items() if f in futures]
        for future in futures:
            future.cancel()
        if tickets and self._conn is not None:
            try:
                self._conn.send(("drop", tickets))
            except OSError:
                pass

    # -- the helper process ----------------------------------------------------------------

    def _start(self) -> None:
        self.retire()
        context = multiprocessing.get_context("fork")
        mine, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs,), daemon=True,
                                        name="epsilon-helper")
        self._process.start()
        theirs.close()
        self._conn = mine
        self._pending = {}  # this helper's questions (a dead one's were failed)
        threading.Thread(target=self._collect, args=(mine, self._pending), daemon=True,
                         name="epsilon-answers").start()

    def _collect(self, conn, pending: dict[int, Future]) -> None:
        """Put the helper's answers into their futures; if it dies, fail what it owed."""
        while True:
            try:
                ticket, value, problem = conn.recv()
            except (EOFError, OSError):
                break
            with self._lock:
                future = pending.pop(ticket, None)
            if future is None or future.cancelled():
                continue
            try:
                if problem is None:
                    future.set_result(value)
                else:
                    future.set_exception(RuntimeError(problem))
            except InvalidStateError:  # cancelled meanwhile
                pass
        with self._lock:
            lost = list(pending.values())
            pending.clear()
        for future in lost:
            try:
                future.set_exception(RuntimeError("the ε helper process stopped"))
            except InvalidStateError:
                pass

    def helper(self):
        """The helper process (a multiprocessing.Process), if one runs."""
        return self._process

    def retire(self) -> None:
        """Stop the helper (dead, or stuck); the next question forks a new one."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if process is not None:
            process.kill()
            process.join(5)
        if conn is not None:
            conn.close()

    close = retire
