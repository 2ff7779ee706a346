"""Runs: every run, live while it trains; cancel or delete; the numbers when done."""
import streamlit as st

from components.run_card import run_card
from components.shared import any_active, app_shell_guard, end_polling, get_store, live_fragment

app_shell_guard()

st.title("Runs")
store = get_store()
active = any_active(store)


@live_fragment(active)
def runs_list() -> None:
    runs = store.list_runs()
    if not runs:
        st.info("No runs yet. Start one on the Train page.")
        st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        return
    epochs = store.epochs_for([r.id for r in runs])
    by_run: dict[str, list] = {}
    for e in epochs:
        by_run.setdefault(e["run_id"], []).append(e)
    for run in runs:
        run_card(run, store, by_run.get(run.id, []))
    if active and not any(r.active for r in runs):
        end_polling()  # the last run ended: a full rerun stops the polling


runs_list()
