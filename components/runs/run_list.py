"""The Runs page's two halves: runs still queued or training (live, from the server's
shared snapshot) and runs that have ended (drawn once, a page at a time).

In a workshop a person sees their own runs first; "everyone" shows the whole workshop,
read-only (a participant gets no controls on others' runs; the presenter gets them on every
run in the workshop). Outside a workshop every run on the server is listed, and the local
user's controls are on every run outside workshops.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from components.base.format import human_bytes, percent, status_text
from components.base.keys import runs as keys
from components.base.keys.runs import LIVE_IDS
from components.base.polling import POLL_SECONDS, SLOW_POLL_SECONDS, end_polling, live_fragment
from components.base.services import live_snapshot
from components.experiments.workshop_session import current, session_actor
from components.results.export_buttons import mlflow_export
from components.runs.run_card import live_card, run_card
from playground.common.metric_registry import TECHNIQUE, plugin_metrics
from playground.common.permissions import LOCAL, Actor
from playground.runs.store import ENDED, Run, Store

PAGE_SIZE = 10  # cards
TABLE_PAGE_SIZE = 50  # rows of a whole workshop's table


@dataclass(frozen=True)
class Scope:
    """Whose runs the page lists: a workshop person's, a whole workshop's, or all."""

    workspace: str | None = None
    owner: str | None = None
    everything: bool = True  # outside workshops: every run on the server
    actor: Actor = LOCAL  # who is looking: the cards offer only what they may do

    def includes(self, run: Run) -> bool:
        if self.everything:
            return True
        return run.workspace == self.workspace and (self.owner is None or
                                                    run.owner == self.owner)

    @property
    def filters(self) -> dict[str, str | None]:
        if self.everything:
            return {}
        return {"workspace": self.workspace} | ({"owner": self.owner} if self.owner else {})

    @property
    def show_owner(self) -> bool:
        return not self.everything and self.owner is None

    @property
    def as_table(self) -> bool:
        """A whole workshop's ended runs as a read-only table (the presenter, who may act
        on every one of them, gets cards)."""
        return self.show_owner and not self.actor.presenter


def pick_scope() -> Scope:
    ws, me, presenter = current()
    if ws is None or not me:
        return Scope(actor=session_actor())
    actor = session_actor()
    choice = st.segmented_control(
        "Show", ["mine", "everyone"], default="mine", key="runs_scope",
        format_func={"mine": "My runs", "everyone": f"Everyone in {ws.name}"}.get,
        help="Your own runs, or every run queued in this workshop"
             + (" (you can act on all of them)." if presenter else
                " (to look at and compare: only their owners can change them)."))
    if choice == "everyone":
        return Scope(ws.name, None, everything=False, actor=actor)
    return Scope(ws.name, me, everything=False, actor=actor)


def live_runs(store: Store, scope: Scope) -> bool:
    """Queued and training runs, polled once a second while there are any: the cards come
    from the server's shared snapshot, so thirty sessions cost one store read. Returns
    whether there were any."""
    first = [r for r in live_snapshot(fresh=True).active if scope.includes(r)]
    st.session_state[LIVE_IDS] = [r.id for r in first]
    training = any(r.status == "running" for r in first)

    # Once a second while one of them trains (a new epoch shows within about a second);
    # every few seconds while they only wait in line.
    @live_fragment(bool(first), POLL_SECONDS if training else SLOW_POLL_SECONDS)
    def live() -> None:
        snap = live_snapshot()
        runs = [r for r in snap.active if scope.includes(r)]
        ids = [r.id for r in runs]
        if set(st.session_state.get(LIVE_IDS, ())) - set(ids) or \
                any(r.status == "running" for r in runs) != training:
            # A run ended or started: a full rerun moves it to the finished list, or polls
            # at the pace of a training run (and stops polling if nothing is left).
            end_polling()
        st.session_state[LIVE_IDS] = ids
        if not runs:
            return
        counts = snap.counts
        st.markdown(f"### Training and waiting ({len(runs)})\n\n:gray[On this server: "
                    f"**{counts.get('running', 0)}** training · **{counts.get('queued', 0)}** "
                    "waiting in line. Runs take turns: whoever was served least recently goes "
                    "next.]")
        for run in runs:
            live_card(run, store, snap.epochs.get(run.id, ()), snap.place(run.id),
                      scope.show_owner, scope.actor)

    live()
    return bool(first)


def ended_runs(store: Store, scope: Scope, live: bool) -> None:
    """Runs that have ended, newest first, one page at a time (`live`: the page already
    shows runs training or waiting): full cards of one's own runs, a table of a whole
    workshop's (a room's worth of cards is too much to read, and to draw)."""
    total = store.count_runs(ENDED, **scope.filters)
    if not total:
        if not live:
            st.info("No runs yet. Start one on the Train page.")
            st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        return
    size = TABLE_PAGE_SIZE if scope.as_table else PAGE_SIZE
    pages = (total + size - 1) // size
    page = min(st.session_state.get(keys.PAGE, 1), pages)
    st.subheader(f"Done ({total})")
    runs = store.list_runs(ENDED, limit=size, offset=(page - 1) * size, **scope.filters)
    if scope.as_table:
        st.caption("Everyone's runs in this workshop, newest first, to look at: Compare puts "
                   "any of them side by side; your own have their full cards, and their "
                   "buttons, under My runs.")
        st.dataframe(_table(runs), hide_index=True, width="stretch", key="runs_table")
    else:
        epochs = store.epochs_for([r.id for r in runs])
        by_run: dict[str, list] = {}
        for e in epochs:
            by_run.setdefault(e["run_id"], []).append(e)
        for run in runs:
            run_card(run, store, by_run.get(run.id, []), scope.show_owner, scope.actor)
    if pages > 1:
        _pager(page, pages, total, size)
    if any(r.status == "finished" for r in runs):
        with st.expander("Send the finished runs on this page to MLflow"):
            mlflow_export(runs, store, key="runs_mlflow", actor=scope.actor)


def _table(runs: list[Run]) -> pd.DataFrame:
    """One line per run: accuracy, what the techniques measure (ε, ...), size, time."""
    extra = [m for m in plugin_metrics() if m.section == TECHNIQUE and m.pareto
             and any(m.value(r.metrics) is not None for r in runs)]
    rows = []
    for r in runs:
        m = r.metrics
        rows.append({"run": r.id, "who": r.owner or "", "what": r.config.label(),
                     "status": status_text(r.status), "accuracy": percent(m.get("accuracy")),
                     **{x.column: x.format(x.value(m)) for x in extra},
                     "size": human_bytes(m["size_bytes"]) if m.get("size_bytes") else "—",
                     "training time": f"{m['train_seconds']:.1f} s"
                     if m.get("train_seconds") else "—"})
    return pd.DataFrame(rows)


def _go(page: int) -> None:
    st.session_state[keys.PAGE] = page


def _pager(page: int, pages: int, total: int, size: int) -> None:
    newer, where, older = st.columns([1, 2, 1], vertical_alignment="center")
    newer.button("← Newer", key="runs_newer", disabled=page <= 1, on_click=_go,
                 args=(page - 1,), width="stretch")
    first = (page - 1) * size + 1
    where.markdown(f"<div style='text-align:center'>Runs {first}–{min(total, page * size)}"
                   f" of {total} (page {page} of {pages})</div>", unsafe_allow_html=True)
    older.button("Older →", key="runs_older", disabled=page >= pages, on_click=_go,
                 args=(page + 1,), width="stretch")
