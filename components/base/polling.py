"""Polling fragments: they poll only while something is going on, and stop with a full rerun."""
from __future__ import annotations

import streamlit as st

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
