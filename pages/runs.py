"""Runs: what is training and waiting, live; what has ended, a page at a time."""
import streamlit as st

from components.base.services import get_store
from components.runs.run_card import refusals
from components.runs.run_list import ended_runs, live_runs, pick_scope
from components.shell.guard import app_shell_guard

app_shell_guard()

st.title("Runs")
refusals()
store = get_store()
scope = pick_scope(store)
ended_runs(store, scope, live=live_runs(store, scope))
