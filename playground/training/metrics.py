"""Pure metric functions over predictions: no torch, no I/O; and the numbers the evaluation
of the test set reports, declared once for every page and export."""
from __future__ import annotations

import numpy as np

from playground.common.formatting import human_bytes, percent
from playground.common.metric_registry import EVALUATION, LOWER, Metric, declare

# What every finished run reports. Leaderboards, Pareto views and exports count a run as
# shipped (results/shipped.py): a quantized run by its quantized copy's accuracy, size and
# latency; these handles read the numbers as the run stored them.
ACCURACY, F1_MACRO, RARE_RECALL, PARAMS, SIZE, LATENCY, TRAIN_SECONDS = declare(
    EVALUATION,
    Metric("accuracy", "Accuracy", fmt=percent, pareto="score", leaderboard=True,
           help="Share of the test examples answered correctly."),
    Metric("f1_macro", "Macro F1", fmt=".3f", pareto="score", short="macro F1",
           help="Accuracy class by class, averaged: a class the model misses pulls it down "
                "even when that class is rare."),
    Metric("rare_recall", "Rare classes found (recall)", fmt=percent, pareto="score",
           help="Share of the test examples of the classes made rare that the model found."),
    Metric("params", "Parameters", better=LOWER, fmt=",",
           help="How many numbers the model learned."),
    Metric("size_bytes", "Weight size", better=LOWER, unit="bytes", fmt=human_bytes,
           short="size", pareto="cost", leaderboard=True,
           help="Smaller weights fit on smaller devices."),
    Metric("latency_ms", "Latency per example", better=LOWER, unit="ms", fmt=".2f",
           short="latency", pareto="cost", leaderboard=True,
           help="Faster answers, lower serving cost."),
    Metric("train_seconds", "Training time", better=LOWER, unit="s", fmt=".1f",
           short="training time", pareto="cost",
           help="Cheaper and quicker to retrain."),
    section=EVALUATION, module=__name__)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred))) if len(y_true) else 0.0


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Counts with rows = true class and columns = predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm.tolist()


def f1_macro(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Mean over classes of F1; a class never predicted nor present scores 0 (as sklearn)."""
    cm = np.asarray(confusion_matrix(y_true, y_pred, n_classes), dtype=float)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    actual = cm.sum(axis=1)
    denom = predicted + actual
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return float(f1.mean())


def recall_by_class(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> list[float]:
    """Per class, the share of its test examples the model found (recall); a class with no
    test example scores 0 (as sklearn's recall_score with average=None)."""
    cm = np.asarray(confusion_matrix(y_true, y_pred, n_classes), dtype=float)
    actual = cm.sum(axis=1)
    return np.divide(np.diag(cm), actual, out=np.zeros(n_classes), where=actual > 0).tolist()


def imbalance_ratio(counts) -> float:
    """How many times more examples the largest class has than the smallest (inf when a
    class has none)."""
    counts = np.asarray(counts, dtype=float)
    return float(counts.max() / counts.min()) if counts.min() > 0 else float("inf")


NATURAL_IMBALANCE = 3.0  # largest class / smallest in the training split: call it imbalanced


def imbalanced(m: dict) -> bool:
    """Whether a finished run's training classes were imbalanced: made rare by its setting,
    or naturally (the largest class at least NATURAL_IMBALANCE times the smallest)."""
    if m.get("rare_classes"):
        return True
    counts = m.get("train_class_counts")
    return bool(counts) and imbalance_ratio(counts) >= NATURAL_IMBALANCE
