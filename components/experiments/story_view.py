"""A story on screen: its runs training live, then the walkthrough with a chart."""
from __future__ import annotations

import streamlit as st

from components.base.chart_cache import cached_chart, spec_for
from components.base.format import ordinal, percent, status_text
from components.base.polling import end_polling, live_fragment
from components.base.services import current_runs, live_snapshot, shared_value
from playground.common import escape
from playground.experiments import stories as S
from playground.runs.store import Run, Store


def story_runs(record: S.StoryRecord) -> dict[str, Run | None]:
    """The story's runs as they are now, from the server's shared snapshot."""
    now = current_runs(list(record.runs.values()))
    return {role: now[run_id] for role, run_id in record.runs.items()}


def story_progress(story: S.Story, record: S.StoryRecord) -> None:
    """One line per run: what it is, where it is (in line, training, done) and its score."""
    runs = story_runs(record)
    snap = live_snapshot()
    for step in story.steps:
        run = runs.get(step.role)
        # One horizontal block per line, not three columns: this redraws every second in
        # every session of a room opening Home.
        line = st.container(horizontal=True, vertical_alignment="center")
        line.markdown(f"**{step.label}**", width=260)
        right = line
        if run is None:
            right.warning("This run was deleted.")
        elif run.status == "queued":
            place = snap.place(run.id)
            waits = (" (waits for its teacher)" if step.teacher else "")
            right.progress(0.0, text=f"⏳ {ordinal(place)} in line{waits}" if place
                           else f"{status_text('queued')}{waits}")
        elif run.status == "running":
            epochs = snap.epochs.get(run.id, ())
            score = (f" · validation accuracy so far {percent(epochs[-1]['val_accuracy'])}"
                     if epochs else "")
            right.progress(min(1.0, run.progress),
                           text=f"{status_text('running')}: {run.progress:.0%}{score}")
        elif run.status == "finished":
            right.progress(1.0, text=f"{status_text('finished')}: test accuracy "
                                     f"{percent(run.metrics.get('accuracy'))}")
        else:
            right.error(f"{status_text(run.status)}: "
                        f"{escape.md((run.error or '').split(chr(10))[0])}")


def story_result(walk: S.Walkthrough, key: str, record: S.StoryRecord) -> None:
    st.info(f"**{walk.headline}**")
    name = ("story", key, tuple(sorted(record.runs.values())))
    height = cached_chart_height(name, walk)
    cached_chart(name, lambda: walk.chart, width="stretch", height=height + 80,
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
    live_snapshot(fresh=True)
    state = S.story_state(story_runs(record)) if record else "active"

    @live_fragment(state == "active")
    def live() -> None:
        rec = record or (ensure() if ensure else None)
        if rec is None:
            st.info("Starting the story…")
            return
        now = S.story_state(story_runs(rec))
        if now == "finished":
            if state != "finished":
                end_polling()  # a full rerun draws the result and stops the polling
            # Computed once per server: a room opening Home shares one walkthrough.
            walk = shared_value(("walkthrough", key, tuple(sorted(rec.runs.values()))),
                                lambda: S.walkthrough(story, store, rec))
            story_result(walk, key, rec)
            return
        if now == "broken":
            st.warning("A run of this story failed, was cancelled or deleted, so there is "
                       "no walkthrough for it. Run the story again.")
        else:
            st.caption("The runs train one after another in the background; this updates "
                       "by itself.")
        story_progress(story, rec)
        if state == "active" and now != "active":
            end_polling()

    live()
    return record


def cached_chart_height(name: tuple, walk: S.Walkthrough) -> int:
    """The walkthrough chart's own height (read from its spec, built once)."""

    return int(spec_for(name, lambda: walk.chart).get("height", 240))
