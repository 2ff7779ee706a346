"""Accuracy against how far the test set was shifted: one line per shift (a run's card) or
one small panel per shift with a line per run (a story comparing runs). Pure builders."""
from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from playground.training.audits import shift as shift_audit

PALETTE = ["#c0392b", "#1f5fa8", "#2e8b57", "#8e44ad", "#d4820a"]


def rows(metrics: dict[str, Any] | None, run: str = "",
         keys: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """The run's accuracy per shift and severity (only `keys` if given), labelled `run`."""
    return [{**r, "run": run} for r in shift_audit.rows(metrics)
            if keys is None or r["key"] in keys]


def severity_chart(data: list[dict[str, Any]], height: int = 220) -> alt.Chart:
    """Accuracy (y) against severity 0..3 (x); several runs: a panel per shift."""
    df = pd.DataFrame(data)
    runs = list(dict.fromkeys(df["run"]))
    shifts = list(dict.fromkeys(df["shift"]))
    x = alt.X("severity:O", title="strength (0: as it is)",
              axis=alt.Axis(labelAngle=0))
    y = alt.Y("accuracy:Q", title="share right", axis=alt.Axis(format=".0%"),
              scale=alt.Scale(domain=[0, 1]))
    tooltip = ["shift", "level", alt.Tooltip("accuracy:Q", format=".1%")]
    if len(runs) > 1:
        return alt.Chart(df).mark_line(point=True).encode(
            x=x, y=y, color=alt.Color("run:N", sort=runs, title=None,
                                      legend=alt.Legend(orient="bottom"),
                                      scale=alt.Scale(range=PALETTE[:len(runs)])),
            tooltip=["run", *tooltip],
        ).properties(width=180, height=height).facet(
            column=alt.Column("shift:N", sort=shifts, title=None))
    return alt.Chart(df).mark_line(point=True).encode(
        x=x, y=y, color=alt.Color("shift:N", sort=shifts, title=None,
                                  legend=alt.Legend(orient="right"),
                                  scale=alt.Scale(range=PALETTE)),
        tooltip=tooltip,
    ).properties(height=height)
