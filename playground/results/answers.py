"""The business answers of a comparison, one place for Compare, the CLI and every export:
each run in words (unique names), its accuracy as a percentage, fairness gaps and per-group
approval rates (when its data has a sensitive column), ε and δ, what the attacks found, the
narrative sentences, whether each pair differs by more than luck, and the run to ship."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

from models.base import MODELS
from playground.common.formatting import percent
from playground.data.views import column_names
from playground.results import luck as luck_test
from playground.results import ship
from playground.results.luck import Luck
from playground.results.narrative import run_story
from playground.results.shipped import run_point
from playground.training.audits import fairness, membership, robustness
from playground.training.techniques import TECHNIQUES
from playground.training.techniques.dp import DELTA, EPSILON


def _model_words(name: str) -> str:
    return MODELS.get(name).title if name in MODELS else name


def run_words(run) -> str:
    """The run in words, not code names: 'loans · Neural network (MLP) · privacy noise
    (ε 1.58) · 78.0%'; columns left out of the model: 'my_loans · ... · without gender ·
    no techniques · 89.7%'."""
    techniques = [TECHNIQUES.get(t).words() if t in TECHNIQUES else t.replace("_", " ")
                  for t in run.config.techniques]
    if (eps := EPSILON.number(run.metrics)) is not None:
        techniques.append(f"ε {eps:.2f}")
    acc = run_point(run).accuracy if run.status == "finished" else None
    parts = [run.config.dataset, _model_words(run.config.model)]
    if left := column_names(getattr(run.config, "leave_out", "")):
        parts.append("without " + ", ".join(left))
    parts.append(", ".join(techniques) or "no techniques")
    if acc is not None:
        parts.append(percent(acc))
    return " · ".join(parts)


def unique_labels(runs: Sequence, owners: bool = True) -> dict[str, str]:
    """{run id: label}, every label different: the owner's name (in a workshop) and the run
    in words; runs that would share a label are told apart by when they were made, then by
    their id."""
    def base(run) -> str:
        who = f"{run.owner} · " if owners and getattr(run, "owner", None) else ""
        return who + run_words(run)

    labels = {r.id: base(r) for r in runs}
    seen = Counter(labels.values())
    for r in runs:
        if seen[labels[r.id]] > 1:
            labels[r.id] += " · " + time.strftime("%d %b %H:%M:%S", time.localtime(r.created))
    seen = Counter(labels.values())
    for r in runs:
        if seen[labels[r.id]] > 1:
            labels[r.id] += f" · run {r.id}"
    return labels


def group_rows(runs: Sequence, names: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One row per run and group of its sensitive column: who got a yes how often, how often
    the model was right, and how often it agreed with a past yes (shares; None: not a
    yes-or-no decision)."""
    names = names or {}
    rows = []
    for run in runs:
        f = fairness.report(run.metrics)
        if not f or not f.get("by_group"):
            continue
        for group, v in f["by_group"].items():
            rows.append({"run_id": run.id, "run": names.get(run.id, run.id),
                         "sensitive column": f.get("sensitive", ""), "group": group,
                         "approval rate": v.get("selection_rate"),
                         "accuracy": v.get("accuracy"),
                         "past yes approved (true-positive rate)": v.get("true_positive_rate"),
                         "examples": v.get("count")})
    return rows


def business(run) -> dict[str, Any]:
    """The numbers a founder asks for, in their units: percentages, points, ε and δ."""
    m = run.metrics or {}
    point = run_point(run)
    out: dict[str, Any] = {"accuracy_percent": None if point.accuracy is None
                           else round(point.accuracy * 100, 1)}
    f = fairness.report(m)
    if f:
        out["sensitive_column"] = f.get("sensitive")
        gap = fairness.DP_DIFFERENCE.number(m)
        odds = fairness.EO_DIFFERENCE.number(m)
        out["fairness_gap_points"] = None if gap is None else round(gap * 100, 1)
        out["error_gap_points"] = None if odds is None else round(odds * 100, 1)
        out["approval_rate_percent_by_group"] = {
            g: round(v["selection_rate"] * 100, 1) for g, v in f.get("by_group", {}).items()
            if v.get("selection_rate") is not None}
        out["accuracy_percent_by_group"] = {
            g: round(v["accuracy"] * 100, 1) for g, v in f.get("by_group", {}).items()
            if v.get("accuracy") is not None}
    eps = EPSILON.number(m)
    out["privacy_epsilon"] = eps
    out["privacy_delta"] = DELTA.number(m) if eps is not None else None
    right = membership.ATTACKER_RIGHT.number(m)
    out["attacker_right_percent"] = None if right is None else round(right * 100, 1)
    pgd = robustness.PGD_RIGHT.number(m)
    out["right_under_attack_percent"] = None if pgd is None else round(pgd * 100, 1)
    return out


@dataclass
class Answers:
    """Everything a comparison says before its settings."""

    names: dict[str, str]
    stories: dict[str, list[str]]
    business: dict[str, dict[str, Any]]
    groups: list[dict[str, Any]]
    lucks: list[Luck]
    pick: ship.Pick
    limits: tuple[ship.Limit, ...] = field(default_factory=tuple)

    def luck_lines(self) -> list[str]:
        return [luck.verdict(self.names.get(luck.a), self.names.get(luck.b))
                for luck in self.lucks]

    def to_json(self) -> dict[str, Any]:
        return {"runs": [{"run_id": rid, "name": name, "summary": self.stories.get(rid, []),
                          **self.business.get(rid, {})} for rid, name in self.names.items()],
                "per_group": self.groups,
                "luck": [{**luck.to_json(), "verdict": line}
                         for luck, line in zip(self.lucks, self.luck_lines(), strict=True)],
                "pick": self.pick.to_json(self.names)}


def answers(store, runs: Sequence, limits: Sequence[ship.Limit] = ()) -> Answers:
    """The business answers for `runs` (in this order)."""
    runs = list(runs)
    names = unique_labels(runs)
    finished = [r for r in runs if r.status == "finished"]
    stories = {r.id: run_story(store, r) for r in finished}
    return Answers(names=names, stories=stories, business={r.id: business(r) for r in runs},
                   groups=group_rows(runs, names),
                   lucks=luck_test.compare_all(store, finished),
                   pick=ship.pick(runs, limits), limits=tuple(limits))
