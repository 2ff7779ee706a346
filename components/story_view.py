"""A story on screen: its runs training live, then the walkthrough with a chart."""
from __future__ import annotations

import streamlit as st

from components.format import percent, status_text
from components.shared import end_polling, live_fragment
from playground import stories as S
from playground.store import Store
from playground.workshop import queue_positions


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def story_progress(store: Store, story: S.Story, record: S.StoryRecord) -> None:
    """One line per run: what it is, where it is (in line, training, done) and its score."""
    runs = S.story_runs(store, record)
    places = queue_positions(store) if any(r and r.status == "queued"
                                           for r in runs.values()) else {}
    for step in story.steps:
        run = runs.get(step.role)
        left, right = st.columns([2, 3])
        left.markdown(f"**{step.label}**")
        if run is None:
            right.warning("This run was deleted.")
        elif run.status == "queued":
            place = places.get(run.id)
            waits = (" (waits for its teacher)" if step.teacher else "")
            right.progress(0.0, text=f"⏳ {_ordinal(place)} in line{waits}" if place
                           else f"{status_text('queued')}{waits}")
        elif run.status == "running":
            epochs = store.epochs(run.id)
            score = (f" · validation accuracy so far {percent(epochs[-1]['val_accuracy'])}"
                     if epochs else "")
            right.progress(min(1.0, run.progress),
                           text=f"{status_text('running')}: {run.progress:.0%}{score}")
        elif run.status == "finished":
            right.progress(1.0, text=f"{status_text('finished')}: test accuracy "
                                     f"{percent(run.metrics.get('accuracy'))}")
        else:
            right.error(f"{status_text(run.status)}: {(run.error or '').split(chr(10))[0]}")


def story_result(walk: S.Walkthrough, key: str) -> None:
    st.info(f"**{walk.headline}**")
    height = walk.chart.to_dict().get("height", 240)
    st.altair_chart(walk.chart, width="stretch", height=int(height) + 80,
                    key=f"story_chart_{key}")
    for line in walk.paragraphs:
        st.markdown(line)
    st.dataframe(walk.table, width="stretch")
    st.caption("Every number above comes from the runs that just trained; they are on the "
               "Runs page with their full details.")


def story_live(store: Store, key: str, record: S.StoryRecord | None,
               ensure=None) -> S.StoryRecord | None:
    """Progress while the story's runs train, then its walkthrough. `ensure` (optional)
    is called to get the record when another visitor is still queueing it."""
    story = S.STORIES[key]
    state = S.story_state(S.story_runs(store, record)) if record else "active"

    @live_fragment(state == "active")
    def live() -> None:
        rec = record or (ensure() if ensure else None)
        if rec is None:
            st.info("Starting the story…")
            return
        now = S.story_state(S.story_runs(store, rec))
        if now == "finished":
            if state != "finished":
                end_polling()  # a full rerun draws the result and stops the polling
            walk = S.walkthrough(story, store, rec)
            story_result(walk, key)
            return
        if now == "broken":
            st.warning("A run of this story failed, was cancelled or deleted, so there is "
                       "no walkthrough for it. Run the story again.")
        else:
            st.caption("The runs train one after another in the background; this updates "
                       "by itself.")
        story_progress(store, story, rec)
        if state == "active" and now != "active":
            end_polling()

    live()
    return record
