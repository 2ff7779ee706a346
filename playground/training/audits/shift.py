"""Under shift: the finished model's accuracy on shifted copies of its test set (turned,
noisy, blurred pictures; moved columns; a group made more common; sentences with typos or
words left out), with the run's own decision rule. The shifts themselves live in
training/shift.py; this audit runs them at the end of training and declares the number that
Compare, Pareto axes, sweeps and leaderboards read.

Evaluation only: with the default image network it costs a few hundredths of its training
(`make bench`, BENCHMARKS.md), so it runs on every run, even where the attacks are off.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from playground.common.formatting import percent
from playground.common.metric_registry import AUDIT, Metric, declare
from playground.training import shift as S

STORED_UNDER = "shift"  # {shift: {severity: accuracy}}, severity "0" the clean test set
DETAILS = "shift_details"  # the columns each table shift hit, the seconds it took


def report(metrics: dict[str, Any] | None) -> dict[str, dict[str, float]] | None:
    """{shift: {"0".."3": accuracy}} of a run (None: not measured)."""
    return (metrics or {}).get(STORED_UNDER) or None


def details(metrics: dict[str, Any] | None) -> dict[str, Any]:
    return (metrics or {}).get(DETAILS) or {}


(SHIFT_ACCURACY,) = declare(
    "shift audit",
    Metric("shift_accuracy", "Accuracy under shift", fmt=percent, pareto="score",
           leaderboard=True, short="under shift", read=lambda m: S.summary(report(m)),
           help="Share of test examples still right when the world moves a little (pictures "
                "turned, noisy, blurred, faded or moved; a column moved or a group made more "
                "common; sentences with typos or words left out), averaged over those "
                "changes at their middle strength."),
    section=AUDIT, module=__name__)


class _ShiftedRun:
    """The run's context as its decision rule sees it, with a shifted test split in place of
    the clean one (everything else read through from the real context)."""

    def __init__(self, ctx, data, probs: np.ndarray):
        self._ctx, self.data, self.probs = ctx, data, probs

    def __getattr__(self, name: str):
        return getattr(self._ctx, name)


def decider(ctx) -> S.Decide | None:
    """The run's decision rule over a shifted split (None: the likeliest class)."""
    rule = next((t for t in ctx.techniques if t.name == ctx.decided_by), None)
    if rule is None:
        return None
    data = ctx.data

    def decide(split: S.TestSplit, probs: np.ndarray) -> np.ndarray:
        groups = None if data.groups is None else (*data.groups[:2], split.groups)
        view = replace(data, X_test=split.X, y_test=split.y, groups=groups)
        decided = rule.decide(_ShiftedRun(ctx, view, probs), probs)
        return probs.argmax(axis=1) if decided is None else np.asarray(decided)
    return decide


def audit(ctx, metrics: dict[str, Any]) -> None:
    """Add metrics["shift"] and metrics["shift_details"] for the finished run."""
    if not S.shifts_for(ctx.data.info.kind):
        return
    table, info = S.measure(ctx.model, ctx.data, ctx.device, ctx.config.seed,
                            decider(ctx), ctx.y_pred)
    if table:
        metrics[STORED_UNDER], metrics[DETAILS] = table, info


def rows(metrics: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One row per shift and severity: key, shift (plain label), severity (0..3), level (in
    words), accuracy; for charts and tables."""
    out = []
    for key, by in (report(metrics) or {}).items():
        shift = S.find(key)
        if shift is None:
            continue
        for sev, accuracy in sorted(by.items()):
            level = "none" if sev == "0" else shift.levels[int(sev) - 1]
            out.append({"key": key, "shift": shift.label, "severity": int(sev),
                        "level": level, "accuracy": accuracy})
    return out


def right_answers(metrics: dict[str, Any] | None, key: str, severity: int) -> np.ndarray | None:
    """Which shifted test examples the run got right (booleans, in the shifted set's order;
    None: not kept). Two runs on the same data and seed saw the same shifted examples."""
    d = details(metrics)
    bits = (d.get("right") or {}).get(key, {}).get(str(severity))
    return None if bits is None else S.unpack(bits, int(d["examples"]))
