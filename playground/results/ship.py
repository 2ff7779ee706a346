"""Which run to ship: the person states limits, the most accurate run within them is named,
and every other run is told why it is out.

Limits are bounds on declared metrics (the registry's better direction says whether a bound
is "at most" or "at least"); values are the run as shipped (`shipped.deployed`: a quantized
run by its quantized copy). A run that lacks a limited number (no ε: no privacy guarantee;
no fairness audit: no sensitive column) cannot show it meets the limit, so it is out.
`parse` reads the CLI's "fairness gap<=5,epsilon<=3,size<=100KB"; a bad condition is a
ValueError naming the problem and the fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from playground.common.formatting import percent
from playground.common.metric_registry import LOWER, Metric, all_metrics
from playground.results.shipped import deployed
from playground.training.audits.fairness import DP_DIFFERENCE, EO_DIFFERENCE
from playground.training.metrics import ACCURACY, LATENCY, SIZE
from playground.training.techniques.dp import EPSILON

# Gaps between groups' rates are told in percentage points: "at most 5 points".
_IN_POINTS = (DP_DIFFERENCE, EO_DIFFERENCE)
FAIR_GAP = 0.05  # a fairness limit starts at 5 points, the gap a person usually asks for first
# Plain names a person types for the usual limits, beside each metric's key, label and short name.
_ALIASES = {"fairness gap": DP_DIFFERENCE, "gap": DP_DIFFERENCE,
            "approval gap": DP_DIFFERENCE, "error gap": EO_DIFFERENCE,
            "privacy": EPSILON, "privacy epsilon": EPSILON, "ε": EPSILON, "eps": EPSILON,
            "size": SIZE, "model size": SIZE, "latency": LATENCY, "speed": LATENCY}
_SIZE_UNITS = {"b": 1, "bytes": 1, "kb": 1024, "mb": 1024 ** 2, "gb": 1024 ** 3}


def in_points(metric: Metric) -> bool:
    """A limit on this metric is stated in percentage points (5 means 0.05)."""
    return metric.is_share or any(metric.key == m.key for m in _IN_POINTS)


def _name(metric: Metric) -> str:
    """The metric in a person's words: 'fairness gap', 'privacy ε', 'size', 'latency'."""
    if metric.key == DP_DIFFERENCE.key:
        return "fairness gap"
    if metric.key == EPSILON.key:
        return "privacy ε"
    return metric.short or metric.label


def said(metric: Metric, value: float, digits: int = 1) -> str:
    """A value in the person's units: '12 points', '3.4', '120.5 KB', '0.05 ms', '86.3%'
    (`digits`: decimals of points and percentages)."""
    if any(metric.key == m.key for m in _IN_POINTS):
        return f"{value * 100:.{digits}f} points"
    if metric.is_share:
        return f"{value:.{digits}%}"
    return metric.format(value)


def said_apart(metric: Metric, value: float, bound: float) -> tuple[str, str]:
    """A value and a bound it misses, each in words, with enough decimals that the two read
    differently: a gap of 20.04 points against 20 reads '20.04 points' and '20.00 points'."""
    for digits in range(1, 5):
        shown = said(metric, value, digits), said(metric, bound, digits)
        if shown[0] != shown[1]:
            return shown
    return shown


def default_bound(metric: Metric, values: Sequence[float]) -> float:
    """Where a limit starts when a person picks it: the metric's own usual limit (privacy ε
    3), a fairness gap of 5 points (a common yardstick), else the loosest value among the
    runs, so the limit starts by letting every run in."""
    if metric.limit is not None:
        return metric.limit
    if any(metric.key == m.key for m in _IN_POINTS):
        return FAIR_GAP
    return max(values) if metric.better == LOWER else min(values)


def limit_words(metric: Metric) -> str:
    """'fairness gap at most', 'privacy ε at most', 'right under PGD at least'."""
    return f"{_name(metric)} {'at most' if metric.better == LOWER else 'at least'}"


