"""Every number a run reports, declared once by whatever produces it.

A producer (a technique, an audit, the evaluation of the test set) declares its metrics
here with `declare`; run cards, Compare's table, Pareto axes, leaderboards, sweeps,
narratives and exports loop over `METRICS` instead of naming keys. A consumer that needs one
particular metric imports its handle from the producer (`dp.EPSILON`), never its key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from playground.common.formatting import percent
from playground.common.registry import Registry

HIGHER, LOWER = "higher", "lower"
# Who produces a metric: the evaluation of the test set, an audit after training, or a
# technique (the plug-ins). Tables list them in this order.
EVALUATION, AUDIT, TECHNIQUE = "evaluation", "audit", "technique"
SECTIONS = (EVALUATION, AUDIT, TECHNIQUE)


def _plain_read(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda metrics: (metrics or {}).get(key)


@dataclass(frozen=True)
class Metric:
    """One number a run may report.

    `key` is where it is stored in a run's flat view (`value(metrics)`); `read` finds it in
    the stored metrics when it lives deeper (default: `metrics[key]`). `better` says which
    way is better ("higher" or "lower"); `fmt` is a format spec for the value (".1%",
    ".2f", ...) or a function; `unit` is what the number counts, for axis titles and
    exports ("" when it is a share or has no unit). `pareto`: "score" (an accuracy-like
    axis, higher is better) or "cost" (a price to trade against a score), None: not an
    axis. `leaderboard`: a workshop may hold a board for it (`limit`: the board's default
    bound, "at most" when lower is better, "at least" when higher is). `help`: one plain
    sentence. `short`: a narrow column title ("ε"). `section` and `module` are set by
    `declare`: who produced it and in which module.
    """

    key: str
    label: str
    better: str = HIGHER
    fmt: str | Callable[[Any], str] = ".3g"
    unit: str = ""
    help: str = ""
    pareto: str | None = None
    leaderboard: bool = False
    table: bool = True  # a column of Compare's table and the exports
    read: Callable[[dict[str, Any]], Any] | None = None
    short: str = ""
    limit: float | None = None
    producer: str = field(default="", compare=False)
    section: str = field(default=TECHNIQUE, compare=False)
    module: str = field(default="", compare=False)

    def value(self, metrics: dict[str, Any] | None) -> Any:
        """This metric's value in a run's stored metrics (None: the run has none)."""
        reader = self.read or _plain_read(self.key)
        try:
            return reader(metrics or {})
        except (KeyError, TypeError, AttributeError):
            return None

    def number(self, metrics: dict[str, Any] | None) -> float | None:
        """The value as a finite float, else None."""
        v = self.value(metrics)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return None
        return float(v) if math.isfinite(v) else None

    def format(self, value: Any) -> str:
        """The value in words for a table cell: '—' when missing."""
        if value is None:
            return "—"
        if callable(self.fmt):
            return self.fmt(value)
        text = format(value, self.fmt)
        return f"{text} {self.unit}" if self.unit and not self.fmt.endswith("%") else text

    @property
    def title(self) -> str:
        """Label with its unit, for an axis: 'Training time (s)'."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    @property
    def is_share(self) -> bool:
        """A share of something, shown as a percentage."""
        return self.fmt is percent or (isinstance(self.fmt, str) and self.fmt.endswith("%"))

    @property
    def column(self) -> str:
        """A narrow column title: the short name if it has one."""
        return self.short or self.label

    def is_better(self, a: float, b: float) -> bool:
        """a strictly better than b."""
        return a > b if self.better == HIGHER else a < b

    def within(self, value: float, limit: float) -> bool:
        """`value` meets a bound on this metric: at most `limit` when lower is better, at
        least when higher is."""
        return value <= limit if self.better == LOWER else value >= limit

    def bound(self, limit: float) -> str:
        """The bound in words: '≤ 3' or '≥ 0.9'."""
        return f"{'≤' if self.better == LOWER else '≥'} {limit:g}"


METRICS: Registry[Metric] = Registry("metric")


def declare(producer: str, *metrics: Metric, section: str = TECHNIQUE,
            module: str = "") -> tuple[Metric, ...]:
    """Register `metrics` as produced by `producer` (a technique's name, "evaluation", an
    audit's name) in `section`, from `module` (its dotted name; a technique's is found from
    its class); returns them with those set."""
    if section not in SECTIONS:
        raise ValueError(f"section must be one of {SECTIONS}")
    out = []
    for m in metrics:
        if m.better not in (HIGHER, LOWER):
            raise ValueError(f"metric {m.key!r}: better must be 'higher' or 'lower'")
        if m.pareto not in (None, "score", "cost"):
            raise ValueError(f"metric {m.key!r}: pareto must be 'score', 'cost' or None")
        m = Metric(**{**m.__dict__, "producer": producer, "section": section,
                      "module": module or m.module})
        METRICS.register(m.key)(m)
        out.append(m)
    return tuple(out)


def all_metrics() -> Iterator[Metric]:
    """Every declared metric: the evaluation's, then the audits', then the techniques'."""
    ms = [METRICS.get(k) for k in METRICS.names()]
    return iter(sorted(ms, key=lambda m: SECTIONS.index(m.section)))


def plugin_metrics() -> list[Metric]:
    """What audits and techniques add beside the evaluation's own numbers."""
    return [m for m in all_metrics() if m.section != EVALUATION]


def metric(key: str) -> Metric:
    return METRICS.get(key)


def pareto_scores() -> list[Metric]:
    return [m for m in all_metrics() if m.pareto == "score"]


def pareto_costs() -> list[Metric]:
    return [m for m in all_metrics() if m.pareto == "cost"]


def leaderboard_metrics() -> list[Metric]:
    return [m for m in all_metrics() if m.leaderboard]


def limited_metrics() -> list[Metric]:
    """Leaderboard metrics with a bound: each gets a board "most accurate within it"."""
    return [m for m in leaderboard_metrics() if m.limit is not None]


def table_metrics() -> list[Metric]:
    return [m for m in all_metrics() if m.table]


def flat(metrics: dict[str, Any] | None) -> dict[str, Any]:
    """A run's metrics as {key: value} for every declared metric it has (exports, tables)."""
    out = {}
    for m in all_metrics():
        v = m.value(metrics)
        if v is not None:
            out[m.key] = v
    return out
