"""Runs as a table: one flat row each, as CSV or JSON."""
from __future__ import annotations

import json
from typing import Any, Sequence

import pandas as pd

from playground.common.metric_registry import table_metrics
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


def runs_frame(runs: Sequence) -> pd.DataFrame:
    return pd.DataFrame([run_row(r) for r in runs])


def runs_csv(runs: Sequence) -> str:
    return runs_frame(runs).to_csv(index=False)


def runs_json(runs: Sequence, store=None) -> str:
    """Every selected run in full: config, metrics, and per-epoch history if a store is given."""
    data = []
    for run in runs:
        item = run.to_json()
        if store is not None:
            item["epochs"] = store.epochs(run.id)
        data.append(item)
    return json.dumps(data, indent=1, default=str)
