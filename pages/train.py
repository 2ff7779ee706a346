"""Train: pick data, a model and settings; queue a run that trains in the background."""
import streamlit as st

from components.base.keys import train as keys
from components.base.services import get_store
from components.data.dataset_preview import dataset_preview
from components.experiments.sweep_control import sweep_control
from components.experiments.workshop_session import submit_from_session
from components.shell.guard import app_shell_guard
from components.training.run_settings import run_settings
from components.training.url_presets import (
    lesson_note,
    share_box,
    show_problems,
    sync_url,
    take_presets,
)
from playground.training.config import ConfigError, make_config

app_shell_guard()

st.title("Train a model")
st.write(
    "Pick a dataset and a model, adjust the settings, and press **Train**. The run trains "
    "in the background: keep exploring, and watch it on the **Runs** page."
)

take_presets()  # a shared link or another page's "try this" sets the controls
show_problems()
lesson_note()

settings_col, preview_col = st.columns([1, 1], gap="large")
with settings_col:
    values = run_settings()
    sync_url(values)  # the address bar always holds this setup
    if st.button("Train", type="primary", key="train_submit", icon="▶️"):
        try:
            config = make_config(**values)
        except ConfigError as exc:
            st.error("This run can't start yet:\n\n" + "\n".join(f"- {p}" for p in exc.problems))
        else:
            # In a workshop the run carries the workshop and the person, within its caps.
            if run_id := submit_from_session(get_store(), config):
                st.session_state[keys.LAST_RUN] = (run_id, config.label())
    if last := st.session_state.get(keys.LAST_RUN):
        st.success(f"Queued run **{last[0]}** ({last[1]}). It trains in the background.")
        st.page_link("pages/runs.py", label="Follow it on the Runs page", icon="📋")
    sweep_control(values)
    share_box(values)

with preview_col:
    st.subheader("The data")
    dataset_preview(values["dataset"], int(values["seed"]), float(values.get("noise", 0.2)))
