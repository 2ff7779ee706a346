"""Trade-off Playground: the entry point. `make run` starts it on port 8501."""
import streamlit as st

from components.shared import ensure_workers, render_sidebar, run_in_shell

st.set_page_config(page_title="Trade-off Playground", page_icon="⚖️", layout="wide")
ensure_workers()

navigation = st.navigation([
    st.Page("pages/train.py", title="Train", icon="🏋️", default=True),
    st.Page("pages/runs.py", title="Runs", icon="📋"),
    st.Page("pages/compare.py", title="Compare", icon="⚖️"),
])
render_sidebar()
run_in_shell(navigation)
