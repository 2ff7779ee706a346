"""What the shifted test sets say about a run, in words: how much a shift costs, and whether
a technique made the run hold up better than its baseline, beyond luck (a paired test on
the same shifted examples: two runs of the same data and seed saw exactly the same ones)."""
from __future__ import annotations

from typing import Any

import numpy as np

from playground.common.formatting import percent, points
from playground.results import luck as luck_test
from playground.results.luck import Luck
from playground.training import shift as S
from playground.training.audits import shift as shift_audit


def _same_test_set(run_a, run_b) -> bool:
    a, b = run_a.config, run_b.config
    return (a.dataset, a.seed, a.noise) == (b.dataset, b.seed, b.noise)


def luck_under(run_a, run_b, key: str, severity: int = S.MIDDLE) -> Luck | None:
    """Run b against run a on the test set under shift `key` at `severity` (b minus a);
    None where their answers were not kept or they saw different examples."""
    if not _same_test_set(run_a, run_b):
        return None
    right_a = shift_audit.right_answers(run_a.metrics, key, severity)
    right_b = shift_audit.right_answers(run_b.metrics, key, severity)
    if right_a is None or right_b is None or len(right_a) != len(right_b):
        return None
    return luck_test.paired(run_a.id, run_b.id, right_a, right_b)


def pooled_luck(pairs: list[tuple[Any, Any]], key: str, severity: int = S.MIDDLE) -> Luck | None:
    """Runs b against runs a, pair by pair (several seeds), their shifted answers pooled into
    one paired test; None if a pair's answers are missing."""
    right_a, right_b = [], []
    for a, b in pairs:
        if not _same_test_set(a, b):
            return None
        ra = shift_audit.right_answers(a.metrics, key, severity)
        rb = shift_audit.right_answers(b.metrics, key, severity)
        if ra is None or rb is None or len(ra) != len(rb):
            return None
        right_a.append(ra)
        right_b.append(rb)
    if not pairs:
        return None
    return luck_test.paired("pooled", "pooled", np.concatenate(right_a),
                            np.concatenate(right_b))


def cost(metrics: dict[str, Any] | None, key: str, severity: int = S.MIDDLE) -> float | None:
    """Clean accuracy minus accuracy under shift `key` (a share; None: not measured)."""
    by = (shift_audit.report(metrics) or {}).get(key)
    if not by or str(severity) not in by:
        return None
    return by["0"] - by[str(severity)]


def phrase(run, key: str, severity: int = S.MIDDLE) -> str:
    """'turning the digits by 20°' (a table's shift names the column it hit hardest)."""
    shift = S.find(key)
    target = shift_audit.details(run.metrics).get("targets", {}).get(key, "")
    return shift.phrase(severity, run.config.dataset, target)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _change(drop: float) -> str:
    return f"costs {points(drop)}" if drop >= 0 else f"gains {points(drop)}"


def verdict(luck: Luck | None) -> str:
    """', beyond luck (95 % interval ...)' / ', within luck' / ''."""
    if luck is None:
        return ""
    if luck.beyond:
        low, high = sorted((abs(luck.low), abs(luck.high)))
        return f", beyond luck (95 % interval {low * 100:.1f} to {high * 100:.1f} points)"
    return ", within luck"


def lines(run, baseline=None, extra_words: str = "") -> list[str]:
    """One sentence: against a baseline (the same settings without `extra_words`' techniques),
    the shift where they differ most ('Turning the digits by 20° costs 20.1 points without
    data augmentation; with it, 4.4'); alone, the shift that costs the run most."""
    table = shift_audit.report(run.metrics)
    if not table:
        return []
    keys = [k for k in table if S.find(k) is not None and cost(run.metrics, k) is not None]
    if not keys:
        return []
    theirs = shift_audit.report(baseline.metrics) if baseline is not None else None
    shared = [k for k in keys if theirs and cost(baseline.metrics, k) is not None]
    if shared and extra_words:
        key = max(shared, key=lambda k: abs(cost(baseline.metrics, k) - cost(run.metrics, k)))
        before, now = cost(baseline.metrics, key), cost(run.metrics, key)
        luck = luck_under(baseline, run, key)
        said = (f"with {extra_words}, {points(now)}" if before >= 0 and now >= 0 else
                f"with {extra_words}, it {_change(now)}")
        return [f"{_cap(phrase(run, key))} {_change(before)} without {extra_words}; "
                f"{said}{verdict(luck)}."]
    key = max(keys, key=lambda k: cost(run.metrics, k))
    by = table[key]
    return [f"On test examples shifted a little it keeps "
            f"{percent(shift_audit.SHIFT_ACCURACY.value(run.metrics))} right on average; "
            f"{phrase(run, key)} costs it most: {points(cost(run.metrics, key))} "
            f"({percent(by['0'])} → {percent(by[str(S.MIDDLE)])})."]
