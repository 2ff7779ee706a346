"""The model one would ship: its accuracy, size and speed as deployed. A quantized run
ships its quantized copy (unless quantizing was skipped); a pruned run's zeros would
compress away. Leaderboards, stories, Pareto views and exports all ask here.

Importing this module declares every metric (the evaluation's, the audits', the techniques'),
so whoever lists the registry from the results layer up sees them all."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from playground.common.metric_registry import Metric, all_metrics
from playground.training import audits  # noqa: F401  (declares the audits' metrics)
from playground.training.metrics import ACCURACY, F1_MACRO, LATENCY, SIZE, TRAIN_SECONDS
from playground.training.techniques import TECHNIQUES
from playground.training.techniques.pruning import SPARSITY
from playground.training.techniques.quantization import (
    QUANTIZED_ACCURACY,
    QUANTIZED_LATENCY,
    QUANTIZED_SIZE,
)


@dataclass(frozen=True)
class Shipped:
    accuracy: float | None
    size_bytes: float | None  # the weights file as saved
    latency_ms: float | None
    quantized: bool  # the numbers are the quantized copy's
    compressed_bytes: float | None = None  # pruned: what only the non-zero weights need

    @property
    def smallest_bytes(self) -> float | None:
        """The size it could ship at: compressed if pruned, else as saved."""
        return self.compressed_bytes if self.compressed_bytes is not None else self.size_bytes


def shipped(run) -> Shipped:
    m = run.metrics or {}
    accuracy = QUANTIZED_ACCURACY.value(m)  # None when not quantized or quantizing was skipped
    if accuracy is not None:
        return Shipped(accuracy, QUANTIZED_SIZE.value(m), QUANTIZED_LATENCY.value(m), True)
    size, zeros = SIZE.value(m), SPARSITY.number(m)
    compressed = None if zeros is None or size is None else float(size) * (1 - zeros)
    return Shipped(ACCURACY.value(m), size, LATENCY.value(m), False, compressed)


def deployed(run) -> dict[str, Any]:
    """Every declared metric the run has, {key: value}, with accuracy, size and latency as
    shipped."""
    values = {m.key: m.number(run.metrics) for m in all_metrics()}
    s = shipped(run)
    values.update({ACCURACY.key: s.accuracy, SIZE.key: s.size_bytes, LATENCY.key: s.latency_ms})
    return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class RunPoint:
    """One run's numbers as deployed: a quantized run counts its quantized size, speed and
    accuracy, because that is the model one would ship. `get(key)` reads any declared metric
    (None when the run has none)."""

    run_id: str
    label: str
    values: Mapping[str, float] = field(default_factory=dict)
    quantized: bool = False

    def get(self, key: str | Metric) -> float | None:
        return self.values.get(key.key if isinstance(key, Metric) else key)

    @property
    def accuracy(self) -> float | None:
        return self.get(ACCURACY)

    @property
    def f1_macro(self) -> float | None:
        return self.get(F1_MACRO)

    @property
    def size_bytes(self) -> float | None:
        return self.get(SIZE)

    @property
    def latency_ms(self) -> float | None:
        return self.get(LATENCY)

    @property
    def train_seconds(self) -> float | None:
        return self.get(TRAIN_SECONDS)


def switched_on(config) -> str:
    """What was switched on, in a few words: the point's label on a chart."""
    if not config.techniques:
        return "plain"
    return " + ".join(TECHNIQUES.get(name).label(values) if name in TECHNIQUES
                      else name.replace("_", " ") for name, values in config.techniques.items())


def run_point(run) -> RunPoint:
    return RunPoint(run_id=run.id, label=switched_on(run.config), values=deployed(run),
                    quantized=shipped(run).quantized)
