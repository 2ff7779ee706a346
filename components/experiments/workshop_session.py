"""Who this browser session is in a workshop, kept across pages, reloads and tabs, and
queueing a run as that person.

Session-state keys (set here and by the Workshop page; other pages only read them):
  workshop_name   the workspace name, once this session joined one (or opened its link)
  workshop_token  a participant's private token: who they are
  workshop_key    the presenter key, only in the presenter's session
  workshop_user   the display name, as the workshop file had it at the last check
Neither the token nor the key stays in any address: a personal link (?ws=NAME&token=...) or
a presenter link (?ws=NAME&key=...) is taken in and dropped from the address bar at once.
What keeps a person's seat across reloads and new tabs is a cookie (same site only, a day):
one for a participant ("NAME:TOKEN"), one for the presenter ("NAME:KEY"), read with
`st.context.cookies` when a session begins and written through `components.base.cookies`.
Identity always comes from the token or the key, checked against the workshop file, never
from a name: `session_actor()` is the acting person every page passes to the core.
"""
from __future__ import annotations

import streamlit as st

from components.base import cookies
from components.base.keys.workshop import KEY, NOTICE, TOKEN, USER
from components.base.keys.workshop import NAME as WS
from components.base.operator import is_operator, recognise_operator
from components.base.services import get_store
from playground.common import escape
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
PRESENTER_COOKIE = "playground_presenter"  # "NAME:KEY" of the room this browser presents
COOKIE_SEEN, COOKIE_NOW = "workshop_cookie_seen", "workshop_cookie"  # (as sent at start)
FORGET = "workshop_cookie_forget"  # the person left: clear the seats this browser holds
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
    """This session is no one in any workshop (`url`: it left on purpose, so its address
    says so too and the browser forgets its seats)."""
    for k in (WS, USER, KEY, TOKEN):
        st.session_state.pop(k, None)
    if url:
        st.session_state[FORGET] = True
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
    _drop_secrets_from_url()


def adopt_presenter(ws_name: str, key: str, shown: str) -> None:
    """This session is now the presenter of `ws_name` (their key checked)."""
    ss = st.session_state
    if ss.get(WS) != ws_name:
        leave(url=False)
    ss.pop(TOKEN, None)
    ss[WS], ss[KEY], ss[USER] = ws_name, key, shown
    _drop_secrets_from_url()


def _drop_secrets_from_url() -> None:
    """A token or a key never stays in the address bar (a projector, a shared screen, a
    browser's history would show it); the cookie keeps the seat instead."""
    for param in ("token", "key"):
        if param in st.query_params:
            del st.query_params[param]


def restore_identity() -> None:
    """Run on every page before it draws: a presenter link (?ws=NAME&key=...) makes this
    session the presenter; a personal link (?ws=NAME&token=...) makes it that participant;
    either secret then leaves the address. A bare ?ws=NAME marks the session as in that
    workshop's room, so nothing is queued outside it by mistake. A new session (a reload, a
    new tab) takes its seat back from the browser's cookie."""
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
                adopt_presenter(ws.name, qp["key"], ws.presenter_name)
        elif ws is not None and token:
            person = ws.person_for_token(token)
            if person is not None:
                if ss.get(TOKEN) != token or ss.get(WS) != ws.name:
                    adopt(ws.name, token, person.name)
                ss[USER] = person.name
            else:
                if ss.get(TOKEN) == token:
                    ss.pop(TOKEN, None)
                ss[NOTICE] = (f"This personal link no longer works in workshop {ws.name} "
                              "(the presenter may have removed you). Join again with the "
                              "join link, under a new name.")
        elif ws is not None and not ss.get(WS):
            ss[WS] = ws.name  # in the room, not yet anyone in it: Train won't queue
        _drop_secrets_from_url()
    if not ss.get(COOKIE_SEEN):  # a new session (a reload, a new tab): who this browser is
        ss[COOKIE_SEEN] = True
        ss[COOKIE_NOW] = {COOKIE: cookies.read(COOKIE),
                          PRESENTER_COOKIE: cookies.read(PRESENTER_COOKIE)}
        if not ss.get(TOKEN) and not ss.get(KEY):
            _seat_from_cookies(ss[COOKIE_NOW])
    _keep_cookie()


