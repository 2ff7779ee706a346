"""What differs between runs, in plain words and numbers: settings, mistakes, per-class
scores, ROC curves. Pure functions over configs and predictions."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from playground.training.config import RunConfig
from playground.training.techniques import TECHNIQUES, all_techniques

_FIELD_WORDS = {
    "dataset": "dataset", "model": "model", "epochs": "epochs", "lr": "learning rate",
    "batch_size": "batch size", "seed": "seed", "width": "width", "depth": "depth",
    "noise": "data noise", "device": "device",
}


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value) if value != "" else "(none)"


def _title(tech: str) -> str:
    return TECHNIQUES.get(tech).title if tech in TECHNIQUES else tech


Setting = tuple[str | None, str]  # (None, config field) or (technique, its parameter)


def settings(config: RunConfig, techniques: Sequence[str] = ()) -> dict[Setting, Any]:
    """Every setting of a run: its fields, then each switched-on technique's parameters, in
    the registry's order; a technique in `techniques` that this run has off reads None."""
    out: dict[Setting, Any] = {(None, k): v for k, v in config.model_dump().items()
                               if k != "techniques"}
    for tech in [c.name for c in all_techniques()
                 if c.name in config.techniques or c.name in techniques]:
        params = config.techniques.get(tech)
        names = params or {p.name: None for p in TECHNIQUES.get(tech).params}
        for param in names:
            out[(tech, param)] = None if params is None else params.get(param)
    return out


def differing_settings(configs: Sequence[RunConfig]) -> list[Setting]:
    """The settings that are not the same in all `configs` (a technique off counts as a
    difference from on): what Compare and the report highlight, what changes describe."""
    techniques = sorted({t for c in configs for t in c.techniques})
    tables = [settings(c, techniques) for c in configs]
    keys = list(dict.fromkeys(k for t in tables for k in t))
    return [k for k in keys if len({repr(t.get(k)) for t in tables}) > 1]


def config_changes(a: RunConfig, b: RunConfig) -> list[str]:
    """What you would change to turn run a's setup into run b's, one sentence each."""
    changes, told = [], set()
    for tech, name in differing_settings([a, b]):
        if tech is None:
            if name in _FIELD_WORDS:
                changes.append(f"{_FIELD_WORDS[name].capitalize()}: {_show(getattr(a, name))} "
                               f"→ {_show(getattr(b, name))}")
            continue
        ta, tb = a.techniques.get(tech), b.techniques.get(tech)
        if ta is None or tb is None:
            if tech not in told:
                told.add(tech)
                on = ", ".join(f"{k.replace('_', ' ')} {_show(v)}" for k, v in (tb or {}).items())
                changes.append(f"{_title(tech)} switched on ({on})" if ta is None
                               else f"{_title(tech)} switched off")
        else:
            changes.append(f"{_title(tech)}, {name.replace('_', ' ')}: "
                           f"{_show(ta.get(name))} → {_show(tb.get(name))}")
    return changes


def confusion_diff(cm_a: Sequence[Sequence[int]], cm_b: Sequence[Sequence[int]]) -> np.ndarray:
    """b minus a, cell by cell (rows = true class, columns = predicted)."""
    a, b = np.asarray(cm_a, dtype=int), np.asarray(cm_b, dtype=int)
    if a.shape != b.shape:
        raise ValueError("the two runs have different classes; compare runs on the same data")
    return b - a


def confusion_story(cm_a, cm_b, class_names: Sequence[str], limit: int = 3) -> list[str]:
    """The biggest shifts in mistakes, e.g. "6 more 8s taken for 3s (2 → 8)"."""
    a, b = np.asarray(cm_a, dtype=int), np.asarray(cm_b, dtype=int)
    d = confusion_diff(a, b)
    names = [str(c) for c in class_names]
    cells = [(int(d[i, j]), i, j) for i in range(len(d)) for j in range(len(d))
             if i != j and d[i, j] != 0]
    cells.sort(key=lambda c: (-abs(c[0]), c[1], c[2]))
    lines = []
    for delta, i, j in cells[:limit]:
        more = "more" if delta > 0 else "fewer"
        lines.append(f"{abs(delta)} {more} “{names[i]}” taken for “{names[j]}” "
                     f"({a[i, j]} → {b[i, j]})")
    right_a, right_b = int(np.trace(a)), int(np.trace(b))
    if right_a != right_b:
        lines.append(f"{abs(right_b - right_a)} {'more' if right_b > right_a else 'fewer'} "
                     f"right answers in total ({right_a} → {right_b})")
    return lines


def per_class_scores(cm: Sequence[Sequence[int]], class_names: Sequence[str]
                     ) -> list[dict[str, Any]]:
    """Precision, recall and F1 per class from a confusion matrix (0 where undefined,
    as scikit-learn's zero_division=0)."""
    m = np.asarray(cm, dtype=float)
    tp = np.diag(m)
    predicted, actual = m.sum(axis=0), m.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return [{"class": str(c), "precision": float(p), "recall": float(r), "f1": float(f),
             "support": int(s)}
            for c, p, r, f, s in zip(class_names, precision, recall, f1, actual, strict=True)]


def roc_points(y_true: np.ndarray, scores: np.ndarray) -> tuple[list[dict[str, float]], float]:
    """ROC curve (false/true positive rate) of a binary problem and its area."""
    from sklearn.metrics import roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(y_true), np.asarray(scores))
    auc = float(roc_auc_score(np.asarray(y_true), np.asarray(scores)))
    return [{"fpr": float(f), "tpr": float(t)} for f, t in zip(fpr, tpr, strict=True)], auc
