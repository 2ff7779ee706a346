"""Two runs' mistakes side by side: both confusion matrices, their difference cell by cell,
per-class precision / recall / F1, and ROC curves on binary data."""
from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from components.base.chart_cache import cached_chart
from playground.common import escape
from playground.results import charts, tradeoff_charts
from playground.results.run_diff import (
    config_changes,
    confusion_diff,
    confusion_story,
    per_class_scores,
    roc_points,
)
from playground.runs.store import Run, Store
from playground.training.artifacts import load_predictions


def _pick_two(runs: list[Run]) -> tuple[Run, Run] | None:
    by_id = {r.id: r for r in runs}
    ids = list(by_id)
    left, right = st.columns(2)
    a = left.selectbox("First run", ids, index=0, key="compare_diff_a",
                       format_func=lambda i: f"{i} · {by_id[i].config.label()}")
    b = right.selectbox("Second run", ids, index=min(1, len(ids) - 1), key="compare_diff_b",
                        format_func=lambda i: f"{i} · {by_id[i].config.label()}")
    if a == b:
        st.caption("Pick two different runs.")
        return None
    if by_id[a].config.dataset != by_id[b].config.dataset:
        st.warning("These two runs learned different datasets, so their mistakes can't be "
                   "compared cell by cell. Pick two runs on the same data.")
        return None
    return by_id[a], by_id[b]


def confusion_comparison(runs: list[Run], store: Store) -> None:
    pair = _pick_two(runs)
    if pair is None:
        return
    a, b = pair
    names = a.metrics["class_names"]
    cm_a, cm_b = a.metrics["confusion_matrix"], b.metrics["confusion_matrix"]
    story = confusion_story(cm_a, cm_b, names)
    changed = escape.md("; ".join(config_changes(a.config, b.config)) or "same settings")
    if story:
        st.markdown(f"Going from `{a.id}` to `{b.id}` ({changed.lower()}):\n"
                    + "\n".join(f"- {escape.md(s)}" for s in story))
    else:
        st.markdown("Both runs made exactly the same kinds of mistakes.")
    size = 180 if len(names) > 4 else 220
    # Finished runs never change: these charts are built once per pair, for the server.
    cols = st.columns(3)
    with cols[0]:
        cached_chart(("cm", a.id, size), partial(charts.confusion_matrix_chart, cm_a, names,
                                                 title=a.id, size=size),
                     width="stretch", height=330, key="compare_diff_cm_a")
    with cols[1]:
        cached_chart(("cm", b.id, size), partial(charts.confusion_matrix_chart, cm_b, names,
                                                 title=b.id, size=size),
                     width="stretch", height=330, key="compare_diff_cm_b")
    with cols[2]:
        cached_chart(("cm_diff", a.id, b.id, size), partial(
            tradeoff_charts.confusion_diff_chart, confusion_diff(cm_a, cm_b), names,
            title=f"{b.id} minus {a.id}", size=size),
            width="stretch", height=330, key="compare_diff_delta")
    st.caption("The difference: blue cells have more examples in the second run, red fewer. "
               "On the diagonal (right answers) blue is good; off it (mistakes) blue is bad.")

    st.markdown("**Per class**: precision (when it says this class, how often it is right), "
                "recall (how many of this class it finds) and F1 (both at once).")
    rows = [{"run": run.id, **row} for run in (a, b)
            for row in per_class_scores(run.metrics["confusion_matrix"], names)]
    # One chart at a time: the table below has all three, and each chart drawn costs the
    # viewer's browser time.
    metric = st.radio("Chart", ["precision", "recall", "f1"], index=2, horizontal=True,
                      key="compare_diff_metric", format_func=lambda m: m.replace("f1", "F1"))
    cached_chart(("per_class", a.id, b.id, metric),
                 partial(tradeoff_charts.per_class_chart, rows, metric),
                 width="stretch", height=300, key="compare_diff_per_class")
    table = pd.DataFrame(rows).pivot(index="class", columns="run",
                                     values=["precision", "recall", "f1"])
    st.dataframe(table.style.format("{:.1%}"), width="stretch")

    if len(names) == 2:
        curves = []
        for run in (a, b):
            try:
                pred = load_predictions(store, run.id)
            except (OSError, ValueError):
                st.caption(f"Run {run.id} has no saved predictions, so no ROC curve.")
                continue
            points, auc = roc_points(pred["y_true"], pred["probs"][:, 1])
            curves += [{"run": f"{run.id} (area {auc:.3f})", **p} for p in points]
        if curves:
            cached_chart(("roc", a.id, b.id), partial(tradeoff_charts.roc_chart, curves),
                         width="stretch", height=340, key="compare_roc")
            st.caption(f"Each curve trades catching more “{escape.md(names[1])}” cases against "
                       "more false alarms as the decision threshold moves. The area under it is 1 "
                       "for a perfect model and 0.5 for a coin toss.")
