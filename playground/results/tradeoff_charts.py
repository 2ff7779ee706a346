"""Trade-off charts: Pareto scatters, confusion differences, per-class scores, ROC curves
and sweep curves. Pure functions from data to Altair charts; no Streamlit here."""
from __future__ import annotations

from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd

from playground.common.metric_registry import METRICS
from playground.training.audits.membership import dp_tpr_bound
from playground.training.config import setting_title

FRONT_COLOUR = "#d62728"
DOMINATED_COLOUR = "#b8b8b8"
SECOND_COLOUR = "#ff7f0e"



def metric_title(key: str) -> str:
    """A metric's axis title from the registry, lower-case first: 'weight size (bytes)'."""
    if key not in METRICS:
        return key
    title = METRICS.get(key).title
    return title[:1].lower() + title[1:]


def _share(key: str) -> bool:
    return key in METRICS and METRICS.get(key).is_share


def _axis(metric: str) -> alt.Axis:
    if _share(metric):
        return alt.Axis(format=".1%")
    return alt.Axis(format="~s") if metric in METRICS and METRICS.get(metric).unit == "bytes" \
        else alt.Axis()


def pareto_chart(rows: Sequence[dict[str, Any]], cost: str, score: str = "accuracy",
                 log_x: bool = False, title: str = "") -> alt.LayerChart:
    """Every run a point labelled by what was switched on; the runs nothing beats joined by
    a red line, the beaten ones grey. `rows` come from pareto.front_rows plus any extra
    fields for the tooltip (the run card)."""
    df = pd.DataFrame([r for r in rows if r.get("plotted", True)])
    if df.empty:
        df = pd.DataFrame(columns=["run_id", "label", "cost", "score", "on_front"])
    df["status"] = np.where(df["on_front"].astype(bool), "best trade-off (not beaten)",
                            "beaten by another run")
    extra = [c for c in df.columns if c not in {"cost", "score", "on_front", "plotted",
                                                  "status", "label", "run_id", "run"}]
    # Axes from 0 (a log axis cannot reach it): a 2-point gap drawn from 85 % looks like a
    # chasm; a share runs to 100 %.
    x = alt.X("cost:Q", title=metric_title(cost),
              scale=alt.Scale(type="log" if log_x else "linear", zero=not log_x,
                              nice=not log_x), axis=_axis(cost))
    y = alt.Y("score:Q", title=metric_title(score),
              scale=alt.Scale(domain=[0, 1]) if _share(score) else alt.Scale(zero=True),
              axis=_axis(score))
    colour = alt.Color("status:N", title=None, legend=alt.Legend(orient="bottom"),
                       scale=alt.Scale(domain=["best trade-off (not beaten)",
                                               "beaten by another run"],
                                       range=[FRONT_COLOUR, DOMINATED_COLOUR]))
    # A hover names the run in words where the caller gave them ("run"), never by its id.
    named = [alt.Tooltip("run:N", title="run")] if "run" in df.columns else []
    tooltip = (named + [alt.Tooltip("label:N", title="switched on"),
                alt.Tooltip("cost:Q", title=metric_title(cost), format=",.4~g"),
                alt.Tooltip("score:Q", title=metric_title(score),
                            format=".1%" if _share(score) else ".3f")]
               + [alt.Tooltip(f"{c}:N") for c in extra])
    base = alt.Chart(df)
    front = base.transform_filter(alt.datum.on_front).mark_line(
        color=FRONT_COLOUR, strokeWidth=2, interpolate="step-after").encode(
        x=x, y=y, order=alt.Order("cost:Q"))
    points = base.mark_circle(size=110, opacity=0.9).encode(
        x=x, y=y, color=colour, tooltip=tooltip)
    labels = base.mark_text(align="left", dx=8, dy=-6, fontSize=11).encode(
        x=x, y=y, text="label:N",
        color=alt.condition(alt.datum.on_front, alt.value("#333"), alt.value("#999")))
    title = title or f"{metric_title(score)} against {metric_title(cost)}"
    return (front + points + labels).properties(title=title, height=300)


