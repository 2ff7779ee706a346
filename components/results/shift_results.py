"""A finished run under shift: how much of its test set it still gets right when the
examples move a little (turned, noisy, blurred pictures; a column moved, a group made more
common), a tile and, opened, accuracy against how far each shift went."""
from __future__ import annotations

import streamlit as st

from components.base.chart_cache import cached_chart
from playground.common import escape
from playground.common.formatting import percent
from playground.results import shift_charts
from playground.runs.store import Run
from playground.training import shift as S
from playground.training.audits import shift as shift_audit


def shift_results(run: Run) -> None:
    table = shift_audit.report(run.metrics)
    if not table:
        return
    under = shift_audit.SHIFT_ACCURACY
    # the run's story says in words which shift costs most; here the number and the curves
    st.columns(4)[0].metric(
        under.label, percent(under.value(run.metrics)),
        delta=f"{(under.value(run.metrics) - run.metrics['accuracy']) * 100:+.1f} points",
        help=under.help + " The change is against the test set as it is.")
    with st.expander("Accuracy as the test set shifts further"):
        cached_chart(("shift", run.id),
                     lambda: shift_charts.severity_chart(shift_charts.rows(run.metrics)),
                     width="stretch", key=f"runs_shift_{run.id}")
        levels = [f"{escape.md(s.label)}: {', '.join(s.levels)}" for s in map(S.find, table)
                  if s is not None]
        st.caption("Strengths 1 to 3 — " + "; ".join(levels) + ". "
                   "Nothing is retrained: the finished model answers shifted copies of its "
                   "own test examples.")
