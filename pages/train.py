"""Train: pick data, a model and settings; queue a run that trains in the background."""
import streamlit as st

from components.base.keys import train as keys
from components.base.services import get_store
from components.data.dataset_preview import dataset_preview
from components.experiments.sweep_control import sweep_control
from components.experiments.workshop_session import submit_from_session
from components.shell.guard import app_shell_guard
from components.training.run_settings import run_settings
from components.training.simple_mode import simple_settings
from components.training.url_presets import (
    keep_setup,
    lesson_note,
    share_box,
    show_problems,
    sync_url,
    take_presets,
    view_changed,
)
from playground.common import escape
from playground.training.config import ConfigError, make_config

app_shell_guard()

take_presets()  # a shared link or another page's "try this" sets the controls
ss = st.session_state
if keys.ALL_SETTINGS not in ss:  # the toggle's state, not a default (back from a page)
    ss[keys.ALL_SETTINGS] = ss.get(keys.ALL_SETTINGS_KEPT, False)

title_col, view_col = st.columns([3, 1], vertical_alignment="bottom")
title_col.title("Train a model")
full = view_col.toggle("All settings", key=keys.ALL_SETTINGS, on_change=view_changed,
                       help="Every setting of the run and of each technique.")
st.write("Pick the data and what matters to you, then press **Train**. It trains in the "
         "background: keep exploring, and watch it on the **Runs** page."
         if not full else "Every setting, for when you want to change one thing at a time.")
show_problems()
lesson_note()

settings_col, preview_col = st.columns([1, 1], gap="large")
with settings_col:
    action = st.container()  # near the top, so a phone reaches Train without scrolling
    values = run_settings() if full else simple_settings()
    sync_url(values)  # the address bar always holds this setup
    keep_setup(values)

with action:
    pressed = st.button("Train", type="primary", key="train_submit", icon="▶️")
    if pressed or ss.pop(keys.AUTOSTART, False):
        try:
            config = make_config(**values)
        except ConfigError as exc:
            st.error("This run can't start yet:\n\n"
                     + "\n".join(f"- {escape.md(p)}" for p in exc.problems))
        else:
            # In a workshop the run carries the workshop and the person, within its caps.
            if run_id := submit_from_session(get_store(), config):
                ss[keys.LAST_RUN] = (run_id, config.label())
    if last := ss.pop(keys.LAST_RUN, None):  # said once: never a stale banner on a return
        st.success(f"Queued run **{last[0]}** ({escape.md(last[1])}). It trains in the "
                   "background.")
        st.page_link("pages/runs.py", label="Follow it on the Runs page", icon="📋")

with settings_col:
    if full:
        sweep_control(values)
    share_box(values)

with preview_col:
    st.subheader("The data")
    dataset_preview(values["dataset"], int(values.get("seed", 0)),
                    float(values.get("noise", 0.2)))
