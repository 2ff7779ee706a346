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

from playground.common.registry import Registry

HIGHER, LOWER = "higher", "lower"


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
    axis. `leaderboard`: a workshop may rank runs by it. `help`: one plain sentence.
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
    producer: str = field(default="", compare=False)

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

    def is_better(self, a: float, b: float) -> bool:
        """a strictly better than b."""
        return a > b if self.better == HIGHER else a < b


METRICS: Registry[Metric] = Registry("metric")


def declare(producer: str, *metrics: Metric) -> tuple[Metric, ...]:
    """Register `metrics` as produced by `producer`; returns them (with the producer set)."""
    out = []
    for m in metrics:
        if m.better not in (HIGHER, LOWER):
            raise ValueError(f"metric {m.key!r}: better must be 'higher' or 'lower'")
        if m.pareto not in (None, "score", "cost"):
            raise ValueError(f"metric {m.key!r}: pareto must be 'score', 'cost' or None")
        m = Metric(**{**m.__dict__, "producer": producer})
        METRICS.register(m.key)(m)
        out.append(m)
    return tuple(out)


def all_metrics() -> Iterator[Metric]:
    return (METRICS.get(k) for k in METRICS.names())


def metric(key: str) -> Metric:
    return METRICS.get(key)


def pareto_scores() -> list[Metric]:
    return [m for m in all_metrics() if m.pareto == "score"]


def pareto_costs() -> list[Metric]:
    return [m for m in all_metrics() if m.pareto == "cost"]


def leaderboard_metrics() -> list[Metric]:
    return [m for m in all_metrics() if m.leaderboard]


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
