"""Explain page: the grid (one row per run, one column per method) and what feeds it.

`plan` turns the choices into explanation requests; the background runner computes what
the cache lacks; `explanation_grid` draws whatever is ready and says what is still cooking.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from components.base.chart_cache import cached_chart
from components.base.keys.explain import FLOAT_FOR_GRADIENTS, REPLAN
from components.base.services import refresh_live
from components.experiments.workshop_session import session_actor
from components.explain.attack import Attacked, attacked_header
from components.explain.inputs import InputChoice
from components.explain.pick import Row, ask, asker, owner_words, run_words
from playground.common import escape
from playground.explain import methods as M
from playground.explain.agreement import default_k, rank_correlation, top_k_overlap
from playground.explain.cache import Request
from playground.explain.charts import (
    AWAY,
    NEUTRAL,
    TOWARDS,
    attribution_bars_chart,
    attribution_map_chart,
    input_image_chart,
)
from playground.explain.jobs import ExplainJobs
from playground.explain.verdict import verdict_for

BAR_FEATURES = 8


@dataclass
class Plan:
    """Every request the page needs, by purpose."""

    cells: dict[tuple[int, str], Request | None] = field(default_factory=dict)  # None: int8
    attacked: dict[tuple[int, str], Request | None] = field(default_factory=dict)  # same, on
    # the row's attacked input
    overall: dict[int, Request] = field(default_factory=dict)  # row -> global SHAP view
    sanity: dict[tuple[int, str], tuple[Request, Request]] = field(default_factory=dict)

    @property
    def grid_requests(self) -> list[Request]:
        return [r for r in self.cells.values() if r is not None]

    @property
    def attacked_requests(self) -> list[Request]:
        return [r for r in self.attacked.values() if r is not None]

    @property
    def all_requests(self) -> list[Request]:
        pairs = [r for pair in self.sanity.values() for r in pair]
        return self.grid_requests + self.attacked_requests + list(self.overall.values()) + pairs


def cell_variant(row: Row, method: str, float_for_gradients: bool) -> str | None:
    """The model a cell explains; None when a gradient method meets an int8 model."""
    if row.variant == "int8" and M.method(method).needs_gradients:
        return "float" if float_for_gradients else None
    return row.variant


@dataclass
class _Kind:
    """What a method's settings depend on: the data's kind and whether the model is int8."""

    kind: str
    quantized: bool


def row_kind(runner: ExplainJobs, row: Row) -> str:
    """The kind of data a row's run was trained on (image, tabular or points)."""
    return runner.bank.loaded(row.run.id).data.info.kind


def plan(runner: ExplainJobs, rows: list[Row], methods: list[str], choice: InputChoice,
         sanity: bool, attacked: dict[int, Attacked] | None = None) -> Plan:
    float_for_gradients = bool(st.session_state.get(FLOAT_FOR_GRADIENTS))
    out = Plan()

    def request(row: Row, method: str, variant: str, target: int, x=None) -> Request:
        about = _Kind(row_kind(runner, row), variant == "int8")
        return Request(row.run.id, method, variant, target, M.settings(method, about), x=x)

    for i, row in enumerate(rows):
        for method in methods:
            variant = cell_variant(row, method, float_for_gradients)
            out.cells[(i, method)] = None if variant is None else \
                request(row, method, variant, row.target, choice.x)
            if attacked and i in attacked:  # the same map of the attacked input
                out.attacked[(i, method)] = None if variant is None else \
                    request(row, method, variant, row.target, attacked[i].adversarial.x)
            if sanity:  # trained vs random weights, both float so every method can run
                out.sanity[(i, method)] = (request(row, method, "float", row.target, choice.x),
                                           request(row, method, "random", row.target, choice.x))
        out.overall[i] = request(row, M.overall_method(), row.variant, -1)
    # One job, in the order a person reads the page: the grid (the original's maps, then
    # the attacked input's), the overall view, the check.
    ask(runner, out.all_requests)
    return out




def _use_float() -> None:
    st.session_state[FLOAT_FOR_GRADIENTS] = True
    st.session_state[REPLAN] = True


def replan_if_asked() -> None:
    """Buttons inside the polling fragment change what to compute; the plan is made by the
    whole page, so such a click reruns the whole page, not just the fragment."""
    if st.session_state.pop(REPLAN, False):
        st.rerun()


