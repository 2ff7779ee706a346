"""Every page runs inside app.py's shell, also when opened by a deep link."""
from __future__ import annotations

import gc
import importlib

import streamlit as st

from components.base.entry import _shell
from components.base.keys import shell as shell_keys
from components.base.services import ensure_workers
from components.shell.navigation import declare_pages
from components.shell.sidebar import render_sidebar

# Imported before the first page is drawn, so their objects are frozen with the rest.
PAGE_MODULES = ("components.runs.run_card", "components.runs.run_list",
                "components.experiments.story_view", "components.experiments.sweep_view",
                "components.experiments.workshop_board", "components.training.run_settings",
                "components.explain.grid", "components.explain.insights",
                "components.results.comparison", "components.results.pareto_view",
                "components.results.confusion_diff", "components.results.export_buttons",
                "components.data.upload_form", "components.teaching.glossary_learn")


@st.cache_resource(show_spinner=False)
def freeze_startup_objects() -> int:
    """Move everything imported so far out of the garbage collector's sight (gc.freeze).

    Torch, pandas, Altair and friends leave ~300k long-lived objects; every full collection
    walked all of them (Streamlit runs gc.collect(2) after each script run unless
    runner.postScriptGC is off, and Python's own full collections do the same), which was
    most of the server's CPU while a room watched runs train. Frozen objects are never
    walked again; whatever pages create afterwards is collected as usual.
    """
    for name in PAGE_MODULES:
        importlib.import_module(name)
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def app_shell_guard() -> None:
    """Make a page opened by deep link on a fresh server run inside app.py's navigation.

    Streamlit assumes its legacy pages/ mode until the first st.navigation call, so the
    very first visit to /runs or /compare runs that page alone, without the sidebar or the
    workers. Declaring the app's pages (st.navigation) ends that mode for the server; one
    rerun then routes through app.py to the same URL. Only a session's first run is redone,
    so no click can be lost. (AppTest starts every run in legacy mode; after its first run
    the page draws the sidebar itself.)
    """
    if not getattr(_shell, "active", False):
        if not st.session_state.get(shell_keys.STARTED):
            st.session_state[shell_keys.STARTED] = True
            declare_pages(links=False)
            st.rerun()
        ensure_workers()
        freeze_startup_objects()
        render_sidebar()
