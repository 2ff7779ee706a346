"""Pure metric functions over predictions: no torch, no I/O."""
from __future__ import annotations

import numpy as np


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
