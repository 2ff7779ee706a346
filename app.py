"""Trade-off Playground: the entry point. `make run` starts it on port 8501."""
import streamlit as st

from components.base.entry import run_in_shell
from components.base.services import ensure_workers
from components.shell.guard import freeze_startup_objects
from components.shell.sidebar import render_sidebar

st.set_page_config(page_title="Trade-off Playground", page_icon="⚖️", layout="wide")
ensure_workers()
freeze_startup_objects()  # once per server: full garbage collections stop walking torch & co

navigation = st.navigation([
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/train.py", title="Train", icon="🏋️", url_path="train"),
    st.Page("pages/stories.py", title="Stories", icon="📚", url_path="stories"),
    st.Page("pages/runs.py", title="Runs", icon="📋"),
    st.Page("pages/compare.py", title="Compare", icon="⚖️"),
    st.Page("pages/sweeps.py", title="Sweeps", icon="📈", url_path="sweeps"),
    st.Page("pages/explain.py", title="Explain", icon="🔍", url_path="explain"),
    st.Page("pages/your_data.py", title="Your data", icon="📤", url_path="your_data"),
    st.Page("pages/learn.py", title="Learn", icon="📖", url_path="learn"),
    st.Page("pages/workshop.py", title="Workshop", icon="🏆", url_path="workshop"),
])
render_sidebar(navigation.url_path)
run_in_shell(navigation)
