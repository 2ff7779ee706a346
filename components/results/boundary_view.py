"""The decision boundary of runs on 2-D points: live while a run trains (the frame of the
newest epoch), an epoch slider on a finished run, and runs side by side on Compare.

Each chart is named by (run, frame), so it is built once for the whole server however many
sessions watch, and a poll that finds no new epoch sends the same chart again.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

import streamlit as st

from components.base.chart_cache import cached_chart, with_data
from playground.common import escape
from playground.results import boundary_charts as BC
from playground.runs.store import Run, Store
from playground.training import boundary as B

SIZE = 300  # pixels per side of the plane
# What Streamlit fits the whole chart into: the plane, its axes and the legend below.
WIDTH, HEIGHT = SIZE + 70, SIZE + 170


def frame_label(name: int | str) -> str:
    if name == B.FINAL:
        return "the finished model (early stopping went back to its best epoch)"
    return "before training" if name == 0 else f"after epoch {name}"


def _spec(run_dir: Path, name: int | str, plane=None, classes=None, title: str = ""):
    meta = B.read_grid(run_dir)
    table = BC.frame_table(meta, B.read_frame(run_dir, name))
    plane = plane or BC.extent([meta])
    classes = tuple(classes or meta["class_names"])
    features = tuple(meta.get("features") or ("x", "y"))
    build = partial(BC.boundary_chart, class_names=classes, plane=plane, title=title,
                    features=features, size=SIZE)
    return with_data(("boundary", classes, plane, features, title), build, table)


def _draw(run: Run, run_dir: Path, name: int | str, key: str) -> None:
    cached_chart(("boundary", run.id, name), partial(_spec, run_dir, name), key=key,
                 width=WIDTH, height=HEIGHT,
                 alt=f"Decision boundary of run {run.id} {frame_label(name)}")


def live_boundary(run: Run, store: Store, epochs, prefix: str) -> None:
    """A training run's boundary after its newest epoch (nothing for runs not on 2-D points;
    the check is one file lookup)."""
    run_dir = store.artifact_dir(run.id)
    name = epochs[-1]["epoch"] if epochs else 0
    if not B.has_frame(run_dir, name):
        return
    _draw(run, run_dir, name, f"{prefix}_boundary_{run.id}")
    st.caption(f"**Where the model draws its line, {frame_label(name)}.** {BC.CAPTION}")


def boundary_replay(run: Run, store: Store) -> None:
    """A finished run's boundary, epoch by epoch on a slider (the last one first)."""
    run_dir = store.artifact_dir(run.id)
    names = B.frames(run_dir)
    if not names:
        return

    @st.fragment  # moving the slider redraws this chart, not the page of cards
    def replay() -> None:
        name = names[-1]
        if len(names) > 1:
            name = st.select_slider(
                "Where the model draws its line: slide back to watch it learn", options=names,
                value=name, format_func=frame_label, key=f"runs_boundary_epoch_{run.id}",
                help="Each position is the model after that epoch.")
        _draw(run, run_dir, name, f"runs_boundary_{run.id}")
        st.caption(BC.CAPTION)

    replay()


def boundary_comparison(runs: list[Run], store: Store) -> None:
    """The finished models' boundaries side by side on the same scales (runs on 2-D points
    only; nothing when none is)."""
    shown = [(r, d, names[-1]) for r in runs
             if (names := B.frames(d := store.artifact_dir(r.id)))]
    if not shown:
        return
    st.subheader("Where each model draws its line")
    st.caption(BC.CAPTION + " Every chart has the same axes and colours; each shows the "
               "finished model.")
    ids = tuple(r.id for r, _, _ in shown)

    def build(run_dir: Path, name: int | str, title: str):
        metas = [B.read_grid(d) for _, d, _ in shown]
        classes = list(dict.fromkeys(c for m in metas for c in m["class_names"]))
        return _spec(run_dir, name, BC.extent(metas), classes, title)

    for col, (run, run_dir, name) in zip(st.columns(len(shown)), shown, strict=True):
        with col:
            cached_chart(("boundary_compare", ids, run.id, name),
                         partial(build, run_dir, name, run.id), key=f"compare_boundary_{run.id}",
                         width=WIDTH, height=HEIGHT,
                         alt=f"Decision boundary of run {run.id} {frame_label(name)}")
            st.caption(escape.md(run.config.label()))
