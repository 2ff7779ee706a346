"""Pareto fronts: which runs no other run beats on both of two numbers.

A run is dominated when another run is at least as good on both axes and strictly better
on one. Two runs with identical numbers do not dominate each other, so both stay on the
front. Pure functions over plain numbers; no Streamlit, no torch. The axes are whatever the
metric registry marks as a Pareto score or cost: a producer that declares one adds a view.
"""
from __future__ import annotations

import math
import re
from typing import Any, Iterator, Mapping, Sequence

from playground.common.metric_registry import (
    METRICS,
    Metric,
    all_metrics,
    pareto_costs,
    pareto_scores,
)
from playground.results.shipped import RunPoint
from playground.training.techniques import TECHNIQUES


class _Axes(Mapping[str, Metric]):
    """The registry's Pareto axes of one role, {key: Metric}, read live: a metric declared
    after import still shows up."""

    def __init__(self, query):
        self._query = query

    def _items(self) -> dict[str, Metric]:
        return {m.key: m for m in self._query()}

    def __getitem__(self, key: str) -> Metric:
        return self._items()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())


COSTS: Mapping[str, Metric] = _Axes(pareto_costs)  # what a run pays: lower is better
SCORES: Mapping[str, Metric] = _Axes(pareto_scores)  # what it is good at: higher is better


def _usable(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def pareto_mask(xs: Sequence[float], ys: Sequence[float], x_better: str = "lower",
                y_better: str = "higher") -> list[bool]:
    """True for each point no other point dominates; points with a missing or infinite
    coordinate are never on the front. O(n log n): sort by x, keep the best y seen."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    sx = 1.0 if x_better == "lower" else -1.0
    sy = -1.0 if y_better == "higher" else 1.0
    # Work in "lower is better" on both axes.
    pts = [(sx * x, sy * y, i) for i, (x, y) in enumerate(zip(xs, ys, strict=True))
           if _usable(x) and _usable(y)]
    pts.sort()
    mask = [False] * len(xs)
    best_before = math.inf  # best (lowest) y among points with strictly smaller x
    k = 0
    while k < len(pts):
        j = k
        while j < len(pts) and pts[j][0] == pts[k][0]:
            j += 1
        group_best = pts[k][1]  # sorted, so the group's first has the lowest y
        for _x, y, i in pts[k:j]:
            # Not beaten by a cheaper point (needs strictly better y than all of them)
            # nor by an equally cheap one with better y.
            mask[i] = y < best_before and y == group_best
        best_before = min(best_before, group_best)
        k = j
    return mask


def _better(key: str, default: str) -> str:
    return METRICS.get(key).better if key in METRICS else default


def front_rows(points: Sequence[RunPoint], cost: str, score: str = "accuracy"
               ) -> list[dict[str, Any]]:
    """One row per run with the two numbers and whether it is on the front."""
    xs = [p.get(cost) for p in points]
    ys = [p.get(score) for p in points]
    mask = pareto_mask(xs, ys, x_better=_better(cost, "lower"),
                       y_better=_better(score, "higher"))
    return [{"run_id": p.run_id, "label": p.label, "cost": x, "score": y, "on_front": on,
             "plotted": _usable(x) and _usable(y)}
            for p, x, y, on in zip(points, xs, ys, mask, strict=True)]


TIMING_NOISE = 0.10  # timings of the same model differ by this much from one measure to the next
_TIMED = ("ms", "s")


def flat_words(points: Sequence[RunPoint], metric: Metric) -> str | None:
    """Words instead of a chart when a metric does not really differ between the runs: every
    run the same (the size of identical models), or timings within measurement noise. None:
    the values differ, draw them."""
    values = [v for p in points if _usable(v := p.get(metric))]
    if len(values) < 2:
        return None
    low, high = min(values), max(values)
    if high - low <= 1e-12 * max(abs(high), 1.0):
        return f"Every run here has the same {metric.label.lower()}: {metric.format(high)}."
    if metric.unit in _TIMED and low > 0 and (high - low) / high <= TIMING_NOISE:
        return (f"The runs' {metric.label.lower()} ({metric.format(low)} to "
                f"{metric.format(high)}) differ by less than measurement noise: call it the "
                "same.")
    return None


# -- what a point says when hovered: words, never run ids or code names ---------------------


def in_words(config) -> str:
    """What was switched on, in the words a person reads: 'privacy noise + dropout',
    'nothing switched on'."""
    if not config.techniques:
        return "nothing switched on"
    return " + ".join(TECHNIQUES.get(name).words() if name in TECHNIQUES
                      else name.replace("_", " ") for name in config.techniques)


def _field(label: str) -> str:
    """A label a chart can use as a field name: Vega-Lite reads ':' as a type, '.' and
    brackets as a path into nested data."""
    return re.sub(r"\s*:\s*", " – ", label).replace(".", "").replace("[", "(").replace("]", ")")


def card(point: RunPoint) -> dict[str, str]:
    """Every trade-off number the run has, under the metric's plain label."""
    return {_field(m.label): m.format(point.get(m)) for m in all_metrics()
            if m.pareto and point.get(m) is not None}


def hover_rows(rows: Sequence[dict[str, Any]], points: Sequence[RunPoint], runs: Sequence,
               names: Mapping[str, str]) -> list[dict[str, Any]]:
    """front_rows with what a hover shows: the run's unique name in words (`names`, e.g.
    answers.unique_labels), what was switched on in words, and its numbers by plain label."""
    by_id = {r.id: r for r in runs}
    return [{**row, **card(point), "run": names[point.run_id],
             "label": in_words(by_id[point.run_id].config)}
            for row, point in zip(rows, points, strict=True)]
