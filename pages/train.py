"""Train: pick data, a model and settings; queue a run that trains in the background."""
import streamlit as st

from components.dataset_preview import dataset_preview
from components.run_settings import run_settings
from components.shared import app_shell_guard, get_store
from playground.config import ConfigError, make_config
from playground.submit import submit

app_shell_guard()

st.title("Train a model")
st.write(
    "Pick a dataset and a model, adjust the settings, and press **Train**. The run trains "
    "in the background: keep exploring, and watch it on the **Runs** page."
)

settings_col, preview_col = st.columns([1, 1], gap="large")
with settings_col:
    values = run_settings()
    if st.button("Train", type="primary", key="train_submit", icon="▶️"):
        try:
            config = make_config(**values)
        except ConfigError as exc:
            st.error("This run can't start yet:\n\n" + "\n".join(f"- {p}" for p in exc.problems))
        else:
            run_id = submit(get_store(), config)
            st.session_state["train_last_run"] = (run_id, config.label())
    if last := st.session_state.get("train_last_run"):
        st.success(f"Queued run **{last[0]}** ({last[1]}). It trains in the background.")
        st.page_link("pages/runs.py", label="Follow it on the Runs page", icon="📋")

with preview_col:
    st.subheader("The data")
    dataset_preview(values["dataset"], int(values["seed"]), float(values.get("noise", 0.2)))
