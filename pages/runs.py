"""Runs: what is training and waiting, live; what has ended, a page at a time."""
import streamlit as st

from components.run_list import ended_runs, live_runs, pick_scope
from components.shared import app_shell_guard, get_store

app_shell_guard()

st.title("Runs")
store = get_store()
scope = pick_scope()
ended_runs(store, scope, live=live_runs(store, scope))
