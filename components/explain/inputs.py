"""Explain page: choosing the input, from a grid of test examples or (tables) a what-if edit."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from components.base.keys import explain as keys
from playground.explain.charts import thumbnails_chart
from playground.explain.jobs import ExplainJobs
from playground.explain.subjects import default_variant
from playground.runs.store import Run

SHOWN = 48  # thumbnails / table rows at once


@dataclass
class InputChoice:
    x: np.ndarray
    index: int  # position in the first run's test split
    true_class: int | None  # None once the values were edited
    label: str


@st.cache_data(show_spinner=False, max_entries=64)
def _test_predictions(_runner: ExplainJobs, run_id: str, variant: str,
                      reference: str) -> np.ndarray:
    X = _runner.bank.loaded(reference).data.X_test
    return _runner.bank.predict(run_id, variant, X).argmax(1)


def pick_input(runner: ExplainJobs, runs: list[Run]) -> InputChoice | None:
    reference = runs[0]
    data = runner.bank.loaded(reference.id).data
    names = data.class_names
    preds = {r.id: _test_predictions(runner, r.id, default_variant(r), reference.id)
             for r in runs}
    y = data.y_test
    wrong = np.zeros(len(y), bool)
    for p in preds.values():
        wrong |= p != y

    options = ["all", "wrong", *[f"class:{k}" for k in range(len(names))]]
    words = {"all": f"all {len(y)} test examples",
             "wrong": f"ones a chosen run got wrong ({int(wrong.sum())})",
             **{f"class:{k}": f"true class {n}" for k, n in enumerate(names)}}
    left, right = st.columns([1, 2])
    show = left.selectbox("Show", options, key="explain_filter", format_func=words.get)
    if show == "all":
        keep = np.ones(len(y), bool)
    elif show == "wrong":
        keep = wrong
    else:
        keep = y == int(show.split(":")[1])
    indices = np.flatnonzero(keep)
    if not len(indices):
        left.caption("None: every chosen run got every test example right. Showing all.")
        indices = np.arange(len(y))

    def caption(i: int) -> str:
        said = ", ".join(f"{r.id[:6]} says {names[preds[r.id][i]]}" for r in runs)
        return f"#{i} · true {names[y[i]]} · {said}"

    def short(i: int) -> str:
        # Labels that depend on the example only: the browser keeps a keyed selectbox's
        # old labels when only they change, so the runs' answers would go stale here.
        return f"#{i} · true class {names[y[i]]}"

    if st.session_state.get(keys.INDEX) not in set(indices.tolist()):
        st.session_state[keys.INDEX] = int(indices[0])
    shown = indices[:SHOWN]
    if data.info.kind == "image":
        _thumbnails(data.X_test[shown], shown, [caption(int(i)) for i in shown])
    else:
        _table(data, shown, preds, runs)
    index = right.selectbox("Example", indices.tolist(), key=keys.INDEX,
                            format_func=short)
    if len(runs) > 1 and len({(r.config.seed, r.config.noise) for r in runs}) > 1:
        st.caption(f"The examples come from run {reference.id}'s test split. Runs with "
                   "another seed split the data differently, so this example may have been "
                   "in their training data.")
    x = data.X_test[index]
    if data.info.kind != "image":
        return _what_if(runner, runs, data, index, x)
    return InputChoice(x, index, int(y[index]), f"test example #{index}")


def _apply_pick(picked: int | None, marker: str) -> None:
    """A click in the grid or the table chooses the example, once per click."""
    if picked is not None and st.session_state.get(marker) != picked:
        st.session_state[marker] = picked
        st.session_state[keys.INDEX] = picked


def _thumbnails(images: np.ndarray, shown: np.ndarray, captions: list[str]) -> None:
    current = st.session_state.get(keys.INDEX)
    chart = thumbnails_chart(images, shown.tolist(), captions, selected=current, columns=8)
    event = st.altair_chart(chart, on_select="rerun", key="explain_thumbs",
                            selection_mode="pick", width="content")
    picks = (event or {}).get("selection", {}).get("pick") or []
    _apply_pick(int(picks[0]["index"]) if picks else None, "explain_thumb_pick")
    if len(shown) >= SHOWN:
        st.caption(f"The first {SHOWN} are drawn; the Example list has them all.")


def _table(data, shown: np.ndarray, preds: dict, runs: list[Run]) -> None:
    names = data.class_names
    frame = pd.DataFrame({"example": shown, "true class": [names[data.y_test[i]] for i in shown]})
    for r in runs:
        frame[f"{r.id} says"] = [names[preds[r.id][i]] for i in shown]
    features = pd.DataFrame(data.X_test[shown], columns=data.feature_names).round(2)
    frame = pd.concat([frame, features], axis=1)
    event = st.dataframe(frame, key="explain_rows", on_select="rerun",
                         selection_mode="single-row", hide_index=True, height=220,
                         width="stretch")
    rows = (event or {}).get("selection", {}).get("rows") or []
    _apply_pick(int(shown[rows[0]]) if rows else None, "explain_row_pick")


def _what_if(runner: ExplainJobs, runs: list[Run], data, index: int,
             x: np.ndarray) -> InputChoice:
    with st.expander("What if? Change this example's values and see the answers move"):
        st.caption("Values are in standard units: 0 is the training average, +1 is one "
                   "typical spread above it. Edit any value; every run predicts again and "
                   "the explanations below follow the edited example.")
        table = pd.DataFrame({"feature": data.feature_names, "value": x.astype(float)})
        edited = st.data_editor(
            table, key=f"explain_whatif_{runs[0].id}_{index}", hide_index=True,
            disabled=["feature"], width="stretch",
            column_config={"value": st.column_config.NumberColumn(format="%.3f")})
        values = pd.to_numeric(edited["value"], errors="coerce").to_numpy(np.float32)
        if np.isnan(values).any():
            missing = [data.feature_names[i] for i in np.flatnonzero(np.isnan(values))]
            st.error(f"Fill in a number for {', '.join(missing)}; until then the original "
                     "values are used.")
            return InputChoice(x, index, int(data.y_test[index]), f"test example #{index}")
        if np.allclose(values, x):
            return InputChoice(x, index, int(data.y_test[index]), f"test example #{index}")
        names = data.class_names
        for r in runs:
            before = runner.bank.predict(r.id, default_variant(r), x[None])[0]
            after = runner.bank.predict(r.id, default_variant(r), values[None])[0]
            st.markdown(f"Run **{r.id}**: {names[before.argmax()]} ({before.max():.0%}) → "
                        f"**{names[after.argmax()]}** ({after.max():.0%})")
        return InputChoice(values, index, None, f"edited example #{index}")
