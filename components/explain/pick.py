"""Explain page: asking the workers, and picking runs, methods and the class to explain."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from components.base.format import percent
from components.base.keys import explain as keys
from components.base.services import get_store, live_snapshot, refresh_live
from components.experiments.workshop_session import current, session_actor
from models.base import model_info
from playground.common.permissions import PRESENTER_ID, Actor
from playground.data.catalog import dataset_info
from playground.explain import methods as M
from playground.explain.jobs import ExplainJobs
from playground.explain.subjects import default_variant
from playground.runs.store import Run
from playground.training.techniques import TECHNIQUES
from playground.training.techniques.base import titles

MAX_RUNS = 4


@st.cache_resource(show_spinner=False)
def _runner(home: str) -> ExplainJobs:
    # One per server: what it asked the workers for, and the models it loaded to show
    # predictions (the maps themselves are computed by the workers), serve every session.
    # Waiting and running jobs come from the shared snapshot: polls add no store reads.
    return ExplainJobs(get_store(), active_jobs=lambda: live_snapshot().jobs)


def get_runner() -> ExplainJobs:
    return _runner(str(get_store().home))


def asker() -> dict[str, str | None]:
    """Who asks for explanations: this browser session, and its workshop person if any
    (so the fair queue counts their turn like a run's)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    ws, me, _ = current()
    return {"requester": ctx.session_id if ctx else None,
            "workspace": ws.name if ws and me else None, "owner": me if ws else None}


def ask(runner: ExplainJobs, requests) -> None:
    if runner.submit(requests, **asker()) is not None:
        refresh_live()


def is_mine(run: Run, actor: Actor) -> bool:
    """A run the acting person queued: theirs in their workshop, or (the local user) any
    run outside workshops."""
    if not actor.in_workshop:
        return run.workspace is None
    if run.workspace != actor.workspace:
        return False
    if run.owner_id is not None:  # people are ids; a name may be reused after a removal
        return run.owner_id == (PRESENTER_ID if actor.presenter else actor.person)
    return run.owner == actor.name


def owner_words(run: Run, actor: Actor) -> str:
    if is_mine(run, actor):
        return "yours"
    if run.owner:
        return run.owner
    return "outside workshops" if run.workspace is None else "the workshop's"


def run_words(run: Run) -> str:
    """A run as a sentence fragment: "Neural network (MLP) with privacy noise, 10 passes"."""
    try:
        model = model_info(run.config.model).title
    except KeyError:
        model = run.config.model
    used = [TECHNIQUES.get(n) for n in run.config.techniques if n in TECHNIQUES]
    return (f"{model}{' with ' + titles(used) if used else ', plain'}, "
            f"{run.config.epochs} pass{'es' if run.config.epochs != 1 else ''} over the data")


def run_labels(runs: list[Run], actor: Actor) -> dict[str, str]:
    """Each run's label in a picker: whose, what in words, how accurate, and last its id,
    which keeps two alike runs apart and matches the run's card."""
    return {r.id: f"{owner_words(r, actor)}: {run_words(r)} · "
                  f"{percent(r.metrics.get('accuracy'))} · run {r.id}" for r in runs}


def mine_first(runs: list[Run], actor: Actor) -> list[Run]:
    """The acting person's runs first, then everyone else's, each newest first."""
    return sorted(runs, key=lambda r: not is_mine(r, actor))  # stable: keeps newest first


def explained_at_first(run: Run) -> bool:
    """Whether the methods switched on at first can explain the model this run stands for:
    an int8 copy has no gradients for the gradient methods among them."""
    if default_variant(run) == "float":
        return True
    try:
        kind = dataset_info(run.config.dataset).kind
    except (KeyError, ValueError, OSError):  # an upload deleted since
        kind = None
    return not any(M.method(n).needs_gradients for n in M.default_methods(kind))


def first_choice(runs: list[Run], actor: Actor) -> Run | None:
    """The run Explain opens on: the person's newest that the first methods can explain
    (a float model before an 8-bit copy), else their newest; others' only when they have
    none. `runs` newest first."""
    return min(mine_first(runs, actor), default=None,
               key=lambda r: (not is_mine(r, actor), not explained_at_first(r)))


def pick_runs(store) -> list[Run]:
    """1-4 finished runs on one dataset (the same input must fit every model), the acting
    person's own runs first and chosen at first."""
    actor = session_actor()
    finished = mine_first(store.list_runs(statuses=("finished",)), actor)
    if not finished:
        st.info("No finished runs yet. Train one on the Train page; it can be explained "
                "here as soon as it is done.")
        st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        return []
    first = first_choice(finished, actor)
    datasets = list(dict.fromkeys([first.config.dataset,  # type: ignore[union-attr]
                                   *(r.config.dataset for r in finished)]))
    left, right = st.columns([1, 3])
    dataset = left.selectbox("Dataset", datasets, key=keys.DATASET,
                             format_func=lambda d: dataset_info(d).title)
    by_id = {r.id: r for r in finished if r.config.dataset == dataset}
    opening = [first_choice(list(by_id.values()), actor).id]  # type: ignore[union-attr]
    before = st.session_state.get(keys.RUNS)
    if before is not None:
        # Keep what still fits (another dataset's runs, or deleted ones, drop out); after a
        # switch of dataset start again from its first choice.
        kept = [i for i in before if i in by_id] or (opening if before else [])
        if kept != before:
            st.session_state[keys.RUNS] = kept
    labels = run_labels(list(by_id.values()), actor)
    chosen = right.multiselect(
        "Runs (up to 4), one row each; yours first", list(by_id),
        default=opening if before is None else None,
        max_selections=MAX_RUNS, key=keys.RUNS, format_func=labels.get)
    if not chosen:
        st.caption("Pick at least one run.")
    return [by_id[i] for i in chosen]


def loadable(runner: ExplainJobs, runs: list[Run]) -> list[Run]:
    """The runs whose model can be rebuilt; the others get a message saying why not."""
    ok = []
    for run in runs:
        try:
            runner.bank.loaded(run.id)
        except (ValueError, OSError) as exc:
            st.error(f"Run {run.id} cannot be explained: {exc}. Pick another run, or train "
                     "this one again.")
            continue
        ok.append(run)
    return ok


def pick_methods(kind: str | None = None) -> list[str]:
    """The methods that can explain this kind of data; those that say so are on at first."""
    names = M.method_names(kind)
    chosen = st.multiselect(
        "Methods, one column each", names, default=M.default_methods(kind),
        key="explain_methods", format_func=lambda n: M.method(n).title,
        help=" ".join(f"{M.method(n).title}: {M.method(n).blurb}" for n in names))
    if not chosen:
        st.caption("Pick at least one method.")
    return chosen


def pick_target(class_names: list[str]) -> int | None:
    """None: explain each model's own answer; else the chosen class."""
    options = [None, *range(len(class_names))]
    return st.selectbox(
        "Explain which answer?", options, key="explain_target",
        format_func=lambda c: "each model's own answer" if c is None
        else f"class {class_names[c]}",
        help="By default each row explains what its model answered. Pick a class to ask "
             "'what speaks for (red) or against (blue) this class?' instead.")


@dataclass
class Row:
    """One run in the grid: which of its models is explained and what it answers."""

    run: Run
    variant: str  # float, or int8 for runs quantized to int8
    probs: np.ndarray
    target: int
    decided: int | None = None  # the run's own decision (its decision rule, if it has one)

    @property
    def predicted(self) -> int:
        return int(self.probs.argmax()) if self.decided is None else self.decided


def make_rows(runner: ExplainJobs, runs: list[Run], x: np.ndarray,
              target: int | None, position: int = 0) -> list[Row]:
    """`position`: the test example x is (or was edited from), whose coin a run's decision
    rule flips for it."""
    rows = []
    for run in runs:
        variant = default_variant(run)
        probs = runner.bank.predict(run.id, variant, x[None])[0]
        decided = int(runner.bank.rule(run.id).decide(x[None], positions=[position])[0])
        rows.append(Row(run, variant, probs, decided if target is None else target, decided))
    return rows
