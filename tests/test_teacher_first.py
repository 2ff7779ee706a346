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


# -- in a workshop: the same one way to queue ------------------------------------------------


def _cli(home, *args):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    return subprocess.run([sys.executable, "-m", "playground", "--home", str(home), *args],
                          cwd=root, capture_output=True, text=True, timeout=600)


def test_in_a_workshop_the_cli_trains_a_new_teacher_first_then_the_student(home, store):
    from playground.experiments.workshop import open_workspace

    open_workspace(home, "room")
    done = _cli(home, "train", "--workspace", "room", "--owner", "Ana", "--dataset", "moons",
                "--model", "mlp", "--width", "8", "--depth", "1", "--epochs", "2",
                "--distill-from", "new-mlp", "--json")
    assert done.returncode == 0, done.stderr
    runs = {r.id: r for r in store.list_runs()}
    student = next(r for r in runs.values() if "distillation" in r.config.techniques)
    teacher = runs[student.config.techniques["distillation"]["teacher"]]
    assert student.status == teacher.status == "finished", (student.error, teacher.error)
    assert teacher.finished <= student.started  # the teacher first
    assert student.metrics["teacher_run_id"] == teacher.id
    assert len(runs) == 3 and {(r.workspace, r.owner) for r in runs.values()} == {("room",
                                                                                    "Ana")}


def test_the_cli_refuses_a_workshop_that_is_not_open_or_a_run_over_its_limits(home, store):
    from playground.experiments.workshop import Limits, open_workspace, update_workspace

    missing = _cli(home, "train", "--workspace", "nope", "--owner", "Ana", "--background")
    assert missing.returncode == 2 and "no workshop called 'nope'" in missing.stderr
    _, key = open_workspace(home, "room")
    update_workspace(home, "room", key, limits=Limits(max_active=2, max_size=30_000))
    no_owner = _cli(home, "train", "--workspace", "room", "--background")
    assert no_owner.returncode == 2 and "--owner" in no_owner.stderr
    # A new teacher, the student alone and the student are three runs: over Ana's two.
    over = _cli(home, "train", "--workspace", "room", "--owner", "Ana", "--dataset", "moons",
                "--model", "mlp", "--distill-from", "new-mlp", "--background")
    assert over.returncode == 2 and "each person may have 2 at once" in over.stderr
    assert store.list_runs() == []  # refused: nothing queued
    # The presenter (with the key) is not held to a person's limits.
    ok = _cli(home, "train", "--workspace", "room", "--owner", "Presenter", "--presenter-key",
              key, "--dataset", "moons", "--model", "mlp", "--distill-from", "new-mlp",
              "--background")
    assert ok.returncode == 0, ok.stderr
    assert len(store.list_runs()) == 3


def test_in_a_workshop_train_a_teacher_first_from_the_train_page(app_home):
    """The Train page queues through the same path: teacher, student alone, student, all the
    person's, and the student learns from the teacher it waited for."""
    from playground.experiments.workshop import open_workspace
    from tests.app_support import open_page, participant

    store = Store(app_home)
    open_workspace(app_home, "room")
    at = open_page("pages/train.py", query={"dataset": "moons", "model": "mlp", "width": "8",
                                            "depth": "1", "epochs": "2",
                                            "distill_from": "new-mlp"},
                   session=participant(app_home, "room", "Ben"))
    at.button(key="train_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    queued = store.list_runs()
    assert len(queued) == 3 and {(r.workspace, r.owner) for r in queued} == {("room", "Ben")}
    order = _drain(store)
    student = next(r for r in store.list_runs() if "distillation" in r.config.techniques)
    teacher_id = student.config.techniques["distillation"]["teacher"]
    assert order[0] == teacher_id and order[-1] == student.id
    assert store.get(student.id).status == "finished", store.get(student.id).error
    assert store.get(student.id).metrics["teacher_run_id"] == teacher_id
