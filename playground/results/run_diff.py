"""What differs between runs, in plain words and numbers: settings, mistakes, per-class
scores, ROC curves. Pure functions over configs and predictions."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from playground.data.views import column_names
from playground.training.config import RunConfig, field_words
from playground.training.techniques import TECHNIQUES, Param, all_techniques


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value) if value != "" else "(none)"


def _title(tech: str) -> str:
    return TECHNIQUES.get(tech).title if tech in TECHNIQUES else tech


def _param(tech: str, name: str) -> Param | None:
    if tech not in TECHNIQUES:
        return None
    return next((p for p in TECHNIQUES.get(tech).params if p.name == name), None)


def _param_name(tech: str, name: str) -> str:
    """A technique's setting as its control names it, without the control's aside:
    'target privacy budget ε' (the control: 'Target privacy budget ε (0: off)')."""
    param = _param(tech, name)
    return param.title().split(" (")[0].lower() if param else name.replace("_", " ")


def _param_value(tech: str, name: str, value: Any) -> str:
    """A setting's value in words: a choice as the control offers it ('equal approval rates
    across groups'), a number as written."""
    param = _param(tech, name)
    if param is not None and param.words and not isinstance(value, bool):
        return param.word(value)
    return _show(value)


def _setting_words(tech: str, name: str, value: Any) -> str:
    """'target privacy budget ε 3'; a choice with words: 'stored as: 8-bit whole numbers'."""
    param = _param(tech, name)
    colon = ":" if param is not None and param.words else ""
    return f"{_param_name(tech, name)}{colon} {_param_value(tech, name, value)}"


def _switched_on(tech: str, values: dict[str, Any]) -> str:
    """The settings a technique was switched on with: its main choice when it offers choices
    in words (what kind of fairness, how the model is stored), and the others not at their
    defaults; every one at its default says so."""
    params = TECHNIQUES.get(tech).params if tech in TECHNIQUES else ()
    defaults = {p.name: p.default for p in params}
    main = params[0].name if params and params[0].words else None
    said = [_setting_words(tech, k, v) for k, v in values.items()
            if k == main or k not in defaults or v != defaults[k]]
    return ", ".join(said) or "its default settings"


def _field_change(name: str, a: Any, b: Any) -> str:
    """One run setting's change in words; leaving columns out says which."""
    if name == "leave_out":
        was, now = column_names(a), column_names(b)
        if not was:
            return "Left out of the model: " + ", ".join(now)
        if not now:
            return "Given back to the model: " + ", ".join(was)
        return f"Left out of the model: {', '.join(was)} → {', '.join(now)}"
    return f"{field_words(name).capitalize()}: {_show(a)} → {_show(b)}"


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
    """What you would change to turn run a's setup into run b's, one sentence each, in the
    words of the Train page ('Privacy noise (DP-SGD) switched on (target privacy budget ε 3)')."""
    changes, told = [], set()
    for tech, name in differing_settings([a, b]):
        if tech is None:
            changes.append(_field_change(name, getattr(a, name), getattr(b, name)))
            continue
        ta, tb = a.techniques.get(tech), b.techniques.get(tech)
        if ta is None or tb is None:
            if tech not in told:
                told.add(tech)
                changes.append(f"{_title(tech)} switched on ({_switched_on(tech, tb)})"
                               if ta is None else f"{_title(tech)} switched off")
        else:
            changes.append(f"{_title(tech)}, {_param_name(tech, name)}: "
                           f"{_param_value(tech, name, ta.get(name))} → "
                           f"{_param_value(tech, name, tb.get(name))}")
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
