"""Objects shared by every session of one server: the store, the workers' supervisor, the live
feed, the ended runs and other cached values every page reads."""
from __future__ import annotations

import threading
from collections import OrderedDict

import streamlit as st

from playground.common.paths import default_home
from playground.runs.live import LiveFeed, Snapshot
from playground.runs.store import Run, Store
from playground.runs.supervisor import Supervisor


@st.cache_resource(show_spinner=False)
def _store(home: str) -> Store:
    return Store(home)


@st.cache_resource(show_spinner=False)
def _supervisor(home: str) -> Supervisor:
    # One supervisor per server: it recovers orphaned runs and keeps the workers alive.
    return Supervisor(_store(home)).start()


@st.cache_resource(show_spinner=False)
def _feed(home: str) -> LiveFeed:
    # One per server: every session's polls share its snapshot (one store read per interval).
    return LiveFeed(_store(home))


def get_store() -> Store:
    return _store(str(default_home()))


def ensure_workers() -> Supervisor:
    return _supervisor(str(default_home()))


def live_snapshot(fresh: bool = False) -> Snapshot:
    """What is queued and training now, shared by every session. A poll takes the shared
    snapshot; a full run (a click may just have queued or cancelled something) asks with
    fresh=True, which looks at the store again, and reads it only if it changed."""
    return _feed(str(default_home())).snapshot(0.0 if fresh else None)


def refresh_live() -> None:
    """This session just changed the store: the next snapshot looks again."""
    _feed(str(default_home())).invalidate()


class _EndedRuns:
    """Ended runs never change (only deletion), so each is read once per server."""

    def __init__(self, size: int = 4096):
        self.size = size
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Store, run_id: str, ended: tuple) -> Run | None:
        key = f"{run_id}|{ended}"  # a deletion changes `ended`: look again
        with self._lock:
            if key in self._runs:
                return self._runs[key]
        run = store.get(run_id)
        if run is not None and not run.active:  # one that is still going may change
            with self._lock:
                self._runs[key] = run
                while len(self._runs) > self.size:
                    self._runs.popitem(last=False)
        return run


@st.cache_resource(show_spinner=False)
def _ended_runs(home: str) -> _EndedRuns:
    return _EndedRuns()


def current_runs(ids) -> dict[str, Run | None]:
    """Runs by id as they are now (None: deleted): queued and training ones from the shared
    snapshot, ended ones read once per server. What a polling fragment should use."""
    snap, home = live_snapshot(), str(default_home())
    ended = _ended_runs(home)
    return {i: snap.run(i) or ended.get(_store(home), i, snap.ended) for i in ids}


@st.cache_resource(max_entries=256, show_spinner=False)
def _shared_value(name: tuple, _build):
    return _build()


def shared_value(name: tuple, build):
    """`build()` once per server for `name` (which should include the snapshot's version or
    `ended` when the value depends on the store): every session polling the same view
    shares one computation."""
    return _shared_value(name, build)


def any_active() -> bool:
    """Anything queued or training on this server (the pages poll only then)."""
    return bool(live_snapshot(fresh=True).active)