def confusion_diff_chart(diff: np.ndarray, class_names: Sequence[str], title: str = "",
                         size: int = 260) -> alt.LayerChart:
    """Cell-by-cell change in counts: blue where the second run has more, red fewer.
    On the diagonal more is better (right answers); off it more is worse (mistakes)."""
    names = [str(c) for c in class_names]
    d = np.asarray(diff, dtype=int)
    df = pd.DataFrame([{"true": names[i], "predicted": names[j], "change": int(d[i, j]),
                        "kind": "right answers" if i == j else "mistakes"}
                       for i in range(len(names)) for j in range(len(names))])
    bound = max(1, int(np.abs(d).max()) if d.size else 1)
    base = alt.Chart(df, title=title, width=size, height=size).encode(
        x=alt.X("predicted:N", sort=names, title="predicted class"),
        y=alt.Y("true:N", sort=names, title="true class"))
    cells = base.mark_rect(stroke="#eee").encode(
        color=alt.Color("change:Q", scale=alt.Scale(scheme="redblue", domain=[-bound, bound]),
                        legend=alt.Legend(title="change in count")),
        tooltip=["true", "predicted", "change", "kind"])
    text = base.mark_text(fontSize=11).encode(
        text=alt.condition(alt.datum.change != 0, "change:Q", alt.value("")))
    return cells + text