def _seat_from_cookies(sent: dict[str, str | None]) -> None:
    """Take back the presenter's seat, else the participant's, that this browser holds
    (for the room this address names, if it names one)."""
    ss = st.session_state
    for cookie in (PRESENTER_COOKIE, COOKIE):
        name, _, secret = (sent.get(cookie) or "").partition(":")
        if not secret or ss.get(WS, name) != name:
            continue
        ws = load_workspace(get_store().home, name)
        if ws is None:
            continue
        if cookie == PRESENTER_COOKIE and ws.is_presenter_key(secret):
            adopt_presenter(ws.name, secret, ws.presenter_name)
            return
        if cookie == COOKIE and (person := ws.person_for_token(secret)) is not None:
            adopt(ws.name, secret, person.name)
            return


def _keep_cookie() -> None:
    """Write the seat this session holds into its cookie (and clear both once the person
    left on purpose) while that differs from what the browser sent when the session began;
    the same element on every full run, so the browser keeps the write even when another
    run cuts this one short. A seat the session doesn't hold stays: a presenter who tries
    the room's join link in their own browser keeps their seat."""
    ss = st.session_state
    held = {COOKIE: f"{ss[WS]}:{ss[TOKEN]}" if ss.get(WS) and ss.get(TOKEN) else None,
            PRESENTER_COOKIE: f"{ss[WS]}:{ss[KEY]}" if ss.get(WS) and ss.get(KEY) else None}
    sent = ss.get(COOKIE_NOW) or {}
    want = {name: value for name, value in held.items()
            if value is not None or (ss.get(FORGET) and sent.get(name))}
    if ss.get(FORGET) and not any(held.values()):
        want = dict.fromkeys(held)
    if all((sent.get(name) or None) == value for name, value in want.items()):
        return
    cookies.write(want, COOKIE_DAYS, key="workshop_cookie_writer")


def submit_from_session(store: Store, config: RunConfig) -> str | None:
    """Queue `config` as this session's person (tagged with the workshop and person when
    it is in one); show why not and return None when it is refused."""
    if (waiting := pending()) is not None:
        st.error(f"You opened workshop **{escape.md(waiting)}** but have not joined it: on the "
                 "Workshop page, type your name (or open your personal link) first, so "
                 "your run counts in the room. Or leave the workshop there to train on "
                 "your own.")
        return None
    actor = session_actor()
    if (ws := _workspace()) is not None and ws.ended is not None and actor.in_workshop:
        st.error(f"Workshop **{ws.name}** has ended: it takes no new runs. Its boards stay; "
                 "leave the workshop on the Workshop page to train on your own.")
        return None
    try:
        return submit_as(store, actor, config).run_id
    except (WorkshopError, Refused) as exc:
        st.error(f"Workshop **{escape.md(actor.workspace)}** can't take this run yet:\n\n"
                 + "\n".join(f"- {escape.md(p)}" for p in exc.problems))
        return None


def workshop_badge() -> None:
    """A line in the sidebar saying which workshop this session is in."""
    if notice := st.session_state.pop(NOTICE, None):
        st.sidebar.warning(escape.md(notice))
    ws, user, presenter = current()
    if ws is None:
        if waiting := pending():
            st.sidebar.caption("Workshop")
            st.sidebar.markdown(f"**{escape.md(waiting)}** · not joined yet")
            st.sidebar.page_link("pages/workshop.py", label="Join it", icon="🏆")
        return
    st.sidebar.caption("Workshop")
    st.sidebar.markdown(f"**{escape.md(ws.name)}** · {escape.md(user)}"
                        + (" (presenter)" if presenter else "")
                        + (" · ended" if ws.ended is not None else ""))
    st.sidebar.page_link("pages/workshop.py", label="Leaderboard", icon="🏆")
