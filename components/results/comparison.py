"""Picking runs to compare and the side-by-side table of their numbers and settings."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from components.base.keys import compare as compare_keys
from playground.common.metric_registry import table_metrics
from playground.common.permissions import LOCAL, Actor, may
from playground.results.answers import unique_labels
from playground.results.run_diff import Setting, differing_settings, settings
from playground.runs.store import Run, Store

MAX_RUNS = 4


def own_first(runs: list[Run], actor: Actor = LOCAL) -> tuple[list[Run], list[Run]]:
    """(the acting person's own runs, everyone else's): in a workshop a participant's own
    are theirs; outside workshops the local user's are those outside any workshop."""
    mine = [r for r in runs if may(actor, "delete", r) is None]
    return mine, [r for r in runs if may(actor, "delete", r) is not None]


def pick_runs(store: Store, actor: Actor = LOCAL) -> tuple[list[Run], dict[str, str]]:
    """The runs picked (the person's own two newest by default) and every run's label:
    the owner's name and the run in words, never two alike."""
    # Runs that answer classes (a pretraining run only guesses hidden words: it has no
    # classes to compare; its card and the runs fine-tuned from it show what it did).
    finished = [r for r in store.list_runs(statuses=("finished",))
                if "confusion_matrix" in (r.metrics or {})]
    if not finished:
        st.info("No finished runs yet. Train one on the Train page; it appears here when done.")
        st.page_link("pages/train.py", label="Go to Train", icon="🏋️")
        return [], {}
    mine, others = own_first(finished, actor)
    ordered = mine + others
    by_id = {r.id: r for r in ordered}
    names = unique_labels(ordered)
    chosen = st.multiselect(
        "Runs to compare (up to 4)", list(by_id), default=[r.id for r in mine[:2]],
        max_selections=MAX_RUNS, key=compare_keys.RUNS, format_func=lambda i: names[i],
        help="Your own runs come first; others' runs show their owner's name.")
    if not mine and not chosen:
        st.caption("You have no finished runs yet; pick anyone's to compare.")
    if len(chosen) == 1:
        st.caption("Pick a second run to see them side by side.")
    return [by_id[i] for i in chosen], names


def _metric_rows(run: Run, metrics) -> dict[str, str]:
    """One row per declared metric that one of the compared runs has (a dash where this
    run has none), then the device."""
    m = run.metrics
    return {**{metric.label: metric.format(metric.value(m)) for metric in metrics},
            "Device": run.device or m.get("device", "")}


def _row(key: Setting) -> str:
    tech, name = key
    return f"setting: {name}" if tech is None else f"setting: {tech} · {name}"


def comparison_table(runs: list[Run], names: dict[str, str] | None = None):
    """Metrics then settings, one column per run (headed by its label in `names`);
    differing settings highlighted."""
    names = names or {}
    configs = [r.config for r in runs]
    techniques = sorted({t for c in configs for t in c.techniques})
    # A metric no compared run has (fairness gaps without a sensitive column, ε without
    # privacy noise) would be a row of dashes.
    metrics = [m for m in table_metrics() if any(m.value(r.metrics) is not None for r in runs)]
    columns = {}
    for run in runs:
        shown = {_row(k): "off" if k[0] and v is None else str(v)
                 for k, v in settings(run.config, techniques).items()}
        columns[names.get(run.id, run.id)] = {**_metric_rows(run, metrics), **shown}
    frame = pd.DataFrame(columns)
    differs = {_row(k) for k in differing_settings(configs)}

    def highlight(row: pd.Series):
        on = row.name in differs
        return ["background-color: #fff3b0; font-weight: 600" if on else "" for _ in row]

    return frame.style.apply(highlight, axis=1)