def per_class_chart(rows: Sequence[dict[str, Any]], metric: str) -> alt.Chart:
    """Grouped bars: one group per class, one bar per run. rows: run, class, <metric>."""
    df = pd.DataFrame(list(rows))
    order = list(dict.fromkeys(df["class"])) if not df.empty else []
    return alt.Chart(df, title=metric.capitalize()).mark_bar().encode(
        x=alt.X("class:N", sort=order, title="class"),
        xOffset=alt.XOffset("run:N"),
        y=alt.Y(f"{metric}:Q", title=metric, scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        color=alt.Color("run:N", title="run", legend=alt.Legend(orient="bottom", columns=1)),
        tooltip=["run", "class", alt.Tooltip(f"{metric}:Q", format=".1%"), "support"],
    ).properties(height=240)


def roc_chart(curves: Sequence[dict[str, Any]]) -> alt.LayerChart:
    """ROC curves of binary runs; rows: run (with its AUC in the name), fpr, tpr."""
    df = pd.DataFrame(list(curves))
    diagonal = alt.Chart(pd.DataFrame({"fpr": [0, 1], "tpr": [0, 1]})).mark_line(
        strokeDash=[4, 4], color="#999").encode(x="fpr:Q", y="tpr:Q")
    lines = alt.Chart(df).mark_line(interpolate="step-after").encode(
        x=alt.X("fpr:Q", title="false alarms (false positive rate)",
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("tpr:Q", title="cases caught (true positive rate)",
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", title="run", legend=alt.Legend(orient="bottom", columns=1)),
        tooltip=["run", alt.Tooltip("fpr:Q", format=".2f"), alt.Tooltip("tpr:Q", format=".2f")])
    return (diagonal + lines).properties(title="ROC curve (higher and further left is better)",
                                         height=300)


def privacy_attack_chart(roc: Sequence[Sequence[float]], epsilon: float | None = None,
                         delta: float | None = None) -> alt.LayerChart:
    """The membership attack's ROC curve; for a private run, under the ceiling that
    (ε, δ)-differential privacy puts on every possible attack."""
    fpr, tpr = np.asarray(roc, dtype=float).T
    rows = [{"fpr": f, "tpr": t, "line": "this attack"} for f, t in zip(fpr, tpr, strict=True)]
    rows += [{"fpr": 0.0, "tpr": 0.0, "line": "coin toss"}, {"fpr": 1.0, "tpr": 1.0,
                                                              "line": "coin toss"}]
    if epsilon is not None and delta is not None:
        grid = np.linspace(0, 1, 101)
        rows += [{"fpr": f, "tpr": float(b), "line": f"the most any attack can do at ε = "
                  f"{epsilon:.2g}"} for f, b in zip(grid, dp_tpr_bound(grid, epsilon, delta),
                                                    strict=True)]
    return alt.Chart(pd.DataFrame(rows)).mark_line(interpolate="linear").encode(
        x=alt.X("fpr:Q", title="non-members wrongly called members (false positive rate)",
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("tpr:Q", title="members found (true positive rate)",
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("line:N", title=None, legend=alt.Legend(orient="bottom", columns=1)),
        strokeDash=alt.condition(alt.datum.line == "this attack", alt.value([1, 0]),
                                 alt.value([5, 4])),
        tooltip=["line", alt.Tooltip("fpr:Q", format=".2f"), alt.Tooltip("tpr:Q", format=".2f")],
    ).properties(title="Who was in the training data? The attack against ε's promise",
                 height=300)


def sweep_frame(rows: Sequence[dict[str, Any]], score: str, second: str | None
                ) -> pd.DataFrame:
    """Mean, lowest and highest of the score (and the second metric) per swept value."""
    df = pd.DataFrame([r for r in rows if r.get(score) is not None])
    if df.empty:
        return pd.DataFrame(columns=["value", "order", "mean", "low", "high", "n"])
    df["value_text"] = df["value"].astype(str)
    agg = {"mean": (score, "mean"), "low": (score, "min"), "high": (score, "max"),
           "n": (score, "size")}
    if second and second in df.columns and df[second].notna().any():
        agg["second"] = (second, "mean")
    out = df.groupby(["order", "value_text"], as_index=False).agg(**agg)
    return out.sort_values("order").reset_index(drop=True)


def sweep_chart(rows: Sequence[dict[str, Any]], knob: str, score: str = "accuracy",
                second: str | None = None) -> alt.Chart:
    """The trade-off curve of a sweep: the score against the swept value (one point per
    run, a line through the mean, a band from the lowest to the highest seed), and an
    optional second metric (e.g. ε) on a right-hand axis."""
    knob = setting_title(knob)
    points = pd.DataFrame([r for r in rows if r.get(score) is not None])
    numeric = bool(len(points)) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                        for v in points["value"])
    summary = sweep_frame(rows, score, second)
    if numeric:
        summary["x"] = summary["value_text"].astype(float)
        points["x"] = points["value"].astype(float)
        ticks = sorted(set(summary["x"]))
        x = alt.X("x:Q", title=knob, scale=alt.Scale(zero=False),
                  axis=alt.Axis(values=ticks) if len(ticks) <= 12 else alt.Axis())
    else:
        order = list(summary["value_text"])
        summary["x"] = summary["value_text"]
        if len(points):
            points["x"] = points["value"].astype(str)
        x = alt.X("x:N", title=knob, sort=order, axis=alt.Axis(labelAngle=0))
    title = metric_title(score)
    y = alt.Y("mean:Q", title=title, axis=alt.Axis(format="%" if _share(score) else "~s",
                                                   titleColor="#1f77b4"),
              scale=alt.Scale(zero=False))
    layers = []
    if len(summary) and (summary["n"] > 1).any():
        layers.append(alt.Chart(summary).mark_area(opacity=0.2, color="#1f77b4").encode(
            x=x, y=alt.Y("low:Q", title=title, scale=alt.Scale(zero=False)), y2="high:Q",
            tooltip=[alt.Tooltip("value_text:N", title=knob),
                     alt.Tooltip("low:Q", format=".3f", title="lowest seed"),
                     alt.Tooltip("high:Q", format=".3f", title="highest seed")]))
    layers.append(alt.Chart(summary).mark_line(
        point=alt.OverlayMarkDef(color="#1f77b4"), color="#1f77b4").encode(
        x=x, y=y, tooltip=[alt.Tooltip("value_text:N", title=knob),
                           alt.Tooltip("mean:Q", format=".3f", title=f"{title} (mean)"),
                           alt.Tooltip("n:Q", title="runs")]))
    if len(points):
        layers.append(alt.Chart(points).mark_circle(size=40, opacity=0.5, color="#1f77b4")
                      .encode(x=x, y=alt.Y(f"{score}:Q"),
                              tooltip=["run_id", "seed", alt.Tooltip(f"{score}:Q",
                                                                     format=".3f")]))
    left = alt.layer(*layers)
    if second and "second" in summary.columns and summary["second"].notna().any():
        stitle = metric_title(second)
        right = alt.Chart(summary).mark_line(
            point=alt.OverlayMarkDef(color=SECOND_COLOUR), color=SECOND_COLOUR,
            strokeDash=[6, 3]).encode(
            x=x, y=alt.Y("second:Q", title=stitle,
                         axis=alt.Axis(orient="right", titleColor=SECOND_COLOUR)),
            tooltip=[alt.Tooltip("value_text:N", title=knob),
                     alt.Tooltip("second:Q", format=".3g", title=stitle)])
        chart = alt.layer(left, right).resolve_scale(y="independent")
    else:
        chart = left
    return chart.properties(title=alt.TitleParams(f"{title} against {knob}", anchor="middle"),
                            height=320)
