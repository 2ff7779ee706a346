"""Which workshop this browser session is in, and queueing a run for it.

Session-state keys (set by the Workshop page; other pages only read them):
  workshop_name  the workspace name, once this session joined one
  workshop_user  the display name this person gave (also in the Workshop page's URL)
  workshop_key   the presenter key, only in the presenter's session, checked on entry
The Train page queues through `submit_from_session`, so its runs carry workspace and owner
and obey the workshop's caps and locked lesson settings.
"""
from __future__ import annotations

import streamlit as st

from components.base.services import get_store
from playground.experiments.workshop import (
    WorkshopError,
    Workspace,
    load_workspace,
    submit_to_workspace,
)
from playground.runs.queue import submit
from playground.runs.store import Store
from playground.training.config import RunConfig

WS, USER, KEY = "workshop_name", "workshop_user", "workshop_key"


def current() -> tuple[Workspace | None, str | None, bool]:
    """(workspace, display name, is presenter) of this session; (None, None, False) when
    the session is not in a workshop."""
    name = st.session_state.get(WS)
    if not name:
        return None, None, False
    ws = load_workspace(get_store().home, name)
    if ws is None:
        return None, None, False
    return ws, st.session_state.get(USER), ws.is_presenter_key(st.session_state.get(KEY))


def leave() -> None:
    for k in (WS, USER, KEY):
        st.session_state.pop(k, None)


def submit_from_session(store: Store, config: RunConfig) -> str | None:
    """Queue `config` (tagged with the workshop and person when this session is in one);
    show why not and return None when the workshop refuses it."""
    ws, user, presenter = current()
    if ws is None or not user:
        return submit(store, config).run_id
    try:
        return submit_to_workspace(store, ws, user, config, presenter).run_id
    except WorkshopError as exc:
        st.error(f"Workshop **{ws.name}** can't take this run yet:\n\n"
                 + "\n".join(f"- {p}" for p in exc.problems))
        return None


def workshop_badge() -> None:
    """A line in the sidebar saying which workshop this session is in."""
    ws, user, presenter = current()
    if ws is None or not user:
        return
    st.sidebar.caption("Workshop")
    st.sidebar.markdown(f"**{ws.name}** · {user}" + (" (presenter)" if presenter else ""))
    st.sidebar.page_link("pages/workshop.py", label="Leaderboard", icon="🏆")