@dataclass(frozen=True)
class Limit:
    """A bound on one metric: at most `bound` when lower is better, at least when higher."""

    metric: Metric
    bound: float

    def meets(self, value: float | None) -> bool:
        return value is not None and self.metric.within(value, self.bound)

    def words(self) -> str:
        """'fairness gap at most 5.0 points'."""
        return f"{limit_words(self.metric)} {said(self.metric, self.bound)}"

    def why_out(self, value: float | None) -> str:
        """Why a run with `value` misses this limit, in words: 'its fairness gap is 12.0
        points, above your 5.0 points'."""
        if value is None:
            if self.metric.key == EPSILON.key:
                return "it has no privacy guarantee (no ε), and you asked for ε " + \
                    f"at most {said(self.metric, self.bound)}"
            if any(self.metric.key == m.key for m in _IN_POINTS):
                return "its fairness was not measured (its data has no sensitive column)"
            return f"it has no {_name(self.metric)} to check against your limit"
        side = "above" if self.metric.better == LOWER else "below"
        value_said, bound_said = said_apart(self.metric, value, self.bound)
        return f"its {_name(self.metric)} is {value_said}, {side} your {bound_said}"

    def to_json(self) -> dict[str, Any]:
        return {"metric": self.metric.key, "label": self.metric.label,
                "better": self.metric.better, "bound": self.bound, "words": self.words()}


@dataclass(frozen=True)
class Pick:
    """The run to ship (None: no run meets every limit), and why each other run is out (run
    id to its reasons; a run within the limits but less accurate says so)."""

    chosen: Any | None
    limits: tuple[Limit, ...]
    out: dict[str, list[str]] = field(default_factory=dict)
    accuracy: dict[str, float | None] = field(default_factory=dict)

    def summary(self, names: dict[str, str] | None = None) -> str:
        names = names or {}
        if self.chosen is None:
            return ("No run meets every limit" + (f" ({self._limits()})" if self.limits else "")
                    + ": loosen one, or train a run that meets them.")
        run = self.chosen
        within = f"within your limits ({self._limits()})" if self.limits else "of these runs"
        return (f"Ship {names.get(run.id, 'run ' + run.id)}: the most accurate {within}, at "
                f"{percent(self.accuracy.get(run.id))}.")

    def reasons(self, names: dict[str, str] | None = None) -> list[str]:
        """'B: its fairness gap is 12 points, above your 5' for each run not picked."""
        names = names or {}
        return [f"{names.get(rid, 'run ' + rid)}: {'; '.join(why)}"
                for rid, why in self.out.items()]

    def _limits(self) -> str:
        return ", ".join(lim.words() for lim in self.limits)

    def to_json(self, names: dict[str, str] | None = None) -> dict[str, Any]:
        return {"ship": None if self.chosen is None else self.chosen.id,
                "summary": self.summary(names),
                "limits": [lim.to_json() for lim in self.limits],
                "out": [{"run_id": rid, "why": why} for rid, why in self.out.items()],
                "reasons": self.reasons(names)}


def pick(runs: Sequence, limits: Sequence[Limit] = ()) -> Pick:
    """The most accurate finished run (as shipped) within every limit; ties go to the run
    listed first. Every other run gets its reasons: the limits it misses, or that it is
    less accurate than the pick."""
    limits = tuple(limits)
    values = {r.id: deployed(r) for r in runs}
    accuracy = {r.id: values[r.id].get(ACCURACY.key) for r in runs}
    out: dict[str, list[str]] = {}
    chosen = None
    for run in runs:
        if run.status != "finished" or accuracy[run.id] is None:
            out[run.id] = ["it has not finished, so it has no results"]
            continue
        misses = [lim.why_out(values[run.id].get(lim.metric.key)) for lim in limits
                  if not lim.meets(values[run.id].get(lim.metric.key))]
        if misses:
            out[run.id] = misses
        elif chosen is None or accuracy[run.id] > accuracy[chosen.id]:
            chosen = run
    for run in runs:
        if run.id not in out and run is not chosen:
            out[run.id] = [f"within your limits but less accurate ({percent(accuracy[run.id])} "
                           f"against {percent(accuracy[chosen.id])})"]
    ordered = {r.id: out[r.id] for r in runs if r.id in out}
    return Pick(chosen, limits, ordered, accuracy)


