"""Objects shared by every session of one server, and the sidebar every page shows."""
from __future__ import annotations

import threading

import streamlit as st

from playground import device as devices
from playground.store import Store, default_home
from playground.supervisor import Supervisor


@st.cache_resource(show_spinner=False)
def _store(home: str) -> Store:
    return Store(home)


@st.cache_resource(show_spinner=False)
def _supervisor(home: str) -> Supervisor:
    # One supervisor per server: it recovers orphaned runs and keeps the workers alive.
    return Supervisor(_store(home)).start()


def get_store() -> Store:
    return _store(str(default_home()))


def ensure_workers() -> Supervisor:
    return _supervisor(str(default_home()))


def any_active(store: Store) -> bool:
    counts = store.counts()
    return bool(counts.get("queued") or counts.get("running"))


POLL_SECONDS = 1.0


def live_fragment(active: bool):
    """A fragment decorator that polls only while something is queued or training."""
    return st.fragment(run_every=POLL_SECONDS if active else None)


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


def render_sidebar() -> None:
    store = get_store()
    active = any_active(store)

    drawing_page = {"now": True}

    @live_fragment(active)
    def queue_status() -> None:
        counts = store.counts()
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
