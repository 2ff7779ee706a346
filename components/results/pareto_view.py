"""Pareto views: every run a point on score against each cost; the unbeaten ones joined."""
from __future__ import annotations

from functools import partial

import streamlit as st

from components.base.chart_cache import cached_chart
from components.base.format import human_bytes, percent
from playground.results import tradeoff_charts
from playground.results.pareto import COSTS, SCORES, front_rows
from playground.results.shipped import run_point
from playground.runs.store import Run


def _card(point) -> dict[str, str]:
    """The run card in the tooltip."""
    return {
        "accuracy": percent(point.accuracy),
        "macro F1": "—" if point.f1_macro is None else f"{point.f1_macro:.3f}",
        "size": "—" if point.size_bytes is None else human_bytes(point.size_bytes),
        "latency": "—" if point.latency_ms is None else f"{point.latency_ms:.3f} ms",
        "ε": "—" if point.epsilon is None else f"{point.epsilon:.2f}",
        "training time": "—" if point.train_seconds is None else f"{point.train_seconds:.1f} s",
    }


def pareto_chart_for(runs: list[Run], key: str) -> None:
    """One scatter per cost (size, latency, ε, training time) against accuracy or F1."""
    points = [run_point(r) for r in runs]
    labels = {r.id: r.config.label() for r in runs}
    score = st.radio("Score", list(SCORES), horizontal=True, key=f"{key}_score",
                     format_func=SCORES.get)
    st.caption("Each dot is a run, labelled by what was switched on. **Red**: no other run "
               "beats it on both numbers (the best trade-offs, joined by the line). **Grey**: "
               "another run is at least as good on both and better on one. Quantized runs "
               "count their quantized size, speed and accuracy. Hover a dot for its numbers.")
    shown = 0
    columns = st.columns(2)
    for cost, (_, why) in COSTS.items():
        rows = front_rows(points, cost, score)
        if not any(r["plotted"] for r in rows):
            continue
        for row, point in zip(rows, points, strict=True):
            row.update(_card(point), config=labels[point.run_id])
        with columns[shown % 2]:
            # Finished runs never change: the same runs give the same chart, built once.
            cached_chart(("pareto", tuple(labels), cost, score),
                         partial(tradeoff_charts.pareto_chart, rows, cost, score,
                                 log_x=cost == "size_bytes"),
                         width="stretch", height=340, key=f"{key}_{cost}")
            st.caption(why)
        shown += 1
    if not any(p.epsilon is not None for p in points):
        st.caption("No run here used privacy noise, so there is no ε view.")


def pareto_section(store, runs: list[Run]) -> None:
    """The Compare page's Pareto views: the chosen runs, or every finished run on their data."""
    wide = st.toggle("Include every finished run on the same data", key="compare_pareto_all",
                     help="Show where these runs sit among everything trained on this data.")
    pool = runs
    if wide:
        datasets = {r.config.dataset for r in runs}
        pool = [r for r in store.list_runs(statuses=("finished",)) if r.config.dataset in datasets]
    pareto_chart_for(pool, key="compare_pareto")
