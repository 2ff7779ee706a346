"""The workshop's shared leaderboards and each person's own runs with their place in line."""
from __future__ import annotations

from collections import Counter

import pandas as pd
import streamlit as st

from components.base.format import md_table, status_text
from components.base.services import get_store, live_snapshot, shared_value
from playground.common import escape
from playground.experiments.leaderboards import leaderboards
from playground.experiments.workshop import REMOVED, Workspace
from playground.runs.store import Run


def removed(entry) -> bool:
    """Whether the person behind this entry was removed from the room (marked on every
    board, never hidden: the room saw the run)."""
    return bool(getattr(entry, "removed", False)) or entry.owner.endswith(REMOVED)


def who(entry) -> str:
    """The entry's person as the boards show them, removed people marked."""
    name = entry.owner[: -len(REMOVED)] if entry.owner.endswith(REMOVED) else entry.owner
    return f"{name} (removed)" if removed(entry) else name


def score_label(board) -> str:
    """The one score column's name: what the board ranks by."""
    return getattr(board, "score_label", None) or SCORE_LABELS.get(board.key, "accuracy")


SCORE_LABELS = {"smallest": "size", "fastest": "time per answer"}


def board_rows(board, me: str | None = None) -> list[dict[str, str]]:
    """One row per entry: place, person, the run in words, the score."""
    rows = []
    for i, e in enumerate(board.entries, 1):
        row = {"#": str(i), "who": who(e) + ("  ← you" if me and e.owner == me else ""),
               "run": e.label, score_label(board): e.shown}
        rows.append(row)
    return rows


def _board_table(board, me: str | None) -> pd.DataFrame:
    return md_table(pd.DataFrame(board_rows(board, me)).set_index("#"))


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


def room_boards(ws: Workspace, dataset: str | None = None) -> tuple[str | None, list]:
    """(dataset, boards) of the room now: the lesson's dataset, or `dataset`, else the one
    most runs used; built once per server each time a run ends."""
    runs = _finished(ws.name)
    if dataset is None:
        dataset = ws.lesson.values.get("dataset") or next(
            (d for d, _ in Counter(r.config.dataset for r in runs).most_common()), None)
    if dataset is None:
        return None, []
    return dataset, shared_value(("workshop_boards", ws.name, ws.version, dataset,
                                  live_snapshot().ended),
                                 lambda: leaderboards(runs, ws.boards, dataset))


def leaderboard(ws: Workspace, me: str | None) -> None:
    dataset = pick_dataset(ws, _finished(ws.name))
    if dataset is None:
        st.info("No finished runs in this workshop yet. Train one: it shows up here when "
                "it is done.")
        return
    _, boards = room_boards(ws, dataset)
    cols = st.columns(2)
    for i, board in enumerate(boards):
        with cols[i % 2].container(border=True):
            st.markdown(f"#### {board.title}")
            st.caption(board.help)
            if board.entries:
                st.table(_board_table(board, me))  # plain HTML: readable on a projector
            else:
                st.caption("Nobody qualifies yet.")


def board_html(board, rows: int) -> str:
    """One board as a plain HTML table for the projector page: every cell escaped, names and
    scores never cut (the run's words wrap instead), at most `rows` rows."""
    entries = board_rows(board)[:rows]
    gone = [removed(e) for e in board.entries[:rows]]
    if not entries:
        return '<p class="pj-empty">Nobody qualifies yet.</p>'
    heads = list(entries[0])
    head = "".join(f'<th class="pj-{_css(h)}">{escape.html(h.capitalize())}</th>'
                   for h in heads)
    body = "".join(
        "<tr" + (' class="pj-removed"' if out else "") + ">"
        + "".join(f'<td class="pj-{_css(h)}">{escape.html(row.get(h, ""))}</td>'
                  for h in heads) + "</tr>" for row, out in zip(entries, gone, strict=True))
    return f'<table class="pj-board"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _css(head: str) -> str:
    return {"#": "place", "who": "who", "run": "run", "privacy": "privacy"}.get(head, "score")


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
            st.markdown(f"- {status_text('queued')} · **{where}** · "
                        f"{escape.md(run.config.label())}")
        else:
            st.markdown(f"- {status_text('running')} {run.progress:.0%} · "
                        f"{escape.md(run.config.label())}")
    st.caption("The queue takes turns: whoever was served least recently goes next, so "
               "nobody waits behind someone else's long list.")
