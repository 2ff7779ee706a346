"""The workshop's shared leaderboards and each person's own runs with their place in line."""
from __future__ import annotations

from collections import Counter

import pandas as pd
import streamlit as st

from components.base.format import percent, status_text
from components.base.services import get_store, live_snapshot, shared_value
from playground.experiments.leaderboards import leaderboards
from playground.experiments.workshop import Workspace
from playground.runs.store import Run


def _board_table(board, me: str | None) -> pd.DataFrame:
    rows = [{"#": i, "who": e.owner + ("  ← you" if e.owner == me else ""),
             "score": e.shown, "accuracy": percent(e.accuracy), "run": e.label,
             "id": e.run_id} for i, e in enumerate(board.entries, 1)]
    return pd.DataFrame(rows).set_index("#")


def pick_dataset(ws: Workspace, runs: list[Run]) -> str | None:
    """Boards compare runs on one dataset: the lesson's, else a choice among those used."""
    fixed = ws.lesson.values.get("dataset")
    used = Counter(r.config.dataset for r in runs if r.status == "finished")
    if fixed:
        return fixed
    if not used:
        return None
    names = [d for d, _ in used.most_common()]
    return st.selectbox("Dataset on the boards", names, key="workshop_board_dataset",
                        help="Scores are only comparable on the same data.")


def _finished(ws_name: str) -> list[Run]:
    """The workshop's finished runs: read once per server each time a run ends."""
    ended = live_snapshot().ended
    return shared_value(("workshop_finished", ws_name, ended), lambda: get_store().list_runs(
        ("finished",), workspace=ws_name))


def leaderboard(ws: Workspace, me: str | None) -> None:
    runs = _finished(ws.name)
    dataset = pick_dataset(ws, runs)
    if dataset is None:
        st.info("No finished runs in this workshop yet. Train one: it shows up here when "
                "it is done.")
        return
    boards = shared_value(("workshop_boards", ws.name, ws.version, dataset,
                           live_snapshot().ended),
                          lambda: leaderboards(runs, ws.boards, dataset))
    cols = st.columns(2)
    for i, board in enumerate(boards):
        with cols[i % 2].container(border=True):
            st.markdown(f"#### {board.title}")
            st.caption(board.help)
            if board.entries:
                st.table(_board_table(board, me))  # plain HTML: readable on a projector
            else:
                st.caption("Nobody qualifies yet.")


def my_runs(ws: Workspace, me: str) -> None:
    """This person's runs still waiting or training, with their place in line."""
    snap = live_snapshot()
    mine = [r for r in snap.active if r.workspace == ws.name and r.owner == me]
    limit = ws.limits
    waiting = snap.counts.get("queued", 0)
    st.markdown(f"**Your runs in progress: {len(mine)}** (each person may have "
                f"{limit.max_active} at once) · {waiting} waiting on the server in all")
    for run in mine:
        if run.status == "queued":
            place = snap.place(run.id)
            where = f"{place} of {waiting} in line" if place else "in line"
            st.markdown(f"- {status_text('queued')} · **{where}** · {run.config.label()}")
        else:
            st.markdown(f"- {status_text('running')} {run.progress:.0%} · "
                        f"{run.config.label()}")
    st.caption("The queue takes turns: whoever was served least recently goes next, so "
               "nobody waits behind someone else's long list.")
