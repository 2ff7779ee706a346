"""The decision boundary as a picture: a heat map of the class the model would pick at each
cell of the plane (paler where it is less sure), with the training points on top coloured by
their true class. Pure functions, no Streamlit: a frame from training/boundary.py in, an
Altair chart out.

The cells and the points travel in one table (column `layer`), so a live chart's spec can
be made from a template built once, with only the data swapped (components' with_data).
"""
from __future__ import annotations

from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd

from playground.training.boundary import grid_of

CAPTION = ("Colour: the class the model would pick at each point; paler = less sure. "
           "Dots: the training examples, coloured by their true class.")
COLUMNS = ["layer", "x", "y", "x2", "y2", "class", "sure", "fill"]
# Vega's tableau10, named so the cells' own blended colours match the points' colours.
PALETTE = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2",
           "#ff9da6", "#9d755d", "#bab0ac"]
PALEST, DEEPEST = 0.08, 0.55  # share of the class's colour (the rest white): unsure, sure
OVERLAP = 0.1  # share of a cell each cell reaches into its neighbours (no seams between)


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)


def cell_colours(picked: np.ndarray, sure: np.ndarray, n_classes: int) -> list[str]:
    """Each cell's colour: its class's, paler the less sure the model is (1/classes, a
    guess, is the palest; certain is the deepest). Opaque, so cells can overlap."""
    floor = 1 / max(2, n_classes)
    depth = PALEST + (DEEPEST - PALEST) * np.clip((sure - floor) / (1 - floor), 0, 1)
    base = np.stack([_rgb(PALETTE[c % len(PALETTE)]) for c in picked])
    rgb = np.rint(255 - (255 - base) * depth[:, None]).astype(int)
    return [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in rgb]


def frame_table(meta: dict[str, Any], frame: np.ndarray) -> pd.DataFrame:
    """One row per cell (its edges, the class picked, how sure 0-1) and per training point."""
    grid = grid_of(meta)
    names = [str(c) for c in meta["class_names"]]
    n = grid.size
    xs = np.linspace(grid.x[0], grid.x[1], n + 1)
    ys = np.linspace(grid.y[0], grid.y[1], n + 1)
    col, row = np.meshgrid(np.arange(n), np.arange(n))  # frame rows run from low y up
    col, row = col.ravel(), row.ravel()
    picked = frame[0].ravel().astype(int)
    sure = frame[1].ravel() / 255.0
    dx, dy = (xs[1] - xs[0]) * OVERLAP, (ys[1] - ys[0]) * OVERLAP
    cells = pd.DataFrame({
        "layer": "cell", "x": xs[col] - dx, "y": ys[row] - dy, "x2": xs[col + 1] + dx,
        "y2": ys[row + 1] + dy, "class": [names[c] if c < len(names) else str(c)
                                          for c in picked],
        "sure": sure, "fill": cell_colours(picked, sure, len(names)),
    })
    points = np.asarray(meta["points"], dtype=float).reshape(-1, 3)
    dots = pd.DataFrame({
        "layer": "point", "x": points[:, 0], "y": points[:, 1], "x2": np.nan, "y2": np.nan,
        "class": [names[int(c)] for c in points[:, 2]], "sure": 1.0, "fill": "",
    })
    return pd.concat([cells, dots], ignore_index=True)[COLUMNS]


def extent(metas: Sequence[dict[str, Any]]) -> tuple[float, float, float, float]:
    """The plane that holds every grid given (side-by-side charts share their scales)."""
    return (min(m["x"][0] for m in metas), max(m["x"][1] for m in metas),
            min(m["y"][0] for m in metas), max(m["y"][1] for m in metas))


def boundary_chart(table: pd.DataFrame, class_names: Sequence[str],
                   plane: tuple[float, float, float, float], title: str = "",
                   features: Sequence[str] = ("x", "y"), size: int = 300) -> alt.LayerChart:
    """Heat map of the predicted class (paler: less sure) under the training points.
    `plane` (x from, x to, y from, y to) and `class_names` fix the scales, so charts of
    different runs on the same data read alike."""
    names = [str(c) for c in class_names]
    colour = alt.Scale(domain=names, range=[PALETTE[i % len(PALETTE)]
                                            for i in range(len(names))])
    x_scale = alt.Scale(domain=[plane[0], plane[1]], nice=False, zero=False)
    y_scale = alt.Scale(domain=[plane[2], plane[3]], nice=False, zero=False)
    x = alt.X("x:Q", scale=x_scale, title=f"{features[0]} (standardised)")
    y = alt.Y("y:Q", scale=y_scale, title=f"{features[1]} (standardised)")
    base = alt.Chart(table)
    cells = base.transform_filter(alt.datum.layer == "cell").mark_rect().encode(
        x=x, x2="x2:Q", y=y, y2="y2:Q", color=alt.Color("fill:N", scale=None),
        tooltip=[alt.Tooltip("class:N", title="the model picks"),
                 alt.Tooltip("sure:Q", title="how sure", format=".0%")],
    )
    points = base.transform_filter(alt.datum.layer == "point").mark_circle(
        size=26, opacity=1, stroke="white", strokeWidth=0.8).encode(
        x=x, y=y, color=alt.Color("class:N", scale=colour, title="class",
                                  legend=alt.Legend(orient="bottom", title="true class")),
        tooltip=[alt.Tooltip("class:N", title="true class")],
    )
    return alt.layer(cells, points, title=title).properties(width=size, height=size)
