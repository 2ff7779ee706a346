"""Sweeps: one setting varied over several values; the trade-off curve as runs finish."""
import streamlit as st

from components.shared import app_shell_guard, get_store
from components.sweep_view import pick_sweep, sweep_view

app_shell_guard()

st.title("Sweeps")
st.write("A sweep trains the same setup several times, changing one setting. The curve "
         "shows what each value buys and costs. Start one from the **Train** page.")
store = get_store()
sweep = pick_sweep(store)
if sweep is not None:
    sweep_view(store, sweep)
