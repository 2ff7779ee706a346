"""The Runs page's two halves: runs still queued or training (live, from the server's
shared snapshot) and runs that have ended (drawn once, a page at a time).

A person sees their own runs first when they have any: "mine" (in a workshop their own;
outside, the local user's runs that no story queued), "stories" (the runs Home and the
stories queued) or "everything" (the whole workshop, read-only: a participant gets no
controls on others' runs, the presenter gets them on every run in it; outside workshops
every run on the server); and one dataset or all.
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
from playground.experiments.stories import story_run_ids
from playground.runs.store import ENDED, Run, Store

SHOWS = ("mine", "stories", "everyone")

PAGE_SIZE = 10  # cards
TABLE_PAGE_SIZE = 50  # rows of a whole workshop's table


@dataclass(frozen=True)
class Scope:
    """Whose runs the page lists: a workshop person's, a whole workshop's, or all; then only
    theirs, only the stories', or everything; of one dataset or all."""

    workspace: str | None = None
    owner: str | None = None
    everything: bool = True  # outside workshops: every run on the server
    actor: Actor = LOCAL  # who is looking: the cards offer only what they may do
    show: str = "everyone"  # one of SHOWS
    dataset: str | None = None  # None: every dataset
    story_ids: frozenset[str] = frozenset()

    def includes(self, run: Run) -> bool:
        if not self.everything and not (run.workspace == self.workspace and (
                self.owner is None or run.owner == self.owner)):
            return False
        return self.narrowed(run)

    def narrowed(self, run: Run) -> bool:
        """The filters the store can't apply: stories or not, and the dataset."""
        if self.dataset is not None and run.config.dataset != self.dataset:
            return False
        if self.show == "stories":
            return run.id in self.story_ids
        if self.show == "mine":
            return run.id not in self.story_ids and (
                self.owner is not None or run.workspace == self.workspace)
        return True

    @property
    def narrows(self) -> bool:
        return self.show != "everyone" or self.dataset is not None

    @property
    def filters(self) -> dict[str, str | None]:
        if self.everything:  # the local user's own and stories' runs: outside workshops
            return {"workspace": None} if self.show in ("mine", "stories") else {}
        return {"workspace": self.workspace} | ({"owner": self.owner} if self.owner else {})

    @property
    def show_owner(self) -> bool:
        return not self.everything and self.owner is None

    @property
    def as_table(self) -> bool:
        """A whole workshop's ended runs as a read-only table (the presenter, who may act
        on every one of them, gets cards)."""
        return self.show_owner and not self.actor.presenter


def pick_scope(store: Store) -> Scope:
    """Mine / stories / everything, and a dataset: mine by default when the person has runs
    of their own."""
    ws, me, presenter = current()
    actor = session_actor()
    stories = story_run_ids(store.home)
    in_workshop = ws is not None and bool(me)
    workspace = ws.name if in_workshop else None
    mine = Scope(workspace, me if in_workshop else None, everything=not in_workshop,
                 actor=actor, show="mine", story_ids=stories)
    runs = store.list_runs(None, **mine.filters)
    has_own = any(mine.narrowed(r) for r in runs)
    choice = st.segmented_control(
        "Show", SHOWS, default="mine" if has_own else "everyone", key=keys.SHOW,
        format_func={"mine": "My runs", "stories": "Stories",
                     "everyone": f"Everyone in {ws.name}" if in_workshop
                     else "Everything"}.get,
        help="Your own runs; the runs the stories (and Home) trained; or every run "
             + (f"queued in workshop {ws.name}" + (" (you can act on all of them)."
                                                  if presenter else
                                                  " (to look at and compare: only their "
                                                  "owners can change them).")
                if in_workshop else "on this server.")) or "mine"
    owner = me if in_workshop and choice == "mine" else None
    scope = Scope(workspace, owner, everything=not in_workshop, actor=actor, show=choice,
                  story_ids=stories)
    listed = runs if scope.filters == mine.filters else store.list_runs(None, **scope.filters)
    datasets = sorted({r.config.dataset for r in listed if scope.narrowed(r)})
    if len(datasets) > 1:
        dataset = st.selectbox("Dataset", [None, *datasets], key=keys.DATASET,
                               format_func=lambda d: "All datasets" if d is None else d)
        if dataset in datasets:
            return Scope(workspace, owner, everything=not in_workshop, actor=actor,
                         show=choice, dataset=dataset, story_ids=stories)
    return scope


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
    size = TABLE_PAGE_SIZE if scope.as_table else PAGE_SIZE
    if scope.narrows:  # filters the store can't apply: narrowed here, then paged
        kept = [r for r in store.list_runs(ENDED, **scope.filters) if scope.narrowed(r)]
        total = len(kept)
    else:
        total = store.count_runs(ENDED, **scope.filters)
    if not total:
        if not live:
            st.info("No runs yet in this view. Start one on the Train page, or show "
                    "everything." if scope.narrows else
                    "No runs yet. Start one on the Train page.")
            st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        return
    pages = (total + size - 1) // size
    page = min(st.session_state.get(keys.PAGE, 1), pages)
    st.subheader(f"Done ({total})")
    if scope.narrows:
        runs = kept[(page - 1) * size:page * size]
    else:
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
