"""One run as a card: live progress and curves while it trains, its numbers once done;
cancel, delete, clone for whoever may (see playground.common.permissions: the store checks
again when a button is pressed; a card never offers what would be refused)."""
from __future__ import annotations

from functools import partial

import streamlit as st

from components.base.chart_cache import cached_chart, with_data
from components.base.format import human_bytes, ordinal, percent, status_text
from components.base.keys.runs import REFUSED
from components.base.services import refresh_live
from components.experiments.workshop_session import current, session_actor
from components.results.attack_results import attack_results
from components.results.boundary_view import boundary_replay, live_boundary
from components.results.class_recall import class_recall, recall_tile
from components.results.cohorts_view import where_it_fails
from components.results.fairness_results import fairness_results
from components.results.narrative import run_narrative
from components.results.shift_results import shift_results
from components.results.technique_results import technique_results
from components.results.what_changed import clone_button
from playground.common import escape
from playground.common.metric_registry import TECHNIQUE, plugin_metrics
from playground.common.permissions import LOCAL, Actor, Refused, may
from playground.results import charts
from playground.runs.store import Run, Store
from playground.training import audits
from playground.training.config import retrain_problems


# A click acts as whoever the session is at the click, not when the card was drawn: a
# person removed from their workshop meanwhile is refused.
def _cancel(store: Store, run_id: str) -> None:
    try:
        store.cancel(run_id, session_actor())
    except Refused as exc:
        st.session_state[REFUSED] = exc.problem
    refresh_live()


def _delete(store: Store, run_id: str) -> None:
    try:
        store.remove(run_id, session_actor())
    except Refused as exc:
        st.session_state[REFUSED] = exc.problem
    refresh_live()


def refusals() -> None:
    """Say why the last Cancel or Delete was refused (nothing was changed)."""
    if problem := st.session_state.pop(REFUSED, None):
        st.error(f"Nothing was changed. {escape.md(problem)}")


def curves(run: Run, epochs: list[dict] | tuple[dict, ...], prefix: str) -> None:
    """Accuracy and loss curves side by side; built once per new epoch for the server."""
    if not epochs:
        return
    last = epochs[-1]
    seen = (len(epochs), last["epoch"], last.get("val_loss"), last.get("train_loss"))
    frame = None
    with st.container(horizontal=True):  # one block, not three: live cards redraw each poll
        for metric in ("accuracy", "loss"):
            def build(metric=metric):
                nonlocal frame
                if frame is None:
                    frame = charts.curves_frame(list(epochs), {run.id: run.id})
                return with_data(("curves", metric),
                                 partial(charts.curves_chart, metric=metric, several_runs=False),
                                 frame[frame["metric"] == metric])
            cached_chart(("curves", run.id, metric, seen), build,
                         width="stretch", height=260, key=f"{prefix}_{metric}_{run.id}")


def finished_metrics(run: Run) -> None:
    m = run.metrics
    cols = st.columns(4) + st.columns(4)
    cols[0].metric("Accuracy", percent(m.get("accuracy")),
                   help="Share of the held-out test examples the model got right.")
    cols[1].metric("Macro F1", f"{m.get('f1_macro', 0):.3f}",
                   help="Balances mistakes in both directions, averaged so every class "
                        "counts equally, even rare ones. 1 is perfect.")
    cols[2].metric("Parameters", f"{m.get('params', 0):,}",
                   help="How many numbers the model learned.")
    cols[3].metric("Size", human_bytes(m.get("size_bytes", 0)),
                   help="Bytes of the saved weights file.")
    cols[4].metric("Latency", f"{m.get('latency_ms', 0):.2f} ms",
                   help="Median time to predict one example on the training device.")
    cols[5].metric("Training time", f"{m.get('train_seconds', 0):.1f} s")
    where = f"{run.device or ''}" + (f", on Ray: {run.node}" if run.executor == "ray" else "")
    cols[6].metric("Device", (run.device or m.get("device", "?")).split(" (")[0]
                   + (" · Ray" if run.executor == "ray" else ""), help=where or None)
    recall_tile(run, cols[7])  # imbalanced classes: how often the rare ones were found


