"""The workshop's shared leaderboards and each person's own runs with their place in line."""
from __future__ import annotations

from collections import Counter

import pandas as pd
import streamlit as st

from components.base.format import status_text
from components.base.services import get_store, live_snapshot, shared_value
from playground.common import escape
from playground.experiments.leaderboards import Board, leaderboards
from playground.experiments.workshop import Lesson, Workspace, setting_in_words, setting_name
from playground.runs.store import Run


def lesson_in_words(lesson: Lesson) -> str:
    """The lesson's fixed settings and hidden controls, in words, for Markdown (everything
    escaped: an upload's name can be a fixed dataset)."""
    fixed = "; ".join(escape.md(setting_in_words(k, v)) for k, v in lesson.values.items())
    text = f"**This lesson:** {fixed or 'no fixed settings'}"
    if lesson.hide:
        text += "; hidden on Train: " + ", ".join(escape.md(setting_name(h))
                                                  for h in lesson.hide)
    return text


def _board_table(board: Board, me: str | None) -> pd.DataFrame:
    """The board's rows for st.table, which renders Markdown in its cells: the names and
    the run's words (typed by people: names, uploaded class names) escaped."""
    rows = board.rows(me)
    for row, entry in zip(rows, board.entries, strict=True):
        you = row["who"][len(entry.who):]  # the "← you" the board adds for this person
        row["who"] = escape.md(entry.who) + you
        row["run"] = escape.md(row["run"])
    return pd.DataFrame(rows).set_index("#")


def left_out_line(board: Board) -> str | None:
    """Why some runs are not ranked on this board, in one plain line (None: all are)."""
    if not board.left_out:
        return None
    return "Not ranked: " + "; ".join(board.left_out) + "."


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


def room_boards(ws: Workspace, dataset: str | None = None) -> tuple[str | None, list[Board]]:
    """(dataset, boards) of the room now: the lesson's dataset, or `dataset`, else the one
    most runs used; built once per server each time a run ends or the room changes (the
    workshop file says who was removed)."""
    runs = _finished(ws.name)
    if dataset is None:
        dataset = ws.lesson.values.get("dataset") or next(
            (d for d, _ in Counter(r.config.dataset for r in runs).most_common()), None)
    if dataset is None:
        return None, []
    return dataset, shared_value(("workshop_boards", ws.name, ws.version, dataset,
                                  live_snapshot().ended),
                                 lambda: leaderboards(runs, ws.boards, dataset, ws=ws))


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
            if line := left_out_line(board):
                st.caption(line)


def board_html(board: Board, rows: int) -> str:
    """One board as a plain HTML table for the projector page: every cell escaped, names,
    scores, ε and δ never cut (the run's words wrap instead), at most `rows` rows, removed
    people marked."""
    entries = board.rows()[:rows]
    if not entries:
        return '<p class="pj-empty">Nobody qualifies yet.</p>'
    gone = [e.removed for e in board.entries[:rows]]
    heads = list(entries[0])
    classes = {h: _css(board, h) for h in heads}
    head = "".join(f'<th class="pj-{classes[h]}">{escape.html(HEADS.get(h, h))}</th>'
                   for h in heads)
    body = "".join(
        "<tr" + (' class="pj-removed"' if out else "") + ">"
        + "".join(f'<td class="pj-{classes[h]}">{escape.html(str(row.get(h, "")))}</td>'
                  for h in heads) + "</tr>" for row, out in zip(entries, gone, strict=True))
    return f'<table class="pj-board"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


HEADS = {"who": "Who", "run": "Run"}  # ε and δ stay lower case: capitals are other letters


def _css(board: Board, head: str) -> str:
    """The column's class: place, who, run, the score, or the privacy columns (ε, δ)."""
    named = {"#": "place", "who": "who", "run": "run", board.score: "score"}
    return named.get(head, "privacy")


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
