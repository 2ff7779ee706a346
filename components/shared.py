"""Objects shared by every session of one server, and the sidebar every page shows."""
from __future__ import annotations

import gc
import importlib
import threading
from collections import OrderedDict

import streamlit as st

from playground import device as devices
from playground.live import LiveFeed, Snapshot
from playground.store import Run, Store, default_home
from playground.supervisor import Supervisor


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


def any_active(store: Store | None = None) -> bool:
    """Anything queued or training on this server (the pages poll only then)."""
    return bool(live_snapshot(fresh=True).active)


# Imported before the first page is drawn, so their objects are frozen with the rest.
PAGE_MODULES = ("components.run_card", "components.run_list", "components.story_view",
                "components.sweep_view", "components.workshop_board", "components.run_settings",
                "components.explain_grid", "components.explain_insights",
                "components.comparison", "components.pareto_view", "components.confusion_diff",
                "components.export_buttons", "components.upload_form", "components.glossary_learn")


@st.cache_resource(show_spinner=False)
def freeze_startup_objects() -> int:
    """Move everything imported so far out of the garbage collector's sight (gc.freeze).

    Torch, pandas, Altair and friends leave ~300k long-lived objects; every full collection
    walked all of them (Streamlit runs gc.collect(2) after each script run unless
    runner.postScriptGC is off, and Python's own full collections do the same), which was
    most of the server's CPU while a room watched runs train. Frozen objects are never
    walked again; whatever pages create afterwards is collected as usual.
    """
    for name in PAGE_MODULES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


POLL_SECONDS = 1.0  # a page watching a run train: a new epoch shows within about a second
SLOW_POLL_SECONDS = 3.0  # waiting in line, the queue counts in the sidebar
SIDEBAR_POLL_SECONDS = SLOW_POLL_SECONDS


def live_fragment(active: bool, every: float = POLL_SECONDS):
    """A fragment decorator that polls only while something is queued or training."""
    return st.fragment(run_every=every if active else None)


def rerun_pending(requests) -> bool:
    """True when the session already asked for a rerun that has not started yet."""
    from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType

    return getattr(requests, "_state", None) == ScriptRequestType.RERUN


def end_polling() -> None:
    """From a polling fragment: rerun the whole page, which redraws it and stops the polling.

    st.rerun() asks for a rerun of the page the fragment is on. If the user clicked a link
    to another page while the fragment ran, Streamlit folds both requests into one and the
    newer wins, so the click would be lost. Any pending request reruns the page anyway.
    """
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None and rerun_pending(ctx.script_requests):
        return
    st.rerun()


# Pages whose own live section shows the queue: the sidebar leaves it out there, rather
# than poll a second copy (every poll is a script run, ~7 ms of the server's CPU whatever
# it draws) or show a stale one.
QUEUE_SHOWN_ON = {"runs"}


def render_sidebar(page: str | None = None) -> None:
    active = any_active()

    drawing_page = {"now": True}

    @live_fragment(active, SIDEBAR_POLL_SECONDS)
    def queue_status() -> None:
        counts = live_snapshot(fresh=drawing_page["now"]).counts
        running, waiting = counts.get("running", 0), counts.get("queued", 0)
        st.caption("Queue")
        st.markdown(f"**{running}** training · **{waiting}** waiting")
        # Everything ended: a full rerun switches polling off. Only from the fragment's own
        # polls: during a full run the sidebar is drawn before the page, and a rerun there
        # would swallow the click that started this run (e.g. Train).
        if active and not (running or waiting) and not drawing_page["now"]:
            end_polling()

    with st.sidebar:
        st.caption("Trains on")
        st.markdown(f"**{devices.describe('auto')}**")
        if page not in QUEUE_SHOWN_ON:
            queue_status()
    drawing_page["now"] = False
    from components.projector import projector_toggle  # imports shared: import late
    from components.workshop_session import workshop_badge

    workshop_badge()
    projector_toggle()


def app_shell_guard() -> None:
    """Make a page opened by deep link on a fresh server run inside app.py's navigation.

    Streamlit assumes the legacy pages/ mode until the first st.navigation call, so the
    very first visit to /runs or /compare would run that page alone, without the sidebar
    or the workers. Switch the mode off and rerun once: app.py then routes to the same URL.
    Only a session's first run is redone, so no click can be lost. (AppTest starts every
    run in legacy mode; there the page draws the sidebar itself.)
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not getattr(_shell, "active", False):
        PagesManager.uses_pages_directory = False
        if not st.session_state.get("shell_started"):
            st.session_state["shell_started"] = True
            st.rerun()
        ensure_workers()
        freeze_startup_objects()
        render_sidebar()


_shell = threading.local()  # each script run has its own thread


def page_entered() -> bool:
    """True from arriving on a page (a link, a reload or another page) until the page says
    it has taken in its arrival (entry_taken); False on the reruns that widgets cause while
    the user stays. Not simply "the first run here": a first run cut short by another
    rerun (a polling fragment ending, a quick click) would leave its link unread."""
    return st.session_state.get("shell_entry_pending", True)


def entry_taken() -> None:
    st.session_state["shell_entry_pending"] = False


def run_in_shell(page) -> None:
    """app.py runs the chosen page through this, so pages know the shell is around them."""
    st.session_state["shell_started"] = True
    previous = st.session_state.get("shell_page")
    st.session_state["shell_page"] = page.url_path
    if previous != page.url_path:
        st.session_state["shell_entry_pending"] = True
    _shell.active = True
    try:
        page.run()
    finally:
        _shell.active = False
