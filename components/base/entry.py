"""Which page a session is on, and whether it has just arrived there."""
from __future__ import annotations

import threading

import streamlit as st

from components.base.keys import shell as keys

_shell = threading.local()  # each script run has its own thread


def page_entered() -> bool:
    """True from arriving on a page (a link, a reload or another page) until the page says
    it has taken in its arrival (entry_taken); False on the reruns that widgets cause while
    the user stays. Not simply "the first run here": a first run cut short by another
    rerun (a polling fragment ending, a quick click) would leave its link unread."""
    return st.session_state.get(keys.ENTRY_PENDING, True)


def entry_taken() -> None:
    st.session_state[keys.ENTRY_PENDING] = False


def run_in_shell(page) -> None:
    """app.py runs the chosen page through this, so pages know the shell is around them."""
    st.session_state[keys.STARTED] = True
    previous = st.session_state.get(keys.PAGE)
    st.session_state[keys.PAGE] = page.url_path
    if previous != page.url_path:
        st.session_state[keys.ENTRY_PENDING] = True
    _shell.active = True
    try:
        page.run()
    finally:
        _shell.active = False
