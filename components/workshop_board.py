"""The workshop's shared leaderboards and each person's own runs with their place in line."""
from __future__ import annotations

from collections import Counter

import pandas as pd
import streamlit as st

from components.format import percent, status_text
from playground.store import ACTIVE, Run, Store
from playground.workshop import Workspace, leaderboards, owner_runs, queue_positions


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


def leaderboard(ws: Workspace, runs: list[Run], me: str | None) -> None:
    dataset = pick_dataset(ws, runs)
    if dataset is None:
        st.info("No finished runs in this workshop yet. Train one: it shows up here when "
                "it is done.")
        return
    boards = leaderboards(runs, ws.boards, dataset)
    cols = st.columns(2)
    for i, board in enumerate(boards):
        with cols[i % 2].container(border=True):
            st.markdown(f"#### {board.title}")
            st.caption(board.help)
            if board.entries:
                st.table(_board_table(board, me))  # plain HTML: readable on a projector
            else:
                st.caption("Nobody qualifies yet.")


def my_runs(store: Store, ws: Workspace, me: str) -> None:
    """This person's runs still waiting or training, with their place in line."""
    mine = owner_runs(store, ws.name, me, ACTIVE)
    limit = ws.limits
    places = queue_positions(store) if any(r.status == "queued" for r in mine) else {}
    waiting = store.counts().get("queued", 0)
    st.markdown(f"**Your runs in progress: {len(mine)}** (each person may have "
                f"{limit.max_active} at once) · {waiting} waiting on the server in all")
    for run in mine:
        if run.status == "queued":
            where = (f"{places[run.id]} of {waiting} in line" if run.id in places
                     else "in line")
            st.markdown(f"- {status_text('queued')} · **{where}** · {run.config.label()}")
        else:
            st.markdown(f"- {status_text('running')} {run.progress:.0%} · "
                        f"{run.config.label()}")
    st.caption("The queue takes turns: whoever was served least recently goes next, so "
               "nobody waits behind someone else's long list.")
