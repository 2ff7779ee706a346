"""Explain page: choosing the input, from a grid of test examples or (tables) a what-if edit.

Tables are shown and edited in the person's own units (the CSV's numbers, category names),
converted by the run's own preprocessing (`RowCodec`); the model's standardised inputs only
under "details". Every answer is the run's own decision (its decision rule, e.g. fairness
thresholds), so counts agree with the run's card.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import streamlit as st

from components.base.keys import explain as keys
from playground.common.escape import md
from playground.data.units import RowCodec, UnitsError
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
    labels: list[str] = field(default_factory=list)  # tables: each input in the person's units

    def shown(self, data):
        """The data with its inputs named for this row ("income = 42,000"), for the charts."""
        return replace(data, feature_names=self.labels) if self.labels else data


@st.cache_data(show_spinner=False, max_entries=64)
def _test_decisions(_runner: ExplainJobs, run_id: str, reference: str) -> np.ndarray:
    """A run's decisions on the reference run's test split: the stored ones (what its card
    counts) when it is the same split, else its decision rule on those inputs."""
    rule = _runner.bank.rule(run_id)
    X = _runner.bank.loaded(reference).data.X_test
    own = _runner.bank.loaded(run_id).data.X_test
    if own.shape == X.shape and np.array_equal(own, X):
        return rule.stored()
    return rule.decide(X)


def pick_input(runner: ExplainJobs, runs: list[Run]) -> InputChoice | None:
    reference = runs[0]
    data = runner.bank.loaded(reference.id).data
    names = data.class_names
    preds = {r.id: _test_decisions(runner, r.id, reference.id) for r in runs}
    y = data.y_test
    wrong = np.zeros(len(y), bool)
    for p in preds.values():
        wrong |= p != y
    said = preds[reference.id]
    first = "the model" if len(runs) == 1 else f"run {reference.id}"
    options = ["all", "wrong", *[f"class:{k}" for k in range(len(names))],
               *[f"said:{k}" for k in range(len(names))]]
    words = {"all": f"all {len(y)} test examples",
             "wrong": (f"ones the run got wrong ({int(wrong.sum())} of {len(y)})"
                       if len(runs) == 1 else
                       f"ones a chosen run got wrong ({int(wrong.sum())})"),
             **{f"class:{k}": f"true class {n}" for k, n in enumerate(names)},
             **{f"said:{k}": f"{first} said {n} ({int((said == k).sum())})"
                for k, n in enumerate(names)}}
    cohort = st.session_state.get(keys.COHORT)  # a group sent from a run's "Where it fails"
    if cohort and cohort["run"] == reference.id:
        options.insert(0, keys.COHORT_FILTER)
        words[keys.COHORT_FILTER] = f"{cohort['label']} ({len(cohort['indices'])})"
    elif st.session_state.get(keys.FILTER) == keys.COHORT_FILTER:
        st.session_state[keys.FILTER] = "all"
    left, right = st.columns([1, 2])
    show = left.selectbox("Show", options, key=keys.FILTER, format_func=words.get)
    if show == keys.COHORT_FILTER:
        keep = np.isin(np.arange(len(y)), cohort["indices"])
    elif show == "all":
        keep = np.ones(len(y), bool)
    elif show == "wrong":
        keep = wrong
    elif show.startswith("said:"):
        keep = said == int(show.split(":")[1])
    else:
        keep = y == int(show.split(":")[1])
    _wrong_counts(runs, preds, y)
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
        return _what_if(runner, runs, data, index, x, preds)
    return InputChoice(x, index, int(y[index]), f"test example #{index}")


def _wrong_counts(runs: list[Run], preds: dict, y: np.ndarray) -> None:
    """How many each run got wrong, counted from its own decisions: the card's accuracy."""
    parts = [f"run {r.id} got {int((preds[r.id] != y).sum())} of {len(y)} wrong "
             f"({(preds[r.id] == y).mean():.1%} right)" for r in runs]
    st.caption("; ".join(parts) + ". Each run's answers are the decisions it makes, with "
               "its own decision rule where it has one (such as per-group thresholds).")


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
    features = RowCodec(data).frame(data.X_test[shown])  # the CSV's own values
    frame = pd.concat([frame, features], axis=1)
    event = st.dataframe(frame, key="explain_rows", on_select="rerun",
                         selection_mode="single-row", hide_index=True, height=220,
                         width="stretch")
    rows = (event or {}).get("selection", {}).get("rows") or []
    _apply_pick(int(shown[rows[0]]) if rows else None, "explain_row_pick")


def _what_if(runner: ExplainJobs, runs: list[Run], data, index: int,
             x: np.ndarray, preds: dict) -> InputChoice:
    codec = RowCodec(data)
    original = codec.to_raw(x)
    truth = int(data.y_test[index])
    unedited = InputChoice(x, index, truth, f"test example #{index}", codec.input_labels(x))
    with st.expander("What if? Change this example's values and see the answers move"):
        st.caption("Values as in your data. Change any of them: every run decides again, "
                   "with its own rules, and the explanations below follow the edited "
                   "example. Numbers outside the training data's range are guesses.")
        row = _editor(codec, original, f"explain_whatif_{runs[0].id}_{index}")
        try:
            edited = codec.to_model(row, base=x)
        except UnitsError as exc:
            st.error(f"{md(exc.problem)} Until then the original values are used.")
            return unedited
        changed = [c for c in codec.schema.names if row[c] != original[c]]
        with st.expander("Details: the model's inputs in standard units"):
            st.caption("What the model itself reads: each input minus its training average, "
                       "divided by its typical spread; categories as 0/1 inputs or codes.")
            st.dataframe(pd.DataFrame({"input": data.feature_names,
                                       "this example": x.astype(float),
                                       "edited": edited.astype(float)}).round(3),
                         hide_index=True, key="explain_whatif_details", width="stretch")
        if not changed:
            return unedited
        names = data.class_names
        for r in runs:
            rule = runner.bank.rule(r.id)
            before = int(preds[r.id][index])
            after = int(rule.decide(edited[None], positions=[index])[0])
            sure = runner.bank.predict(r.id, default_variant(r), edited[None])[0]
            st.markdown(f"Run **{r.id}**: {md(names[before])} → **{md(names[after])}** "
                        f"(the model gives it {sure[after]:.0%})")
        what = ", ".join(f"{c} {codec.format(c, row[c])}" for c in changed)
        return InputChoice(edited, index, None, f"example #{index} with {what}",
                           codec.input_labels(edited))


def _editor(codec: RowCodec, original: dict, key: str) -> dict:
    """One input per column: numbers in the CSV's units (the training range as a hint),
    categories as a choice of the column's values."""
    row: dict = {}
    columns = st.columns(3)
    for k, column in enumerate(codec.schema):
        value = original[column.name]
        with columns[k % 3]:
            if column.kind == "number":
                lo, hi = codec.ranges[column.name]
                decimals = 0 if column.integer else column.decimals
                row[column.name] = st.number_input(
                    md(column.name), value=float(value), step=10.0 ** -decimals,
                    format=f"%.{decimals}f", key=f"{key}_{k}",
                    help=f"In the training data: {codec.format(column.name, lo)} to "
                         f"{codec.format(column.name, hi)}")
                if row[column.name] == float(value):
                    row[column.name] = value
            else:
                options = list(column.categories)
                row[column.name] = st.selectbox(md(column.name), options,
                                                index=options.index(str(value)),
                                                key=f"{key}_{k}")
    return row
