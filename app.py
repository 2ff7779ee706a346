"""Trade-off Playground: the entry point. `make run` starts it on port 8501."""
import streamlit as st

from components.base.entry import run_in_shell
from components.base.operator import announce_operator_key
from components.base.services import ensure_workers
from components.base.style import apply_style
from components.shell.guard import freeze_startup_objects
from components.shell.navigation import declare_pages
from components.shell.sidebar import render_sidebar
from playground.common.paths import default_home

st.set_page_config(page_title="Trade-off Playground", page_icon="⚖️", layout="wide")
apply_style()  # readable contrast for captions on every page
# First, so the sidebar lists the pages by title while the workers start on a fresh server.
navigation = declare_pages()
ensure_workers()
announce_operator_key(str(default_home()))  # once per server, in its console
freeze_startup_objects()  # once per server: full garbage collections stop walking torch & co
render_sidebar(navigation.url_path)
run_in_shell(navigation)