def legend(class_name: str) -> None:
    st.html(
        "<div style='font-size:0.75rem;line-height:1.35;max-width:320px'>"
        "<div style='height:9px;border-radius:3px;background:linear-gradient(to right,"
        f"{AWAY},{NEUTRAL},{TOWARDS})'></div>"
        "<div style='display:flex;justify-content:space-between;gap:6px'>"
        f"<span style='color:{AWAY}'>away from {escape.html(class_name)}</span>"
        f"<span style='color:{TOWARDS}'>towards {escape.html(class_name)}</span></div>"
        "<div style='color:#555'>Each map is scaled to its own strongest value.</div></div>")



def _row_header(row: Row, names: list[str], choice: InputChoice) -> None:
    run = row.run
    md = escape.md
    said = md(names[row.predicted])
    mark = "" if choice.true_class is None else \
        (" ✓" if row.predicted == choice.true_class else
         f" ✗ (true: {md(names[choice.true_class])})")
    notes = [f"run {run.id}"]
    if row.variant == "int8":
        notes.append("int8 model, as the run measured it")
    if row.target != row.predicted:
        notes.append(f"explaining class {md(names[row.target])}")
    st.markdown(f"**{md(owner_words(run, session_actor()).capitalize())}**: "
                f"{md(run_words(run))}  \n"
                f"says **{said}**, {row.probs[row.predicted]:.0%} sure{mark}")
    st.caption("; ".join(notes))
    legend(names[row.target])


def _ready(runner: ExplainJobs, row_cells: dict[str, Request | None]) -> dict | None:
    """The finished attributions of a row's cells by method; None while any is cooking."""
    asked = {m: r for m, r in row_cells.items() if r is not None}
    done = {m: runner.result(r) for m, r in asked.items()}
    return None if not done or any(a is None for a in done.values()) else done


def _verdict(runner: ExplainJobs, row: Row, row_cells: dict[str, Request | None], data,
             x: np.ndarray) -> None:
    """The row's verdict in one sentence, before any diagnostic."""
    done = _ready(runner, row_cells)
    if done is None:
        if any(r is not None for r in row_cells.values()):
            st.caption("The verdict appears when every map of this run is ready.")
        return
    verdict = verdict_for(data, x, done, data.class_names[row.target])
    icon = {True: "✅ ", False: "⚠️ "}.get(verdict.agree, "")
    st.markdown(f"{icon}**Verdict:** {escape.md(verdict.sentence)}")


def _details(runner: ExplainJobs, row: Row, row_cells: dict[str, Request | None], data,
             x: np.ndarray) -> None:
    """Each method's own check and time, with what the check means, folded away."""
    done = _ready(runner, row_cells)
    if done is None:
        return
    verdict = verdict_for(data, x, done, data.class_names[row.target])
    with st.expander("Details: how far to trust each map"):
        for name, a in done.items():
            m = M.method(name)
            check = m.note(a)
            line = f"- **{m.title}**: computed in {a.seconds:.2f} s"
            if check:
                meaning = f". {escape.md(m.check_meaning.capitalize())}" if m.check_meaning \
                    else ""
                line += f"; {escape.md(check)}{meaning}"
            st.markdown(line)
        for d in verdict.details:
            if not d.method:
                st.markdown(f"- {escape.md(d.check)}: {escape.md(d.meaning)}")


def _cell(runner: ExplainJobs, row: Row, i: int, method: str, request: Request | None,
          image: np.ndarray | None, feature_names: list[str], tag: str = "",
          original: Request | None = None) -> None:
    """One map; `tag` names the attacked input's cells apart, whose `original` is the
    same map of the original input (their caption says how far the map moved)."""
    m = M.method(method)
    if request is None:
        if tag:
            st.caption(f"{m.title}: needs gradients, as above.")
            return
        others = M.without_gradients(row_kind(runner, row))
        st.info(f"{m.title} needs gradients; an int8 model has none. "
                f"{M.titles(others, last='and')} explain the int8 model itself.")
        st.button("Use this run's float model", key=f"explain_float_{i}_{method}",
                  on_click=_use_float)
        return
    attribution = runner.result(request)
    if attribution is None:
        error = runner.error(request)
        if error:
            st.error(f"{m.title} could not explain this: {error}")
            if st.button("Try again", key=f"explain_retry_{tag}{i}_{method}"):
                runner.retry([request], **asker())
                refresh_live()
                st.rerun()
        else:
            st.caption(f"{m.title}: working on it…")
        return
    # A finished map never changes: its chart is built once per server, not per poll.
    if image is not None:  # the method's name on the map: on a phone the columns stack
        cached_chart(("explain_map", request.key),
                     lambda: attribution_map_chart(image, attribution.values, m.title,
                                                   signed=m.signed),
                     key=f"explain_map_{tag}{i}_{method}", width="stretch", height=210)
    else:
        cached_chart(("explain_bars", request.key),
                     lambda: attribution_bars_chart(attribution.values, feature_names,
                                                    BAR_FEATURES, signed=m.signed),
                     key=f"explain_bars_{tag}{i}_{method}", width="stretch",
                     height=24 * BAR_FEATURES + 50)
    variant = " · float model" if request.variant != row.variant else ""
    before = runner.result(original) if original is not None else None
    if before is None:  # its checks are in the row's details
        if variant:
            st.caption("the run's float model")
        return
    st.caption(_moved_note(before.values, attribution.values, image is not None) + variant)


