"""Pareto views: every run a point on score against each cost; the unbeaten ones joined."""
from __future__ import annotations

from functools import partial

import streamlit as st

from components.base.chart_cache import cached_chart
from playground.common.escape import md
from playground.common.metric_registry import TECHNIQUE
from playground.results import tradeoff_charts
from playground.results.answers import unique_labels
from playground.results.pareto import COSTS, SCORES, flat_words, front_rows, hover_rows
from playground.results.shipped import run_point
from playground.runs.store import Run


def pareto_chart_for(runs: list[Run], key: str) -> None:
    """One scatter per cost the registry declares (size, latency, training time, what the
    attacks and techniques measure) against a score (accuracy, F1, ...)."""
    points = [run_point(r) for r in runs]
    names = unique_labels(runs)  # in words and all different: what a hover names
    score = st.radio("Score", list(SCORES), horizontal=True, key=f"{key}_score",
                     format_func=lambda k: SCORES[k].label)
    st.caption("Each dot is a run, labelled by what was switched on. **Red**: no other run "
               "beats it on both numbers (the best trade-offs, joined by the line). **Grey**: "
               "another run is at least as good on both and better on one. Quantized runs "
               "count their quantized size, speed and accuracy. Hover a dot for its numbers.")
    shown = 0
    columns = st.columns(2)
    missing, flat = [], []
    for cost, metric in COSTS.items():
        rows = front_rows(points, cost, score)
        if not any(r["plotted"] for r in rows):
            if metric.section == TECHNIQUE:
                missing.append(metric.label)
            continue
        if (words := flat_words(points, metric)) is not None:
            flat.append(words)  # said in words, not drawn as a spread that isn't there
            continue
        rows = hover_rows(rows, points, runs, names)
        with columns[shown % 2]:
            # Finished runs never change: the same runs give the same chart, built once.
            cached_chart(("pareto", tuple(names), cost, score),
                         partial(tradeoff_charts.pareto_chart, rows, cost, score,
                                 log_x=metric.unit == "bytes"),
                         width="stretch", height=340, key=f"{key}_{cost}")
            st.caption(metric.help)
        shown += 1
    for words in flat:
        st.caption(md(words))
    if missing:
        st.caption("No run here reports " + ", ".join(missing) + ", so there is no view of "
                   + ("it." if len(missing) == 1 else "them."))


def pareto_section(store, runs: list[Run]) -> None:
    """The Compare page's Pareto views: the chosen runs, or every finished run on their data."""
    wide = st.toggle("Include every finished run on the same data", key="compare_pareto_all",
                     help="Show where these runs sit among everything trained on this data.")
    pool = runs
    if wide:
        datasets = {r.config.dataset for r in runs}
        pool = [r for r in store.list_runs(statuses=("finished",)) if r.config.dataset in datasets]
    pareto_chart_for(pool, key="compare_pareto")