# -- limits as a person types them ----------------------------------------------------

_CONDITION = re.compile(r"^\s*(?P<name>.+?)\s*(?P<op><=|>=|=<|=>|<|>|≤|≥)\s*(?P<value>.+?)\s*$")


def limit_metrics() -> list[Metric]:
    """Metrics a limit may bound: every declared number but accuracy (what the pick
    maximises)."""
    return [m for m in all_metrics() if m.key != ACCURACY.key]


def _find(name: str) -> Metric | None:
    wanted = " ".join(name.lower().replace("_", " ").split())
    if wanted in _ALIASES:
        return _ALIASES[wanted]
    for m in limit_metrics():
        if wanted in {m.key.replace("_", " ").lower(), m.label.lower(), m.short.lower()}:
            return m
    return None


def _number(metric: Metric, text: str) -> float:
    raw = text.strip().lower().replace(",", "")
    match = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*([a-z%]*)", raw)
    if not match:
        raise ValueError(f"{text!r} is not a number")
    value, unit = float(match.group(1)), match.group(2)
    if metric.key == SIZE.key:
        if unit and unit not in _SIZE_UNITS:
            raise ValueError(f"size unit {unit!r}: use bytes, KB or MB, e.g. size<=100KB")
        return value * _SIZE_UNITS.get(unit or "b", 1)
    if metric.key == LATENCY.key:
        if unit not in ("", "ms"):
            raise ValueError(f"latency unit {unit!r}: give milliseconds, e.g. latency<=5ms")
        return value
    if in_points(metric):
        if unit not in ("", "%", "points", "pts", "pt"):
            raise ValueError(f"unit {unit!r}: give percentage points, e.g. {_name(metric)}<=5")
        return value / 100
    if unit:
        raise ValueError(f"unit {unit!r}: {_name(metric)} takes a plain number")
    return value


def parse(text: str) -> list[Limit]:
    """'fairness gap<=5,epsilon<=3,size<=100KB' as limits; ValueError names what is wrong
    with which condition and how to write it."""
    limits = []
    for part in (p for p in text.split(",") if p.strip()):
        m = _CONDITION.match(part)
        if not m:
            raise ValueError(f"condition {part.strip()!r}: write NAME<=NUMBER or NAME>=NUMBER, "
                             "e.g. \"fairness gap<=5,epsilon<=3,size<=100KB\"")
        metric = _find(m.group("name"))
        if metric is None:
            known = ", ".join(["fairness gap", EPSILON.key, "size", "latency"]
                              + sorted({x.key for x in limit_metrics()}
                                       - {EPSILON.key, SIZE.key, LATENCY.key}))
            raise ValueError(f"condition {part.strip()!r}: no number is called "
                             f"{m.group('name')!r}; use one of {known}")
        op = m.group("op")
        at_most = op in ("<=", "=<", "<", "≤")
        if at_most != (metric.better == LOWER):
            want = "<=" if metric.better == LOWER else ">="
            raise ValueError(f"condition {part.strip()!r}: {metric.better} {_name(metric)} is "
                             f"better, so a limit on it is {want} (e.g. {m.group('name')}"
                             f"{want}{m.group('value')})")
        try:
            bound = _number(metric, m.group("value"))
        except ValueError as e:
            raise ValueError(f"condition {part.strip()!r}: {e}") from None
        limits.append(Limit(metric, bound))
    return limits

