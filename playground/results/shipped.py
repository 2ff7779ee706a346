"""The model one would ship: its accuracy, size and speed as deployed. A quantized run
ships its quantized copy (unless quantizing was skipped); a pruned run's zeros would
compress away. Leaderboards, stories, Pareto views and exports all ask here."""
from __future__ import annotations

from dataclasses import dataclass

from playground.training.techniques import TECHNIQUES


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
    q = m.get("quantized") or {}
    if q and "skipped" not in q:
        return Shipped(q.get("accuracy"), q.get("size_bytes"), q.get("latency_ms"), True)
    size = m.get("size_bytes")
    compressed = None
    if "sparsity" in m and size is not None:
        compressed = float(size) * (1 - float(m["sparsity"]))
    return Shipped(m.get("accuracy"), size, m.get("latency_ms"), False, compressed)


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
    attack_auc: float | None = None  # the membership attack's (0.5: a coin toss)
    pgd_errors: float | None = None  # share of attacked test examples the PGD attack fooled
    dp_difference: float | None = None  # fairlearn's demographic-parity difference
    rare_recall: float | None = None  # mean recall of the classes its imbalance made rare

    def get(self, key: str) -> float | None:
        return getattr(self, key)


def switched_on(config) -> str:
    """What was switched on, in a few words: the point's label on a chart."""
    if not config.techniques:
        return "plain"
    return " + ".join(TECHNIQUES.get(name).label(values) if name in TECHNIQUES
                      else name.replace("_", " ") for name, values in config.techniques.items())


def run_point(run) -> RunPoint:
    m = run.metrics or {}
    s = shipped(run)
    return RunPoint(run_id=run.id, label=switched_on(run.config), accuracy=s.accuracy,
                    f1_macro=m.get("f1_macro"), size_bytes=s.size_bytes,
                    latency_ms=s.latency_ms, epsilon=m.get("epsilon"),
                    train_seconds=m.get("train_seconds"), quantized=s.quantized,
                    attack_auc=(m.get("privacy_attack") or {}).get("auc"),
                    pgd_errors=_pgd_errors(m), rare_recall=m.get("rare_recall"),
                    dp_difference=(m.get("fairness") or {}).get("demographic_parity_difference"))


def _pgd_errors(m: dict) -> float | None:
    accuracy = ((m.get("robustness") or {}).get("pgd") or {}).get("accuracy")
    return None if accuracy is None else 1.0 - accuracy
