"""A look at the data before training: pictures, a table, a scatter or sentences, and class
balance."""
from __future__ import annotations

import numpy as np
import streamlit as st

from playground.common import escape
from playground.data.catalog import load_dataset
from playground.data.units import RowCodec
from playground.results import charts

PREVIEW_IMAGES = 24
PREVIEW_SENTENCES = 8


@st.cache_data(show_spinner=False, max_entries=32)
def _preview_data(name: str, seed: int, noise: float):
    d = load_dataset(name, seed, noise)
    # Tables: the first rows in the person's own values (the run's scaling undone).
    rows = RowCodec(d).frame(d.X_train[:50]) if d.info.kind == "tabular" else None
    if d.info.kind == "text":  # the sentences as written, not their token ids
        rows = [str(t) for t in d.texts[0][:PREVIEW_SENTENCES]]
    return d.info.kind, d.X_train, d.y_train, d.class_names, rows, (
        len(d.y_train), len(d.y_val), len(d.y_test))


def _upscale(image: np.ndarray, factor: int = 8) -> np.ndarray:
    # 8x8 pixels are too small to see; repeat each pixel instead of smoothing it.
    return np.kron(image, np.ones((factor, factor) + (1,) * (image.ndim - 2)))


def _picture(x: np.ndarray) -> np.ndarray:
    """(channels, height, width) -> greyscale (h, w) or colour (h, w, 3) for st.image."""
    return x[0] if x.shape[0] == 1 else x.transpose(1, 2, 0)


def dataset_preview(name: str, seed: int = 0, noise: float = 0.2) -> None:
    kind, X, y, class_names, rows, sizes = _preview_data(name, seed, noise)
    st.markdown(
        f"**{sizes[0]:,}** examples to train on, **{sizes[1]:,}** to check progress "
        f"(validation), **{sizes[2]:,}** kept aside for the final test · "
        f"**{len(class_names)}** classes"
    )
    if kind == "image":
        shown = range(min(PREVIEW_IMAGES, len(X)))  # an uploaded set may have fewer
        images = [np.clip(_upscale(_picture(X[i])), 0, 1) for i in shown]
        raw = [str(class_names[y[i]]) for i in shown]
        st.image(images, caption=[f"label {escape.md(c)}" for c in raw], width=64, clamp=True,
                 alt=[f"a training picture with label {c}" for c in raw])
    elif kind == "text":
        st.caption(f"The first {len(rows)} training sentences, with their labels")
        # The sentences and labels are data (an upload's, too): escaped, never markup.
        st.markdown("\n".join(f"- **{escape.md(str(class_names[label]))}**: {escape.md(text)}"
                               for text, label in zip(rows, y, strict=False)))
    elif kind == "points":
        st.altair_chart(charts.points_chart(X, y, class_names), width="stretch",
                        height=340)
    else:
        frame = rows.copy()
        frame.insert(0, "class", [class_names[i] for i in y[:50]])
        st.caption("The first 50 training rows, in the data's own values")
        st.dataframe(frame, height=240, hide_index=True)
    st.altair_chart(charts.class_balance_chart(y, class_names), width="stretch",
                    height=220)
