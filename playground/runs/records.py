"""What the store hands out: a run or a job as a Python object, read from its row.

Every part of the store (claims, a run's life, the jobs, the checked actions) and the live
feed turn rows into these the same way, so the conversions live here, beside the statuses.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from playground.training.config import RunConfig
from playground.training.techniques import TECHNIQUES
from playground.training.techniques.dropout import Dropout

ACTIVE = ("queued", "running")
ENDED = ("finished", "failed", "cancelled", "interrupted")

# The epoch table's own columns; anything else a technique reports per epoch goes in `extra`.
EPOCH_COLUMNS = {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds"}


def epoch_from_row(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data.update(json.loads(data.pop("extra") or "{}"))
    return data


@dataclass
class Run:
    id: str
    status: str
    config: RunConfig
    created: float
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    worker_pid: int | None = None
    started: float | None = None
    finished: float | None = None
    progress: float = 0.0
    progress_at: float | None = None
    cancel_requested: bool = False
    device: str | None = None
    workspace: str | None = None  # the workshop it was queued in
    owner: str | None = None  # who queued it there: their display name, shown only
    owner_id: str | None = None  # ... and their person id there, which permissions compare
    time_limit: float | None = None  # seconds it may train (None: the server's limit)
    executor: str | None = None  # local or ray
    node: str | None = None  # the machine (and Ray node) it ran on

    @property
    def owner_key(self) -> str:
        """Whose turn this run takes in the queue; the same key as the owner key in SQL in
        `playground.runs.turns`, so the order shown matches the order claimed."""
        return "" if self.owner is None else f"{self.workspace or ''}\x1f{self.owner}"

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.id, "status": self.status, "config": self.config.model_dump(),
            "metrics": self.metrics, "error": self.error, "created": self.created,
            "started": self.started, "finished": self.finished, "progress": self.progress,
            "device": self.device, "label": self.config.label(),
            "workspace": self.workspace, "owner": self.owner, "owner_id": self.owner_id,
            "time_limit": self.time_limit,
            "executor": self.executor, "node": self.node,
        }


def run_from_row(row: sqlite3.Row) -> Run:
    return Run(
        id=row["id"], status=row["status"],
        config=load_config(row["config"]), created=row["created"],
        metrics=json.loads(row["metrics"]) if row["metrics"] else {}, error=row["error"],
        worker_pid=row["worker_pid"], started=row["started"], finished=row["finished"],
        progress=row["progress"], progress_at=row["progress_at"],
        cancel_requested=bool(row["cancel_requested"]), device=row["device"],
        workspace=row["workspace"], owner=row["owner"],
        executor=row["executor"], node=row["node"],
        owner_id=row["owner_id"], time_limit=row["time_limit"],
    )


@dataclass
class Job:
    """Work for a worker that is not a run: an explanation batch, say."""

    id: str
    kind: str
    status: str
    payload: dict[str, Any]
    created: float
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    worker_pid: int | None = None
    started: float | None = None
    finished: float | None = None
    done: int = 0
    total: int = 0
    cancel_requested: bool = False
    workspace: str | None = None
    owner: str | None = None
    requester: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def job_from_row(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"], kind=row["kind"], status=row["status"],
        payload=json.loads(row["payload"]), created=row["created"],
        result=json.loads(row["result"]) if row["result"] else {}, error=row["error"],
        worker_pid=row["worker_pid"], started=row["started"], finished=row["finished"],
        done=row["done"], total=row["total"], cancel_requested=bool(row["cancel_requested"]),
        workspace=row["workspace"], owner=row["owner"], requester=row["requester"],
    )


def load_config(text: str) -> RunConfig:
    """A stored run's config as it was stored. Not validated again: today's rules (an
    uploaded dataset since deleted, a GPU-only technique read on a CPU, a tightened range)
    must not stop a finished run from listing; configs are validated where they are made."""
    data = json.loads(text)
    # Runs stored before dropout became a technique kept it as a top-level field.
    rate = data.pop(Dropout.name, None)
    if rate:
        data.setdefault("techniques", {})[Dropout.name] = {"rate": rate}
    known = {k: v for k, v in data.items() if k in RunConfig.model_fields}
    return RunConfig.model_construct(**known)


def runs_waited_for(config: RunConfig) -> list[str]:
    """The runs this one reads, as its techniques say (a teacher, a run to start from)."""
    return list(dict.fromkeys(
        other for name, settings in config.techniques.items()
        if name in TECHNIQUES and (other := TECHNIQUES.get(name).waits_for(settings))))


def first_waited_for(config: RunConfig) -> str | None:
    """The run this one must wait for before it may start (the queue holds one per run)."""
    return next(iter(runs_waited_for(config)), None)
