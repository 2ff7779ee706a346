"""Pure Altair builders for the Explain page: heat-map overlays, signed bars, thumbnails.

Maps are shown relative to their own strongest value (+1 / -1), so methods with different
units (a probability share, a gradient, a regression weight) share one colour scale; the
raw numbers stay in the tooltips.
"""
from __future__ import annotations

from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

TOWARDS, AWAY, NEUTRAL = "#c0392b", "#2471a3", "#f4f4f4"


def relative(values: np.ndarray) -> np.ndarray:
    """Scale so the strongest value is +1 or -1 (all zeros stay zeros)."""
    values = np.asarray(values, dtype=np.float64)
    peak = np.abs(values).max() if values.size else 0.0
    return values / peak if peak > 0 else np.zeros_like(values)


def pixel_map(values: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) attributions to one (H, W) map: channels summed."""
    values = np.asarray(values)
    return values.sum(axis=0) if values.ndim == 3 else values


def _pixels(image: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    img, val = pixel_map(image), pixel_map(values)
    rel = relative(val)
    rows, cols = np.indices(img.shape)
    return pd.DataFrame({"row": rows.ravel(), "col": cols.ravel(), "input": img.ravel(),
                         "attribution": val.ravel(), "relative": rel.ravel(),
                         "strength": np.abs(rel).ravel()})


def _pixel_chart(grid: np.ndarray, field: str, scheme: str, label: str, fmt: str,
                 title: str, size: int) -> alt.Chart:
    """One rectangle per pixel, coloured by `field`, its value in the tooltip."""
    rows, cols = np.indices(grid.shape)
    df = pd.DataFrame({"row": rows.ravel(), "col": cols.ravel(), field: grid.ravel()})
    return alt.Chart(df, title=title).mark_rect().encode(
        x=alt.X("col:O", axis=None), y=alt.Y("row:O", axis=None),
        color=alt.Color(f"{field}:Q", scale=alt.Scale(scheme=scheme), legend=None),
        tooltip=[alt.Tooltip("row:O"), alt.Tooltip("col:O", title="column"),
                 alt.Tooltip(f"{field}:Q", title=label, format=fmt)],
    ).properties(width=size, height=size * grid.shape[0] / grid.shape[1])


def input_image_chart(image: np.ndarray, title: str = "", size: int = 120) -> alt.Chart:
    """The input picture alone, in grey, with its pixel values in the tooltips."""
    return _pixel_chart(pixel_map(image), "value", "greys", "pixel value", ".2f", title, size)


def attribution_map_chart(image: np.ndarray, values: np.ndarray, title: str = "",
                          signed: bool = True, size: int = 150) -> alt.LayerChart:
    """The input in grey with the attribution laid over it: red pushed towards the class,
    blue away; the stronger, the less transparent. Saliency (unsigned) is red only."""
    df = _pixels(image, values)
    h, w = pixel_map(image).shape
    x = alt.X("col:O", axis=None, scale=alt.Scale(paddingInner=0))
    y = alt.Y("row:O", axis=None, scale=alt.Scale(paddingInner=0))
    base = alt.Chart(df).mark_rect().encode(
        x=x, y=y, color=alt.Color("input:Q", legend=None,
                                  scale=alt.Scale(domain=[0, max(1.0, float(df["input"].max()))],
                                                  range=["#ffffff", "#6b6b6b"])))
    domain, colours = ([-1, 0, 1], [AWAY, NEUTRAL, TOWARDS]) if signed else \
        ([0, 1], [NEUTRAL, TOWARDS])
    overlay = alt.Chart(df).mark_rect().encode(
        x=x, y=y,
        color=alt.Color("relative:Q", scale=alt.Scale(domain=domain, range=colours),
                        legend=None),
        opacity=alt.Opacity("strength:Q", scale=alt.Scale(domain=[0, 1], range=[0, 0.9]),
                            legend=None),
        tooltip=[alt.Tooltip("row:O", title="row"), alt.Tooltip("col:O", title="column"),
                 alt.Tooltip("input:Q", title="pixel value", format=".2f"),
                 alt.Tooltip("attribution:Q", title="attribution", format=".3g"),
                 alt.Tooltip("relative:Q", title="share of strongest", format="+.0%")],
    )
    return alt.layer(base, overlay, title=title).resolve_scale(color="independent") \
        .properties(width=size, height=size * h / w)


def attribution_bars_chart(values: np.ndarray, feature_names: Sequence[str], top: int = 8,
                           title: str = "", signed: bool = True) -> alt.Chart:
    """The `top` features by size, signed: red bars pushed towards the class, blue away."""
    values = np.asarray(values, dtype=np.float64).ravel()
    rel = relative(values)
    order = np.argsort(-np.abs(values), kind="stable")[:top]
    df = pd.DataFrame({
        "feature": [str(feature_names[i]) for i in order], "attribution": values[order],
        "relative": rel[order],
        "effect": ["towards" if v > 0 or not signed else "away" for v in values[order]],
    })
    return alt.Chart(df, title=title).mark_bar().encode(
        x=alt.X("relative:Q", title=None,
                scale=alt.Scale(domain=[-1, 1] if signed else [0, 1]),
                axis=alt.Axis(format="%", values=[-1, 0, 1] if signed else [0, 1])),
        y=alt.Y("feature:N", sort=list(df["feature"]), title=None,
                axis=alt.Axis(labelLimit=130, labelOverlap=False)),
        color=alt.Color("effect:N", scale=alt.Scale(domain=["towards", "away"],
                                                     range=[TOWARDS, AWAY]), legend=None),
        tooltip=["feature", alt.Tooltip("attribution:Q", format=".3g"),
                 alt.Tooltip("relative:Q", title="share of strongest", format="+.0%")],
    ).properties(height=max(120, 22 * len(df)))


def importance_map_chart(values: np.ndarray, title: str = "", size: int = 170) -> alt.Chart:
    """Global view for images: mean |attribution| per pixel, darker = more important."""
    return _pixel_chart(pixel_map(values), "importance", "oranges", "mean |SHAP|", ".3g",
                        title, size)


def importance_bars_chart(values: np.ndarray, feature_names: Sequence[str], top: int = 10,
                          title: str = "") -> alt.Chart:
    """Global view for tables: the `top` features by mean |attribution|."""
    values = np.asarray(values, dtype=np.float64).ravel()
    order = np.argsort(-values, kind="stable")[:top]
    df = pd.DataFrame({"feature": [str(feature_names[i]) for i in order],
                       "importance": values[order]})
    return alt.Chart(df, title=title).mark_bar(color="#d35400").encode(
        x=alt.X("importance:Q", title="mean |SHAP| (log-odds)"),
        y=alt.Y("feature:N", sort=list(df["feature"]), title=None,
                axis=alt.Axis(labelLimit=160, labelOverlap=False)),
        tooltip=["feature", alt.Tooltip("importance:Q", format=".3g")],
    ).properties(height=max(120, 22 * len(df)))


def thumbnails_chart(images: np.ndarray, indices: Sequence[int], captions: Sequence[str],
                     selected: int | None = None, columns: int = 12,
                     param: str = "pick", max_width: int = 340) -> alt.Chart:
    """Small images in a grid, one chart; clicking one selects its `index` (selection
    `param`). The selected one gets a red frame. At most `max_width` pixels wide, so it
    fits a phone's screen (390 wide) whole."""
    n = len(indices)
    imgs = np.stack([pixel_map(im) for im in images]) if n else np.zeros((0, 8, 8))
    h, w = imgs.shape[1:] if n else (8, 8)
    gap = 2
    columns = max(1, min(columns, max_width // (w + gap)))  # big pictures: fewer a row
    rows = []
    for k, (index, caption) in enumerate(zip(indices, captions, strict=True)):
        gy, gx = divmod(k, columns)
        r, c = np.indices((h, w))
        rows.append(pd.DataFrame({
            "x": (gx * (w + gap) + c).ravel(), "y": (gy * (h + gap) + r).ravel(),
            "value": imgs[k].ravel(), "index": int(index), "caption": caption,
        }))
    df = pd.concat(rows) if rows else pd.DataFrame(
        columns=["x", "y", "value", "index", "caption"])
    pick = alt.selection_point(name=param, fields=["index"], on="click")
    grid_rows = max(1, -(-n // columns))
    scale = max(1, min(6, max_width // (columns * (w + gap))))
    width = columns * (w + gap) * scale
    height = grid_rows * (h + gap) * scale
    pixels = alt.Chart(df).mark_rect().encode(
        x=alt.X("x:Q", axis=None, scale=alt.Scale(domain=[-0.5, columns * (w + gap)])),
        y=alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[-0.5, grid_rows * (h + gap)],
                                                  reverse=True)),
        x2="x2:Q", y2="y2:Q",
        color=alt.Color("value:Q", scale=alt.Scale(scheme="greys"), legend=None),
        tooltip=[alt.Tooltip("caption:N", title="example")],
    ).transform_calculate(x2="datum.x + 1", y2="datum.y + 1").add_params(pick)
    layers = [pixels]
    if selected is not None and selected in set(int(i) for i in indices):
        k = list(int(i) for i in indices).index(selected)
        gy, gx = divmod(k, columns)
        frame = pd.DataFrame({"x": [gx * (w + gap) - 0.5], "y": [gy * (h + gap) - 0.5],
                              "x2": [gx * (w + gap) + w + 0.5],
                              "y2": [gy * (h + gap) + h + 0.5]})
        layers.append(alt.Chart(frame).mark_rect(fill=None, stroke=TOWARDS, strokeWidth=3)
                      .encode(x="x:Q", y="y:Q", x2="x2:Q", y2="y2:Q"))
    return alt.layer(*layers).properties(width=width, height=height)


def attention_chart(words: Sequence[str], matrix: np.ndarray, size: int = 320) -> alt.Chart:
    """Where each word looked (rows) and how much at each other word (columns): a heat map.
    Words are labels only; the same word twice gets its place as well ("not (3)")."""
    labels = [f"{w} ({i + 1})" for i, w in enumerate(words)]
    rows, cols = np.indices(np.asarray(matrix).shape)
    df = pd.DataFrame({"from": [labels[i] for i in rows.ravel()],
                       "to": [labels[j] for j in cols.ravel()],
                       "attention": np.asarray(matrix, dtype=np.float64).ravel()})
    return alt.Chart(df).mark_rect().encode(
        x=alt.X("to:N", sort=labels, title="looked at", axis=alt.Axis(labelAngle=-45)),
        y=alt.Y("from:N", sort=labels, title="word"),
        color=alt.Color("attention:Q", scale=alt.Scale(scheme="purples"), legend=None),
        tooltip=[alt.Tooltip("from:N", title="word"), alt.Tooltip("to:N", title="looked at"),
                 alt.Tooltip("attention:Q", format=".0%", title="share of its attention")],
    ).properties(width=size, height=size)
