"""Who this browser session is in a workshop, kept across pages, reloads and tabs, and
queueing a run as that person.

Session-state keys (set here and by the Workshop page; other pages only read them):
  workshop_name   the workspace name, once this session joined one (or opened its link)
  workshop_token  a participant's private token: who they are (also in every page's URL,
                  ?ws=NAME&token=..., so a reload, a bookmark or a second tab with that
                  address comes back as the same person)
  workshop_key    the presenter key, only in the presenter's session (never in the URL)
  workshop_user   the display name, as the workshop file had it at the last check
A participant's token is also kept in a cookie (same site only, a day), so a tab opened
from a bare address (a sidebar link in a new tab, a typed /train) is still them.
Identity always comes from the token or the key, checked against the workshop file, never
from a name: `session_actor()` is the acting person every page passes to the core.
"""
from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as st_components

from components.base.keys.workshop import KEY, NOTICE, TOKEN, USER
from components.base.keys.workshop import NAME as WS
from components.base.operator import is_operator, recognise_operator
from components.base.services import get_store
from playground.common.permissions import OPERATOR, VISITOR, Actor, Refused
from playground.experiments.workshop import (
    WorkshopError,
    Workspace,
    clean_name,
    load_workspace,
    submit_as,
)
from playground.runs.store import Store
from playground.training.config import RunConfig

IDENTITY_PARAMS = ("ws", "token")  # the query parameters that carry who one is
COOKIE = "playground_workshop"  # "NAME:TOKEN" of the participant this browser is
COOKIE_SEEN, COOKIE_NOW = "workshop_cookie_seen", "workshop_cookie"  # (as sent at start)
COOKIE_DAYS = 1


def _workspace() -> Workspace | None:
    name = st.session_state.get(WS)
    return load_workspace(get_store().home, name) if name else None


def session_actor() -> Actor:
    """The person acting in this session: a workshop's presenter or participant (by key or
    token), else the operator (see components.base.operator) or a visitor."""
    ws = _workspace()
    ss = st.session_state
    actor = ws.actor(ss.get(TOKEN), ss.get(KEY)) if ws is not None else None
    return actor or (OPERATOR if is_operator() else VISITOR)


def current() -> tuple[Workspace | None, str | None, bool]:
    """(workspace, display name, is presenter) of this session; (None, None, False) when
    the session is not in a workshop as anyone."""
    ws = _workspace()
    if ws is None:
        return None, None, False
    ss = st.session_state
    actor = ws.actor(ss.get(TOKEN), ss.get(KEY))
    if actor is None:
        return None, None, False
    return ws, actor.name, actor.presenter


def pending() -> str | None:
    """The workshop this session has opened a link to without being anyone in it yet (it
    has not joined, or its token stopped working): nothing may be queued for it."""
    name = st.session_state.get(WS)
    if name and not session_actor().in_workshop:
        return name
    return None


def leave(url: bool = True) -> None:
    """This session is no one in any workshop (`url`: and its address says so too)."""
    for k in (WS, USER, KEY, TOKEN):
        st.session_state.pop(k, None)
    for k in IDENTITY_PARAMS if url else ():
        if k in st.query_params:
            del st.query_params[k]


def adopt(ws_name: str, token: str, shown: str) -> None:
    """This session is now participant `shown` of `ws_name` (their token checked)."""
    ss = st.session_state
    if ss.get(WS) != ws_name:
        leave(url=False)
    ss.pop(KEY, None)
    ss[WS], ss[TOKEN], ss[USER] = ws_name, token, shown
    keep_in_url()


def keep_in_url() -> None:
    """Every page's address carries ?ws=NAME&token=... while a participant is in, so a
    reload or a second tab opened from it is the same person (the presenter's key never
    goes there)."""
    ss, qp = st.session_state, st.query_params
    if ss.get(WS) and ss.get(TOKEN):
        for param, value in (("ws", ss[WS]), ("token", ss[TOKEN])):
            if qp.get(param) != value:
                qp[param] = value


