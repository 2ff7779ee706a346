"""Recognising the operator (whoever started the server) in a browser session.

The operator is recognised in one of two ways:
- the browser is on the server's own machine: the WebSocket's peer address is loopback
  (Streamlit's `st.context.ip_address` is None for 127.0.0.1 and ::1, read from the
  connection itself, not from a header). On one's own laptop there is nothing to type.
  Behind a reverse proxy on the same machine every visitor would look local: turn this off
  there with PLAYGROUND_LOOPBACK_OPERATOR=off (or "loopback_operator": "off" in the data
  folder's settings.json);
- from anywhere, the address carries the operator key once, `?operator=KEY` (printed in the
  server's console at start, kept 0600 in the data folder's `operator.key`): the key leaves
  the address at once, so a projector never shows it, and the browser keeps it in a cookie
  (this site only, a day), so a reload or a new tab on that machine is still the operator.
  A cookie whose key no longer matches (the key file was replaced) is cleared.
Everyone else outside a workshop is a visitor (see playground.common.permissions).
"""
from __future__ import annotations

import streamlit as st

from components.base import cookies
from components.base.keys.operator import COOKIE_SENT, KEY_HELD, KEY_OK
from playground.common.paths import default_home
from playground.common.server_settings import (
    is_operator_key,
    loopback_is_operator,
    operator_key,
)

PARAM = "operator"  # ?operator=KEY
COOKIE = "playground_operator"  # the operator key, in the browser that presented it
COOKIE_DAYS = 1


@st.cache_resource(show_spinner=False)
def announce_operator_key(home: str) -> str:
    """Make the operator key if needed and print it in the server's console, once per
    server (like Jupyter's token); returns the key."""
    key = operator_key(home)
    print("Trade-off Playground: the operator (you) can act from another machine by opening "
          f"any page with ?{PARAM}={key} added to its address once. The key is kept in "
          f"{home}/operator.key; on this machine no key is needed.", flush=True)
    return key


def recognise_operator() -> None:
    """Take an operator key from the address (then remove it), or, when a session begins,
    from the browser's cookie; keep the cookie in step. Run before a page acts."""
    ss, qp, home = st.session_state, st.query_params, default_home()
    if PARAM in qp:
        if is_operator_key(qp[PARAM], home):
            ss[KEY_OK], ss[KEY_HELD] = True, qp[PARAM]
        del qp[PARAM]
    if COOKIE_SENT not in ss:  # a new session (a reload, a new tab): what the browser holds
        sent = ss[COOKIE_SENT] = cookies.read(COOKIE)
        if not ss.get(KEY_OK) and is_operator_key(sent, home):
            ss[KEY_OK], ss[KEY_HELD] = True, sent
    _keep_cookie(home)


def _keep_cookie(home) -> None:
    """Write the key this session holds while the browser's cookie differs from it (the same
    element on every run, so a run cut short still leaves the write); clear a cookie that
    holds a stale key."""
    ss = st.session_state
    held, sent = ss.get(KEY_HELD), ss.get(COOKIE_SENT)
    if held is not None and not is_operator_key(held, home):  # the key file was replaced
        ss.pop(KEY_OK, None)
        held = ss[KEY_HELD] = None
    if (held or None) == (sent or None):
        return
    cookies.write({COOKIE: held}, COOKIE_DAYS, key="operator_cookie_writer")


def _from_loopback() -> bool:
    """No peer address: loopback (Streamlit answers None for it), or no connection at all
    (a script run outside a server, where the address is not a string)."""
    try:
        return not isinstance(st.context.ip_address, str)
    except Exception:
        return True


def is_operator() -> bool:
    """Whether this browser session is the server's operator."""
    return bool(st.session_state.get(KEY_OK)) or (
        loopback_is_operator(default_home()) and _from_loopback())
