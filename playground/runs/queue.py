"""Queueing a run the way the app and the CLI both do it."""
from __future__ import annotations

from playground.runs.fairness import queue_order
from playground.runs.store import Store
from playground.training.config import RunConfig
from playground.training.techniques.distillation import NEW_TEACHERS, student_alone, teacher_config


def missing_twin(store: Store, config: RunConfig) -> RunConfig | None:
    """For a distillation run, the student-alone twin if no run of it exists yet."""
    if "distillation" not in config.techniques:
        return None
    twin = student_alone(config)
    existing = store.list_runs(statuses=("queued", "running", "finished"))
    return None if any(r.config == twin for r in existing) else twin


def with_new_teacher(store: Store, config: RunConfig) -> RunConfig:
    """'Train a teacher first': queue the teacher and point the student at it; the queue
    holds the student until its teacher has finished."""
    distill = config.techniques.get("distillation")
    if not distill or distill.get("teacher") not in NEW_TEACHERS:
        return config
    teacher_id = store.enqueue(teacher_config(config))
    techniques = {**config.techniques, "distillation": {**distill, "teacher": teacher_id}}
    return config.model_copy(update={"techniques": techniques})


def submit(store: Store, config: RunConfig) -> str:
    """Queue `config`; a distillation run also queues its twin first (same seed, no teacher),
    so the student can be compared with itself trained alone, and with a 'new-…' teacher
    queues that teacher first."""
    config = with_new_teacher(store, config)
    twin = missing_twin(store, config)
    if twin is not None:
        store.enqueue(twin)
    return store.enqueue(config)


def queue_positions(store: Store) -> dict[str, int]:
    """run id -> 1-based place in the line of every queued run on this server."""
    queued = store.list_runs(statuses=("queued",))[::-1]  # oldest first
    return {r.id: i for i, r in enumerate(queue_order(queued, store.last_served()), 1)}