def restore_identity() -> None:
    """Run on every page before it draws: a presenter link (?ws=NAME&key=...) makes this
    session the presenter (and the key leaves the address); a personal link
    (?ws=NAME&token=...) makes it that participant (a new session after a reload, a second
    tab); a bare ?ws=NAME marks the session as in that workshop's room, so nothing is
    queued outside it by mistake; and the address keeps carrying the token."""
    recognise_operator()
    ss, qp = st.session_state, st.query_params
    token, ws_param = qp.get("token"), qp.get("ws")
    if ws_param:
        try:
            name = clean_name(ws_param)
        except WorkshopError:
            name = None
        ws = load_workspace(get_store().home, name) if name else None
        if ws is not None and "key" in qp:  # a presenter link, on any page
            if ws.is_presenter_key(qp["key"]):
                if ss.get(WS) != ws.name:
                    leave(url=False)
                ss.pop(TOKEN, None)
                ss[WS], ss[KEY], ss[USER] = ws.name, qp["key"], ws.presenter_name
            del qp["key"]  # never leave the key in an address a projector might show
        elif ws is not None and token:
            person = ws.person_for_token(token)
            if person is not None:
                if ss.get(TOKEN) != token or ss.get(WS) != ws.name:
                    adopt(ws.name, token, person.name)
                ss[USER] = person.name
            else:
                del qp["token"]
                if ss.get(TOKEN) == token:
                    ss.pop(TOKEN, None)
                ss[NOTICE] = (f"This personal link no longer works in workshop {ws.name} "
                              "(the presenter may have removed you). Join again with the "
                              "join link, under a new name.")
        elif ws is not None and not ss.get(WS):
            ss[WS] = ws.name  # in the room, not yet anyone in it: Train won't queue
    if not ss.get(COOKIE_SEEN):  # a new session (a reload, a new tab): who this browser is
        ss[COOKIE_SEEN] = True
        ss[COOKIE_NOW] = _cookie()
        name, _, saved = (ss[COOKIE_NOW] or "").partition(":")
        if saved and not ss.get(TOKEN) and not ss.get(KEY) and ss.get(WS, name) == name:
            ws = load_workspace(get_store().home, name)
            person = ws.person_for_token(saved) if ws is not None else None
            if person is not None:  # (a bare address, or the room's own join link)
                adopt(ws.name, saved, person.name)
    keep_in_url()
    _keep_cookie()


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # no browser (AppTest)
        return None
    return value if isinstance(value, str) else None


def _keep_cookie() -> None:
    """Write (or clear) the cookie while who this session is differs from what the browser
    sent when the session began: a script in an empty frame of the same origin (Streamlit
    can't set cookies itself). The same frame on every full run, so the browser keeps the
    one it ran (a run cut short by another can't lose the write)."""
    ss = st.session_state
    want = f"{ss[WS]}:{ss[TOKEN]}" if ss.get(WS) and ss.get(TOKEN) else None
    if ss.get(COOKIE_NOW) == want or (want is None and not ss.get(COOKIE_NOW)):
        return
    age = COOKIE_DAYS * 86_400 if want else 0
    with st.sidebar:
        st_components.html(
            f"<script>document.cookie = '{COOKIE}={want or ''}; path=/; max-age={age}; "
            "SameSite=Strict';</script>", height=0)


def submit_from_session(store: Store, config: RunConfig) -> str | None:
    """Queue `config` as this session's person (tagged with the workshop and person when
    it is in one); show why not and return None when it is refused."""
    if (waiting := pending()) is not None:
        st.error(f"You opened workshop **{waiting}** but have not joined it: on the "
                 "Workshop page, type your name (or open your personal link) first, so "
                 "your run counts in the room. Or leave the workshop there to train on "
                 "your own.")
        return None
    actor = session_actor()
    try:
        return submit_as(store, actor, config).run_id
    except (WorkshopError, Refused) as exc:
        st.error(f"Workshop **{actor.workspace}** can't take this run yet:\n\n"
                 + "\n".join(f"- {p}" for p in exc.problems))
        return None


def workshop_badge() -> None:
    """A line in the sidebar saying which workshop this session is in."""
    if notice := st.session_state.pop(NOTICE, None):
        st.sidebar.warning(notice)
    ws, user, presenter = current()
    if ws is None:
        if waiting := pending():
            st.sidebar.caption("Workshop")
            st.sidebar.markdown(f"**{waiting}** · not joined yet")
            st.sidebar.page_link("pages/workshop.py", label="Join it", icon="🏆")
        return
    st.sidebar.caption("Workshop")
    st.sidebar.markdown(f"**{ws.name}** · {user}" + (" (presenter)" if presenter else ""))
    st.sidebar.page_link("pages/workshop.py", label="Leaderboard", icon="🏆")