def _head(run: Run, store: Store, show_owner: bool, problems: list[str] | None = None,
          actor: Actor = LOCAL) -> None:
    # A horizontal container is one block, where columns were three: every element counts
    # when a room's live cards are redrawn every second.
    with st.container(horizontal=True, vertical_alignment="center"):
        who = f" · by **{escape.md(run.owner)}**" if show_owner and run.owner else ""
        st.markdown(f"**{escape.md(run.config.label())}** · `{run.id}` · "
                    f"{status_text(run.status)}{who}")
        if run.active:
            if may(actor, "cancel", run) is None:
                st.button("Cancel", key=f"runs_cancel_{run.id}", on_click=_cancel,
                          args=(store, run.id), disabled=run.cancel_requested,
                          help="Stop this run. Nothing else is affected.")
        else:
            if may(actor, "delete", run) is None:
                st.button("Delete", key=f"runs_delete_{run.id}", on_click=_delete,
                          args=(store, run.id), help="Remove this run and its files.")
            clone_button(run, key=f"runs_clone_{run.id}", label="Clone", problems=problems,
                         actor=actor)


def _measured_so_far(epochs) -> str:
    """What a technique measures epoch by epoch (DP's ε, which arrives just after its
    epoch), latest value: ' · privacy budget ε after epoch 3: 1.24'."""
    out = ""
    for metric in (m for m in plugin_metrics() if m.section == TECHNIQUE):
        seen = [e for e in epochs if metric.value(e) is not None]
        if seen:
            out += (f" · {metric.label[:1].lower() + metric.label[1:]} after epoch "
                    f"{seen[-1]['epoch']}: {metric.format(metric.value(seen[-1]))}")
    return out


def live_card(run: Run, store: Store, epochs: tuple[dict, ...], place: int | None,
              show_owner: bool = False, actor: Actor = LOCAL) -> None:
    """A queued or training run, redrawn on every poll: only cheap pieces and charts that
    are rebuilt when a new epoch arrives. Its Cancel button only for whoever may."""
    with st.container(border=True):
        _head(run, store, show_owner, actor=actor)
        if run.status == "queued":
            where = f": {ordinal(place)} in line" if place else ""
            st.caption(f"Waiting for a free worker{where}…")
        else:
            note = "stopping…" if run.cancel_requested else f"{run.progress:.0%}"
            note += _measured_so_far(epochs)
            st.progress(min(1.0, run.progress), text=f"Training on {run.device or '…'}: {note}")
            curves(run, epochs, "runs_live")
            live_boundary(run, store, epochs, "runs_live")


def _asker() -> dict[str, str | None]:
    """Who asks for a job from this card: the browser session, and its workshop person (so
    the fair queue counts their turn)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    ws, me, _ = current()
    return {"requester": ctx.session_id if ctx else None,
            "workspace": ws.name if ws and me else None, "owner": me if ws else None}


def run_card(run: Run, store: Store, epochs: list[dict], show_owner: bool = False,
             actor: Actor = LOCAL) -> None:
    """A run that has ended: its numbers and story, or why it stopped."""
    problems = retrain_problems(run.config)
    with st.container(border=True):
        _head(run, store, show_owner, problems, actor)
        if problems:
            st.caption("This run is kept as it was, but can't be trained again as it is: "
                       + "; ".join(problems) + ".")
        if run.status == "finished":
            finished_metrics(run)
            class_recall(run)
            boundary_replay(run, store)
            run_narrative(run, store, epochs)
            technique_results(run)
            attack_results(run)
            if skipped := audits.robustness_skipped(run.metrics):
                st.caption(skipped)
            shift_results(run)  # accuracy on shifted copies of its test set
            fairness_results(run)
            where_it_fails(run, store, _asker())
        elif run.error:
            first, _, details = run.error.partition("\n\n")
            (st.warning if run.status in ("cancelled", "interrupted") else st.error)(first)
            if details:
                with st.expander("Details"):
                    st.code(details)
        curves(run, epochs, "runs")
