"""Sweeps: one setting varied over several values; the trade-off curve as runs finish."""
import streamlit as st

from components.base.services import get_store
from components.experiments.sweep_view import pick_sweep, sweep_view
from components.shell.guard import app_shell_guard

app_shell_guard()

st.title("Sweeps")
st.write("A sweep trains the same setup several times, changing one setting. The curve "
         "shows what each value buys and costs. Start one from the **Train** page.")
store = get_store()
sweep = pick_sweep(store)
if sweep is not None:
    sweep_view(store, sweep)
