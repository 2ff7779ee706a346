"""Compare: 2-4 finished runs side by side: confusion matrices, curves, numbers, settings."""
from functools import partial

import streamlit as st

from components.base.chart_cache import cached_chart
from components.base.services import get_store
from components.experiments.workshop_session import current, session_actor
from components.results.boundary_view import boundary_comparison
from components.results.comparison import comparison_table, pick_runs
from components.results.confusion_diff import confusion_comparison
from components.results.export_buttons import export_buttons
from components.results.pareto_view import pareto_section
from components.results.ship_view import groups_section, luck_section, ship_section
from components.results.what_changed import what_changed
from components.shell.guard import app_shell_guard
from playground.results import charts

app_shell_guard()

st.title("Compare runs")
store = get_store()
actor = session_actor()
runs, names = pick_runs(store, actor)  # one's own runs first, every label different
if runs:
    # The answers first (which to ship, is it luck, who gets a yes), then the diagnostics.
    limits = ship_section(runs, names)
    luck_section(store, runs, names)
    groups_section(runs, names)

    st.subheader("Numbers and settings")
    st.caption("Settings that differ between the runs are highlighted.")
    st.dataframe(comparison_table(runs, names), width="stretch")

    st.subheader("What changed")
    what_changed(runs, actor)  # clone: one's own runs (in a workshop)

    st.subheader("Trade-offs")
    pareto_section(store, runs)

    # Two runs: "Mistakes, compared" below draws both matrices beside their difference, so
    # they are not drawn twice (every chart costs the viewer's browser time to draw).
    if len(runs) != 2:
        st.subheader("Confusion matrices")
        st.caption("Rows are the true class, columns what the model said. Counts on the "
                   "diagonal are right answers; everything else is a mistake.")
        # Finished runs never change: each chart is built once per server, not per visit.
        for col, run in zip(st.columns(len(runs)), runs, strict=True):
            with col:
                cached_chart(("cm", run.id, 220), partial(
                    charts.confusion_matrix_chart, run.metrics["confusion_matrix"],
                    run.metrics["class_names"], title=run.id, size=220),
                    key=f"compare_cm_{run.id}", width="stretch", height=320)

    st.subheader("Learning curves")
    st.caption("Solid lines: validation data; dashed: training data. A widening gap "
               "means the model is memorising instead of learning.")
    labels = {r.id: f"{r.id} ({r.config.label()})" for r in runs}
    ids = tuple(labels)

    def curves(metric: str):  # the epochs are read only when the chart is not cached yet
        return charts.learning_curves_chart(store.epochs_for(list(ids)), labels, metric)

    for col, metric in zip(st.columns(2), ("accuracy", "loss"), strict=True):
        with col:
            cached_chart(("compare_curves", ids, metric), partial(curves, metric),
                         width="stretch", height=380, key=f"compare_{metric[:4]}")

    boundary_comparison(runs, store)  # runs on 2-D points: where each draws its line

    if len(runs) >= 2:
        st.subheader("Mistakes, compared")
        confusion_comparison(runs, store)

    st.subheader("Export")
    ws, _, presenter = current()
    export_buttons(runs, store, mlflow=ws is None or presenter, actor=session_actor(),
                   limits=limits)