def _moved_note(before: np.ndarray, after: np.ndarray, image: bool) -> str:
    """How far the attacked input's map moved from the original's."""
    unit = "pixels" if image else "features"
    k = default_k(before.size)
    kept = round(top_k_overlap(before, after, k) * k)
    return (f"against the original's map: {kept} of the top {k} {unit} the same, "
            f"ρ {rank_correlation(before, after):.2f}")


def explanation_grid(runner: ExplainJobs, rows: list[Row], methods: list[str],
                     choice: InputChoice, data, the_plan: Plan,
                     attacked: dict[int, Attacked] | None = None) -> None:
    """Images: the run beside its maps, one column per method, and under it the same for
    its attacked input when the example is attacked. Tables: see _table_grid."""
    attacked = attacked or {}
    image = choice.x if data.info.kind == "image" else None
    beside = image is not None
    if image is not None:
        left, right = st.columns([1, 6], vertical_alignment="center")
        left.altair_chart(input_image_chart(image), key="explain_input_image", width="content")
        truth = "" if choice.true_class is None else \
            f" Its true class is **{escape.md(data.class_names[choice.true_class])}**."
        right.markdown(f"The input, {choice.label}.{truth} Below, each run's maps lie over it.")
    if not beside:
        _table_grid(runner, rows, methods, choice, data, the_plan, attacked)
        return
    widths = [1.1] + [1.0] * len(methods)
    with st.container(key="explain_grid"):
        for i, row in enumerate(rows):
            row_cells = {m: the_plan.cells[(i, m)] for m in methods}
            if i:
                st.divider()
            _verdict(runner, row, row_cells, data, choice.x)
            cols = st.columns(widths)
            with cols[0]:
                _row_header(row, data.class_names, choice)
            for col, method in zip(cols[1:], methods, strict=True):
                with col:
                    _cell(runner, row, i, method, the_plan.cells[(i, method)], image,
                          data.feature_names)
            _details(runner, row, row_cells, data, choice.x)
            if i not in attacked:
                continue
            cols = st.columns(widths)
            with cols[0]:
                attacked_header(row, attacked[i], data.class_names, choice.true_class)
            for col, method in zip(cols[1:], methods, strict=True):
                with col:
                    _cell(runner, attacked[i].row, i, method, the_plan.attacked[(i, method)],
                          attacked[i].adversarial.x, data.feature_names, "attacked_",
                          the_plan.cells[(i, method)])


TABLE_COLUMNS = 3  # bar charts need room for feature names


def _table_grid(runner: ExplainJobs, rows: list[Row], methods: list[str],
                choice: InputChoice, data, the_plan: Plan,
                attacked: dict[int, Attacked]) -> None:
    """Tables: each run above its bar charts, at most three to a line (then its attacked
    input's, when the example is attacked)."""
    with st.container(key="explain_grid"):
        for i, row in enumerate(rows):
            row_cells = {m: the_plan.cells[(i, m)] for m in methods}
            if i:
                st.divider()
            _row_header(row, data.class_names, choice)
            _verdict(runner, row, row_cells, data, choice.x)
            _table_cells(runner, row, i, methods, the_plan.cells, data)
            _details(runner, row, row_cells, data, choice.x)
            if i in attacked:
                attacked_header(row, attacked[i], data.class_names, choice.true_class)
                _table_cells(runner, attacked[i].row, i, methods, the_plan.attacked, data,
                             "attacked_", the_plan.cells)


def _table_cells(runner: ExplainJobs, row: Row, i: int, methods: list[str],
                 cells: dict[tuple[int, str], Request | None], data, tag: str = "",
                 originals: dict[tuple[int, str], Request | None] | None = None) -> None:
    for start in range(0, len(methods), TABLE_COLUMNS):
        chunk = methods[start:start + TABLE_COLUMNS]
        for col, method in zip(st.columns(TABLE_COLUMNS), chunk, strict=False):
            with col:
                m = M.method(method)
                st.markdown(f"**{m.title}**", help=m.blurb)
                _cell(runner, row, i, method, cells[(i, method)], None, data.feature_names,
                      tag, (originals or {}).get((i, method)))
