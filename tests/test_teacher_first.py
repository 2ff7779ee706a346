"""'Train a teacher first': the teacher is queued in front of its student, and the queue
holds the student until the teacher has ended."""
from __future__ import annotations

import os

import pytest

from playground.runs.queue import submit
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import ConfigError, make_config

STUDENT = dict(dataset="moons", model="mlp", width=8, depth=1, epochs=2, seed=3)


@pytest.fixture
def store(home) -> Store:
    return Store(home)


def _drain(store: Store) -> list[str]:
    """Train queued runs in the order a worker would claim them; return that order."""
    order = []
    while (run := store.claim(os.getpid())) is not None:
        order.append(run.id)
        execute(store, run)
    return order


def test_a_student_waits_while_its_teacher_is_queued_or_training(store):
    teacher = store.enqueue(make_config(**{**STUDENT, "width": 64}))
    student = store.enqueue(make_config(**STUDENT, distill_from=teacher))
    other = store.enqueue(make_config(**{**STUDENT, "seed": 4}))
    assert store.claim(1).id == teacher
    assert store.claim(2).id == other  # the older student is skipped: its teacher trains
    assert store.claim(3) is None and not store.has_queued()
    store.end(teacher, "failed", "boom")
    assert store.has_queued()
    assert store.claim(4).id == student  # the teacher ended: the student runs (and says why)


def test_new_teacher_trains_first_then_the_student_learns_from_it(store):
    config = make_config(**STUDENT, distill_from="new-mlp")
    submitted = submit(store, config)
    student_id = submitted.run_id
    queued = {r.id: r for r in store.list_runs()}
    student = queued[student_id]
    teacher_id = student.config.techniques["distillation"]["teacher"]
    teacher = queued[teacher_id]
    assert (teacher.config.model, teacher.config.width) == ("mlp", 256)
    assert (teacher.config.dataset, teacher.config.seed, teacher.config.noise) == (
        config.dataset, config.seed, config.noise)
    assert teacher.config.techniques == {}
    assert len(queued) == 3  # teacher, student-alone twin, student
    assert submitted.ids == [teacher_id, *submitted.alongside, student_id]

    order = _drain(store)
    assert order[0] == teacher_id and order[-1] == student_id
    done = store.get(student_id)
    assert done.status == "finished", done.error
    assert done.metrics["teacher_run_id"] == teacher_id
    twin = store.get(done.metrics["baseline_run_id"])
    assert twin.status == "finished" and "distillation" not in twin.config.techniques


def test_a_student_of_a_failed_teacher_fails_with_the_reason(store):
    teacher = store.enqueue(make_config(**STUDENT))
    student = store.enqueue(make_config(**STUDENT, distill_from=teacher))
    store.request_cancel(teacher)
    _drain(store)
    run = store.get(student)
    assert run.status == "failed"
    assert "cancelled, not finished" in run.error


def test_an_image_only_teacher_is_refused_for_points_data():
    with pytest.raises(ConfigError) as exc:
        make_config(**STUDENT, distill_from="new-cnn")
    assert any("new-cnn" in p and "points" in p for p in exc.value.problems)
