"""Pareto fronts: which runs no other run beats on both of two numbers.

A run is dominated when another run is at least as good on both axes and strictly better
on one. Two runs with identical numbers do not dominate each other, so both stay on the
front. Pure functions over plain numbers; no Streamlit, no torch.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from playground.results.shipped import RunPoint

# The trade-off axes the Compare page offers: key -> (title, which way is better, unit hint).
COSTS: dict[str, tuple[str, str]] = {
    "size_bytes": ("Weight size (bytes)", "Smaller weights fit on smaller devices."),
    "latency_ms": ("Latency per example (ms)", "Faster answers, lower serving cost."),
    "epsilon": ("Privacy budget ε", "Smaller ε is more private; runs without privacy noise "
                "have no ε and are left out."),
    "train_seconds": ("Training time (s)", "Cheaper and quicker to retrain."),
    "attack_auc": ("Privacy leak: membership attack AUC", "How well an attacker tells who was "
                   "in the training data: 0.5 is a coin toss, lower leaks less."),
    "pgd_errors": ("Fooled by attack: share wrong under PGD", "Share of test examples a small "
                   "deliberate change (PGD) makes the model get wrong: lower is more robust."),
    "dp_difference": ("Unfairness: demographic-parity difference", "The largest gap in "
                      "approval rates between two groups of the sensitive attribute: 0 is "
                      "parity. Runs without a sensitive attribute are left out."),
}
SCORES: dict[str, str] = {"accuracy": "Accuracy", "f1_macro": "Macro F1",
                          "rare_recall": "Rare classes found (recall)"}


def _usable(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def pareto_mask(xs: Sequence[float], ys: Sequence[float], x_better: str = "lower",
                y_better: str = "higher") -> list[bool]:
    """True for each point no other point dominates; points with a missing or infinite
    coordinate are never on the front. O(n log n): sort by x, keep the best y seen."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    sx = 1.0 if x_better == "lower" else -1.0
    sy = -1.0 if y_better == "higher" else 1.0
    # Work in "lower is better" on both axes.
    pts = [(sx * x, sy * y, i) for i, (x, y) in enumerate(zip(xs, ys, strict=True))
           if _usable(x) and _usable(y)]
    pts.sort()
    mask = [False] * len(xs)
    best_before = math.inf  # best (lowest) y among points with strictly smaller x
    k = 0
    while k < len(pts):
        j = k
        while j < len(pts) and pts[j][0] == pts[k][0]:
            j += 1
        group_best = pts[k][1]  # sorted, so the group's first has the lowest y
        for _x, y, i in pts[k:j]:
            # Not beaten by a cheaper point (needs strictly better y than all of them)
            # nor by an equally cheap one with better y.
            mask[i] = y < best_before and y == group_best
        best_before = min(best_before, group_best)
        k = j
    return mask


def front_rows(points: Sequence[RunPoint], cost: str, score: str = "accuracy"
               ) -> list[dict[str, Any]]:
    """One row per run with the two numbers and whether it is on the front."""
    xs = [p.get(cost) for p in points]
    ys = [p.get(score) for p in points]
    mask = pareto_mask(xs, ys, x_better="lower", y_better="higher")
    return [{"run_id": p.run_id, "label": p.label, "cost": x, "score": y, "on_front": on,
             "plotted": _usable(x) and _usable(y)}
            for p, x, y, on in zip(points, xs, ys, mask, strict=True)]
