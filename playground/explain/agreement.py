"""How much two explanations agree, in numbers and in one plain sentence.

Both scores compare importance, the size of each attribution regardless of its sign,
because some methods (Saliency) have no sign at all:
    rank correlation  Spearman's rho of |a| and |b| (1: same order, 0: unrelated)
    top-k overlap     share of the k most important features that both pick
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


def _importance(a: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(a, dtype=np.float64)).ravel()


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of the importances (ties get their average rank).

    A map that is the same everywhere has no order: it agrees fully with an identical map
    and not at all with anything else.
    """
    x, y = _importance(a), _importance(b)
    if x.shape != y.shape:
        raise ValueError(f"cannot compare attributions of {x.size} and {y.size} values")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 1.0 if np.array_equal(x, y) else 0.0
    rx, ry = rankdata(x), rankdata(y)
    return float(np.corrcoef(rx, ry)[0, 1])


def top_k(a: np.ndarray, k: int) -> set[int]:
    """Indices of the k largest importances (ties broken by position, so it is stable)."""
    order = np.argsort(-_importance(a), kind="stable")
    return set(order[:k].tolist())


def top_k_overlap(a: np.ndarray, b: np.ndarray, k: int) -> float:
    k = max(1, min(k, _importance(a).size))
    return len(top_k(a, k) & top_k(b, k)) / k


def default_k(n_features: int) -> int:
    """5 for pictures and wide tables, fewer when there are only a few features."""
    return max(1, min(5, n_features // 3))


def correlation_words(rho: float) -> str:
    if rho >= 0.7:
        return "rank the rest much the same way"
    if rho >= 0.4:
        return "broadly agree on the rest"
    if rho >= 0.1:
        return "agree only loosely on the rest"
    return "otherwise order them differently"


@dataclass(frozen=True)
class Agreement:
    left: str
    right: str
    rho: float
    overlap: float
    k: int
    sentence: str


def compare(a: np.ndarray, b: np.ndarray, left: str, right: str, unit: str = "pixel",
            k: int | None = None) -> Agreement:
    """Scores and a one-line reading, e.g. 'LIME and SHAP agree on the 5 most important
    pixels and rank the rest much the same way (rho 0.81).'"""
    k = k or default_k(_importance(a).size)
    rho = rank_correlation(a, b)
    overlap = top_k_overlap(a, b, k)
    shared = round(overlap * k)
    units = unit if k == 1 else unit + "s"
    if shared == k:
        head = (f"{left} and {right} agree on the most important {unit}" if k == 1 else
                f"{left} and {right} agree on the {k} most important {units}")
    elif shared == 0:
        head = f"{left} and {right} pick different top {k} {units}".replace("top 1 ", "top ")
    else:
        head = f"{left} and {right} share {shared} of their {k} most important {units}"
    return Agreement(left, right, rho, overlap, k,
                     f"{head} and {correlation_words(rho)} (ρ = {rho:.2f}).")


def pairwise(maps: dict[str, np.ndarray], unit: str = "pixel",
             k: int | None = None) -> list[Agreement]:
    """Every pair of named maps, in the order given."""
    names = list(maps)
    return [compare(maps[a], maps[b], a, b, unit, k)
            for i, a in enumerate(names) for b in names[i + 1:]]
