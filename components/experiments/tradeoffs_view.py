"""Try the trade-offs on my data: the button that queues the one-click comparison (once per
upload and person: pressing again shows it), and the walkthrough, live while its runs train,
written from their numbers once they have finished; after a reload the page shows the
comparison the person started last."""
from __future__ import annotations

import streamlit as st

from components.base.keys import your_data as keys
from components.base.polling import end_polling, live_fragment
from components.base.services import live_snapshot, shared_value
from components.data.upload_list import save_button
from components.experiments.story_view import story_progress, story_result, story_runs
from playground.common import escape
from playground.common.permissions import LOCAL, Actor
from playground.data import uploads
from playground.experiments import tradeoffs as T
from playground.experiments.stories import story_state
from playground.runs.store import Store

BUTTON = "Try the trade-offs on my data"
SHOW = "Show the trade-offs on this data"
AGAIN = "Run the trade-offs again"


def queue(store: Store, manifest: dict, actor: Actor = LOCAL, *, again: bool = False) -> bool:
    """Show the person's comparison on this upload, queueing it first only when there is none
    worth showing (or `again`); False (problem shown) when refused."""
    try:
        record, _ = T.ensure_tradeoffs(store, manifest, actor, again=again)
    except (ValueError, PermissionError) as exc:
        st.error("Nothing was queued. " + escape.md(str(getattr(exc, "problem", exc))))
        return False
    st.session_state[keys.TRADEOFFS] = manifest["name"]
    # None: another press is writing it this moment; the section finds it on the rerun.
    return record is None or bool(record.runs)  # refused steps are said with the walkthrough


def tradeoffs_button(store: Store, manifest: dict, actor: Actor = LOCAL, *,
                     key: str) -> None:
    done = T.record_for(store.home, manifest, actor) is not None
    if st.button(SHOW if done else BUTTON, key=key, icon="⚖️",
                 help="Shows the comparison you ran on this data." if done else
                      "Trains the same small model as it is, with privacy noise, made "
                      "smaller and (with a sensitive column) treating groups alike and "
                      "without that column, then explains what each cost and bought."):
        if queue(store, manifest, actor):
            st.rerun()  # the walkthrough is drawn above the list this button sits in


def save_buttons(prepared: uploads.Prepared, store: Store, actor: Actor = LOCAL) -> None:
    """"Save it and train on it" and "Try the trade-offs on my data" under a checked upload."""
    save_button(prepared, store, actor, then=lambda m: queue(store, m, actor), then_label=BUTTON)


def row_button(store: Store, actor: Actor = LOCAL):
    """The trade-offs button for each saved upload's row."""
    return lambda manifest, key: tradeoffs_button(store, manifest, actor, key=key)


def tradeoffs_section(store: Store, actor: Actor = LOCAL) -> None:
    """The walkthrough of the comparison this person opened last on this page, or after a
    reload the one they started last."""
    name = st.session_state.get(keys.TRADEOFFS)
    if name is None and (latest := T.latest_record(store.home, actor)) is not None:
        name = latest.dataset
    manifest = uploads.manifest_of(name, store.home) if name else None
    record = T.record_for(store.home, manifest, actor) if manifest else None
    if record is None:
        return
    story = T.as_story(manifest, record, escape.md)
    st.subheader(f"Trade-offs on {escape.md(name)}")
    for problem in record.refused:
        st.warning("Not queued: " + escape.md(problem))
    live_snapshot(fresh=True)
    state = story_state(story_runs(record))

    @live_fragment(state == "active")
    def live() -> None:
        now = story_state(story_runs(record))
        if now == "finished":
            if state != "finished":
                end_polling()
            walk = shared_value(("tradeoffs", tuple(sorted(record.runs.values()))),
                                lambda: T.walkthrough(store, manifest, record, escape.md))
            story_result(walk, story.key, record)
            return
        if now == "broken":
            st.warning("A run of this comparison failed, was cancelled or deleted, so there "
                       f"is no walkthrough for it. Press “{AGAIN}” to train it again.")
        else:
            st.caption("The runs train one after another in the background; the "
                       "walkthrough appears here by itself when they are done.")
        story_progress(story, record)
        if state == "active" and now != "active":
            end_polling()

    live()
    if state != "active" and st.button(
            AGAIN, key=f"your_data_tradeoffs_again_{name}", icon="🔁",
            help="Trains the same comparison once more, as new runs; the walkthrough then "
                 "reads from those."):
        if queue(store, manifest, actor, again=True):
            st.rerun()
