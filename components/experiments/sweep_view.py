"""A sweep's trade-off curve, its Pareto view and its runs, drawn as they finish."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.base.chart_cache import cached_chart
from components.base.format import status_text
from components.base.keys import compare as compare_keys
from components.base.keys import sweeps as keys
from components.base.polling import SLOW_POLL_SECONDS, end_polling, live_fragment
from components.base.services import current_runs, live_snapshot, shared_value
from components.results.pareto_view import pareto_chart_for
from playground.common.metric_registry import (
    AUDIT,
    TECHNIQUE,
    all_metrics,
    pareto_costs,
    pareto_scores,
)
from playground.experiments.sweeps import (
    Sweep,
    list_sweeps,
    own_costs,
    sweep_rows,
)
from playground.results import tradeoff_charts
from playground.runs.store import Store
from playground.training.metrics import SIZE


def _second_axes() -> dict[str, str]:
    """The costs a second axis may show ({key: title}), the techniques' own first (a
    privacy sweep's ε), then nothing."""
    costs = sorted(pareto_costs(), key=lambda m: m.section != TECHNIQUE)
    return {**{m.key: tradeoff_charts.metric_title(m.key) for m in costs}, "": "nothing"}


def _default_second(sweep: Sweep) -> str:
    """A cost a technique of this sweep declares (ε for a privacy sweep), else the size.
    Decided from the sweep itself, not its rows: the box keeps the value it first drew
    with, and at first no run has finished."""
    own = own_costs(sweep)
    return own[0].key if own else SIZE.key


def pick_sweep(store: Store) -> Sweep | None:
    sweeps = list_sweeps(store)
    if not sweeps:
        st.info("No sweeps yet. On the Train page, open **Sweep: try several values of one "
                "setting**, pick a setting and its values, and queue it.")
        st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        return None
    by_id = {s.id: s for s in sweeps}
    wanted = st.query_params.get("id") or st.session_state.get(keys.SELECTED)
    if wanted in by_id and st.session_state.get(keys.PICK) != wanted:
        st.session_state[keys.PICK] = wanted
    chosen = st.selectbox("Sweep", list(by_id), key=keys.PICK,
                          format_func=lambda i: f"{by_id[i].title} ({i})")
    st.session_state[keys.SELECTED] = chosen
    st.query_params["id"] = chosen  # a link to this page opens this sweep
    return by_id[chosen]


def _rows(store: Store, sweep: Sweep) -> list[dict]:
    """The sweep's rows as they are now: rebuilt once per server when one of its runs
    changes status or ends, not on every poll of every session."""
    snap = live_snapshot()
    ids = {r.run_id for r in sweep.runs}
    going = tuple((r.id, r.status) for r in snap.active if r.id in ids)
    return shared_value(("sweep_rows", sweep.id, going, snap.ended),
                        lambda: sweep_rows(store, sweep))


def sweep_view(store: Store, sweep: Sweep) -> None:
    live_snapshot(fresh=True)
    rows = _rows(store, sweep)
    active = any(r["status"] in ("queued", "running") for r in rows)

    @live_fragment(active, SLOW_POLL_SECONDS)  # a sweep's curve grows run by run
    def live() -> None:
        current = _rows(store, sweep)
        done = sum(r["status"] == "finished" for r in current)
        if done < len(current):
            st.progress(done / max(1, len(current)),
                        text=f"{done} of {len(current)} runs finished; the curve grows as "
                             "they do.")
        else:
            st.caption(f"All {len(current)} runs finished.")
        left, right = st.columns([1, 1])
        score = left.radio("Score", [m.key for m in pareto_scores()], horizontal=True,
                           key="sweeps_score", format_func=tradeoff_charts.metric_title)
        second_axes = _second_axes()
        options = list(second_axes)
        second = right.selectbox("Second axis", options, key=f"sweeps_second_{sweep.id}",
                                 index=options.index(_default_second(sweep)),
                                 format_func=second_axes.get)
        finished = [r for r in current if r["status"] == "finished"]
        if finished:
            done_ids = tuple(r["run_id"] for r in finished)
            cached_chart(("sweep_curve", sweep.id, done_ids, score, second),
                         lambda: tradeoff_charts.sweep_chart(current, sweep.knob, score,
                                                             second or None),
                         width="stretch", height=360, key="sweeps_curve")
            if len(sweep.seeds) > 1:
                st.caption("The line is the mean over seeds; the band runs from the lowest "
                           "to the highest seed, so its width shows how much is luck.")
        st.subheader("Trade-offs")
        runs = [r for r in current_runs([r["run_id"] for r in finished]).values()
                if r is not None]
        if runs:
            pareto_chart_for(runs, key="sweeps_pareto")
        st.subheader("The runs")
        st.dataframe(_table(current), width="stretch", hide_index=True)
        if runs and st.button("Compare these runs", key="sweeps_compare"):
            st.session_state[compare_keys.RUNS] = [r.id for r in runs][:4]
            st.switch_page("pages/compare.py")
        if active and not any(r["status"] in ("queued", "running") for r in current):
            end_polling()  # the last run ended: a full rerun stops the polling

    live()


def _table(rows: list[dict]) -> pd.DataFrame:
    """One line per run: its value and seed, then each trade-off axis (accuracy, size, ε,
    ...) any of the runs reports; the attacks' numbers are on the run cards."""
    shown = [m for m in all_metrics() if m.pareto and m.section != AUDIT
             and any(r.get(m.key) is not None for r in rows)]
    out = []
    for r in rows:
        out.append({"value": str(r["value"]), "seed": r["seed"], "run": r["run_id"],
                    "status": status_text(r["status"]),
                    **{m.column: m.format(r.get(m.key)) for m in shown}})
    return pd.DataFrame(out)
