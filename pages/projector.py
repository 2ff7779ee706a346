"""Projector: a workshop's leaderboards for the room's screen, at their own address
(/projector?ws=NAME): large type, one board at a time, updating itself; no presenter panels,
no keys, nothing private."""
import streamlit as st

from components.base.keys.workshop import NAME as WS
from components.base.services import get_store
from components.experiments.workshop_projector import projector_view
from components.shell.guard import app_shell_guard
from components.shell.projector import CYCLE_SECONDS, ROWS, projector_page_style
from playground.experiments.workshop import (
    WorkshopError,
    clean_name,
    list_workspaces,
    load_workspace,
)

app_shell_guard()
projector_page_style()
qp = st.query_params
name = None
try:
    name = clean_name(qp.get("ws") or st.session_state.get(WS) or "")
except WorkshopError:
    pass
if name is None or load_workspace(get_store().home, name) is None:
    st.title("Projector")
    rooms = list_workspaces(get_store().home)
    if not rooms:
        st.info("No workshop is open on this server. Open one on the Workshop page.")
        st.stop()
    picked = st.selectbox("Which workshop's boards?", rooms, key="projector_workshop")
    if st.button("Show its boards", key="projector_show", type="primary"):
        qp["ws"] = picked
        st.rerun()
    st.stop()
qp["ws"] = name
projector_view(name, qp.get("via"), CYCLE_SECONDS, ROWS)
