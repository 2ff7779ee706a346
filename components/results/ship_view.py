"""Compare's business answers: whether each difference is bigger than luck, the groups of a
sensitive column, and "Which run to ship?" (the person states limits, the most accurate run
within them is named and every other run told why it is out)."""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from components.base.keys import compare as compare_keys
from playground.common.escape import md
from playground.common.formatting import percent
from playground.common.metric_registry import LOWER, Metric
from playground.results import ship
from playground.results.answers import group_rows
from playground.results.luck import compare_all
from playground.results.shipped import deployed
from playground.runs.store import Run, Store
from playground.training.metrics import SIZE

_KB = 1024


def luck_section(store: Store, runs: list[Run], names: dict[str, str]) -> None:
    """Each pair's accuracy difference, measured on the runs' own test answers."""
    lucks = compare_all(store, runs)
    if not lucks:
        return
    st.subheader("Bigger than luck?")
    for luck in lucks:
        line = luck.verdict(names.get(luck.a), names.get(luck.b))
        head, _, rest = line.partition(": ")
        if luck.comparable:
            st.markdown(f"**{md(head)}**: {md(rest)}")
        else:
            st.markdown(md(line))
    st.caption("Measured on the same test examples, pair by pair (McNemar's exact test and a "
               "bootstrap interval of the difference). Within luck: chance alone gives a "
               "difference this size, so call them equally accurate.")


def groups_section(runs: list[Run], names: dict[str, str]) -> None:
    """Per-group approval rates and accuracy, for runs whose data has a sensitive column."""
    rows = group_rows(runs, names)
    if not rows:
        return
    st.subheader("Group by group")
    st.caption("How often the model said yes (approval rate) and was right in each group of "
               "the sensitive column; equal approval rates across groups is one kind of "
               "fairness.")
    frame = pd.DataFrame([{k: (percent(v) if isinstance(v, float) else v)
                           for k, v in row.items() if k != "run_id"} for row in rows])
    st.dataframe(frame, hide_index=True, width="stretch")


def _shown(metric: Metric, value: float) -> float:
    """A bound in the units the person types: points, KB, or the metric's own. Rounded
    outward (up for an 'at most'), so a bound taken from a run still lets that run in."""
    def tenth(x: float) -> float:
        return (math.ceil if metric.better == LOWER else math.floor)(round(x * 10, 6)) / 10

    if ship.in_points(metric):
        return tenth(value * 100)
    if metric.key == SIZE.key:
        return tenth(value / _KB)
    return float(f"{value:.3g}")


def _stored(metric: Metric, typed: float) -> float:
    if ship.in_points(metric):
        return typed / 100
    if metric.key == SIZE.key:
        return typed * _KB
    return typed


def _unit(metric: Metric) -> str:
    if ship.in_points(metric):
        return "points"
    if metric.key == SIZE.key:
        return "KB"
    return metric.unit


def _first_up(text: str) -> str:
    return text[:1].upper() + text[1:]


def limit_choices(runs: list[Run]) -> list[Metric]:
    """Costs the compared runs report (what a limit can bound here)."""
    values = [deployed(r) for r in runs]
    return [m for m in ship.limit_metrics()
            if (m.pareto == "cost" or m.limit is not None)
            and any(v.get(m.key) is not None for v in values)]


def ship_section(runs: list[Run], names: dict[str, str]) -> list[ship.Limit]:
    """'Which run to ship?': limits as plain widgets, then the pick and why the others are
    out. Returns the limits (the exports carry the same pick)."""
    st.subheader("Which run to ship?")
    choices = limit_choices(runs)
    words = {m.key: ship.limit_words(m) for m in choices}
    chosen = st.multiselect(
        "Limits it must stay within", [m.key for m in choices], key=compare_keys.LIMITS,
        format_func=lambda k: _first_up(words[k]),
        placeholder="Pick what matters: a fairness gap, privacy, size, speed…")
    limits = []
    if chosen:
        by_key = {m.key: m for m in choices}
        for col, key in zip(st.columns(min(len(chosen), 4)) * 4, chosen, strict=False):
            metric = by_key[key]
            values = [v for r in runs if (v := deployed(r).get(key)) is not None]
            start = ship.default_bound(metric, values)
            unit = _unit(metric)
            typed = col.number_input(
                f"{_first_up(words[key])}{f' ({unit})' if unit else ''}",
                value=_shown(metric, start), min_value=0.0, key=compare_keys.LIMIT + key)
            limits.append(ship.Limit(metric, _stored(metric, typed)))
    picked = ship.pick(runs, limits)
    (st.success if picked.chosen is not None else st.warning)(md(picked.summary(names)))
    for line in picked.reasons(names):
        st.markdown(f"- {md(line)}")
    return limits
