"""Chart builders: pure functions from data to Altair charts. No Streamlit here."""
from __future__ import annotations

from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd

CURVE_LABELS = {
    "train_loss": ("loss", "training"), "val_loss": ("loss", "validation"),
    "train_accuracy": ("accuracy", "training"), "val_accuracy": ("accuracy", "validation"),
}


def confusion_matrix_chart(cm: Sequence[Sequence[int]], class_names: Sequence[str],
                           title: str = "", size: int = 260) -> alt.Chart:
    """Heat map of counts, rows = true class, columns = predicted class, counts written in."""
    names = [str(c) for c in class_names]
    df = pd.DataFrame(
        [{"true": names[i], "predicted": names[j], "count": int(v)}
         for i, row in enumerate(cm) for j, v in enumerate(row)]
    )
    total = df.groupby("true")["count"].transform("sum").replace(0, 1)
    df["share"] = df["count"] / total
    base = alt.Chart(df, title=title, width=size, height=size).encode(
        x=alt.X("predicted:N", sort=names, title="predicted class"),
        y=alt.Y("true:N", sort=names, title="true class"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("share:Q", scale=alt.Scale(scheme="blues", domain=[0, 1]),
                        legend=alt.Legend(title="share of row", format="%")),
        tooltip=["true", "predicted", "count", alt.Tooltip("share:Q", format=".0%")],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.condition(alt.datum.count > 0, "count:Q", alt.value("")),
        color=alt.condition(alt.datum.share > 0.5, alt.value("white"), alt.value("black")),
    )
    return cells + text


def curves_frame(epochs: list[dict[str, Any]], labels: dict[str, str]) -> pd.DataFrame:
    """Long format (run, epoch, metric, split, value) from epoch rows of several runs."""
    rows = []
    for e in epochs:
        for key, (metric, split) in CURVE_LABELS.items():
            if e.get(key) is not None:
                rows.append({"run": labels.get(e["run_id"], e["run_id"]), "epoch": e["epoch"],
                             "metric": metric, "split": split, "value": e[key]})
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "split", "value"])


def learning_curves_chart(epochs: list[dict[str, Any]], labels: dict[str, str],
                          metric: str = "accuracy", width: int = 320) -> alt.Chart:
    """Training (dashed) and validation (solid) curves of one metric, one colour per run."""
    df = curves_frame(epochs, labels)
    return curves_chart(df[df["metric"] == metric], metric, len(labels) > 1, width)


def curves_chart(df: pd.DataFrame, metric: str, several_runs: bool,
                 width: int = 320) -> alt.Chart:
    """The learning-curves chart of rows from curves_frame (one metric). Only the data
    changes from epoch to epoch; everything else depends on the metric and whether several
    runs are drawn."""
    share = metric == "accuracy"
    axis = alt.Axis(format="%") if share else alt.Axis()
    # Accuracy from 0 to 100 %: a narrow axis makes a point of luck look like a climb.
    scale = alt.Scale(domain=[0, 1]) if share else alt.Scale(zero=False)
    return alt.Chart(df, title=metric.capitalize()).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=metric, axis=axis, scale=scale),
        color=alt.Color("run:N", title="run",
                        legend=alt.Legend(orient="bottom", columns=1) if several_runs else None),
        # With point marks the legend draws both entries as the same dot: say it in words.
        strokeDash=alt.StrokeDash("split:N", title="solid: validation · dashed: training",
                                  scale=alt.Scale(domain=["validation", "training"],
                                                  range=[[1, 0], [4, 3]]),
                                  legend=alt.Legend(orient="bottom", titleLimit=400)),
        tooltip=["run", "split", "epoch", alt.Tooltip("value:Q", format=".3f")],
    ).properties(width=width, height=220)


def class_balance_chart(y: np.ndarray, class_names: Sequence[str]) -> alt.Chart:
    counts = np.bincount(np.asarray(y), minlength=len(class_names))
    df = pd.DataFrame({"class": [str(c) for c in class_names], "examples": counts})
    return alt.Chart(df, title="Examples per class").mark_bar().encode(
        x=alt.X("class:N", sort=list(df["class"]), title="class"),
        y=alt.Y("examples:Q", title="examples"),
        tooltip=["class", "examples"],
    ).properties(height=180)


def points_chart(X: np.ndarray, y: np.ndarray, class_names: Sequence[str]) -> alt.Chart:
    df = pd.DataFrame({"x": X[:, 0], "y": X[:, 1],
                       "class": [str(class_names[i]) for i in y]})
    return alt.Chart(df, title="The points (coloured by class)").mark_circle(size=28).encode(
        x="x:Q", y="y:Q", color=alt.Color("class:N", title="class"), tooltip=["class"],
    ).properties(height=300)
