"""The model one would ship, as a point on the trade-off charts."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunPoint:
    """One run's numbers as deployed: a quantized run counts its quantized size, speed and
    accuracy, because that is the model one would ship."""

    run_id: str
    label: str
    accuracy: float | None
    f1_macro: float | None
    size_bytes: float | None
    latency_ms: float | None
    epsilon: float | None
    train_seconds: float | None
    quantized: bool = False

    def get(self, key: str) -> float | None:
        return getattr(self, key)


def switched_on(config) -> str:
    """What was switched on, in a few words: the point's label on a chart."""
    if not config.techniques:
        return "plain"
    parts = []
    for name, values in config.techniques.items():
        first = next(iter(values.values()), None)
        word = name.replace("_", " ")
        if name == "distillation":
            parts.append("distilled")
        elif isinstance(first, (int, float)) and not isinstance(first, bool):
            parts.append(f"{word} {first:g}")
        elif first:
            parts.append(f"{word} {first}")
        else:
            parts.append(word)
    return " + ".join(parts)


def run_point(run) -> RunPoint:
    m = run.metrics or {}
    q = m.get("quantized") or {}
    shipped = bool(q) and "skipped" not in q
    return RunPoint(
        run_id=run.id,
        label=switched_on(run.config),
        accuracy=q.get("accuracy") if shipped else m.get("accuracy"),
        f1_macro=m.get("f1_macro"),
        size_bytes=q.get("size_bytes") if shipped else m.get("size_bytes"),
        latency_ms=q.get("latency_ms") if shipped else m.get("latency_ms"),
        epsilon=m.get("epsilon"),
        train_seconds=m.get("train_seconds"),
        quantized=shipped,
    )
