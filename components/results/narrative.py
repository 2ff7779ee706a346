"""A finished run's story on its card: what happened, in words, next to the numbers."""
from __future__ import annotations

import streamlit as st

from playground.results.narrative import run_story
from playground.runs.store import Run, Store


@st.cache_resource(ttl=2.0, show_spinner=False, max_entries=4)
def _finished(home: str) -> list[Run]:
    # One query per page refresh for all cards (the Runs page polls every second while
    # something trains), not one per card; shared, not copied (runs are only read).
    return Store(home).list_runs(statuses=("finished",))


def run_narrative(run: Run, store: Store, epochs: list[dict]) -> None:
    finished = _finished(str(store.home)) if run.config.techniques else []
    sentences = run_story(store, run, epochs, finished)
    if sentences:
        st.markdown("**What happened:** " + " ".join(sentences))
