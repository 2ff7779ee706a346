"""Runs as a table: one flat row each, as CSV or JSON, the business answers first (the run in
words, its owner, accuracy as a percentage, fairness gaps and per-group approval rates, ε and
δ, what the attacks found, the plain summary, luck against the first run, the pick), then the
settings and every declared metric. CSV cells a spreadsheet would run as formulas are
neutralised."""
from __future__ import annotations

import json
from typing import Any, Sequence

import pandas as pd

from playground.common.escape import csv_cell
from playground.common.metric_registry import table_metrics
from playground.results.answers import Answers, answers
from playground.results.ship import Limit
from playground.results.shipped import run_point
from playground.training.config import config_values

# -- tables ----------------------------------------------------------------------------


def run_row(run) -> dict[str, Any]:
    """One flat row per run: what it was, then every declared metric (a column each, empty
    when the run has none), then accuracy, size and latency as shipped."""
    m = run.metrics or {}
    p = run_point(run)
    row: dict[str, Any] = {"run_id": run.id, "status": run.status,
                           "switched_on": p.label, "label": run.config.label()}
    for key, value in config_values(run.config).items():
        if key != "techniques":
            row[key] = value
    row.update({metric.key: metric.value(m) for metric in table_metrics()})
    row.update({"deployed_accuracy": p.accuracy, "deployed_size_bytes": p.size_bytes,
                "deployed_latency_ms": p.latency_ms, "device": run.device or m.get("device")})
    return row


def answer_row(run, said: Answers) -> dict[str, Any]:
    """The business answers of one run as flat columns (the same fields as the JSON's)."""
    b = said.business.get(run.id, {})
    row: dict[str, Any] = {"name": said.names.get(run.id, run.id), "owner": run.owner or "",
                           "accuracy_percent": b.get("accuracy_percent")}
    if b.get("sensitive_column") is not None:
        row["sensitive_column"] = b["sensitive_column"]
        row["fairness_gap_points"] = b.get("fairness_gap_points")
        row["error_gap_points"] = b.get("error_gap_points")
        for group, rate in b.get("approval_rate_percent_by_group", {}).items():
            row[f"approval_rate_percent: {group}"] = rate
    row.update({"privacy_epsilon": b.get("privacy_epsilon"),
                "privacy_delta": b.get("privacy_delta"),
                "attacker_right_percent": b.get("attacker_right_percent"),
                "right_under_attack_percent": b.get("right_under_attack_percent")})
    first = next(iter(said.names), None)
    luck = next((x for x in said.lucks if x.a == first and x.b == run.id), None)
    row["luck_against_first_run"] = (
        luck.verdict(said.names.get(luck.a), said.names.get(luck.b)) if luck else "")
    pick = said.pick
    row["ship"] = ("ship this one" if pick.chosen is not None and pick.chosen.id == run.id
                   else "; ".join(pick.out.get(run.id, [])))
    row["summary"] = " ".join(said.stories.get(run.id, []))
    return row


def runs_frame(runs: Sequence, said: Answers | None = None) -> pd.DataFrame:
    """Every run's row; with `said`, its business answers first."""
    rows = [({**answer_row(r, said), **run_row(r)} if said else run_row(r)) for r in runs]
    return pd.DataFrame(rows)


def runs_csv(runs: Sequence, store=None, limits: Sequence[Limit] = ()) -> str:
    """The table as CSV; with a store, the business answers too. No cell runs as a formula."""
    said = answers(store, runs, limits) if store is not None else None
    frame = runs_frame(runs, said)
    safe = frame.apply(lambda column: column.map(csv_cell))
    safe.columns = [csv_cell(c) for c in frame.columns]
    return safe.to_csv(index=False)


def runs_json(runs: Sequence, store=None, limits: Sequence[Limit] = ()) -> str:
    """Every selected run in full: config, metrics, and with a store its per-epoch history
    and its business answers (the CSV's fields under "answers")."""
    said = answers(store, runs, limits) if store is not None else None
    data = []
    for run in runs:
        item = run.to_json()
        if store is not None:
            item["epochs"] = store.epochs(run.id)
            item["answers"] = answer_row(run, said)
        data.append(item)
    return json.dumps(data, indent=1, default=str)
