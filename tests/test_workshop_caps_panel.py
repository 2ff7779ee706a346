"""The presenter's panel on the Workshop page: every cap in words and saved through the core
(a saved cap refuses a run over it), the room's δ beside the data's own, the lesson shown in
words, and the whole workshop sent to MLflow only by its presenter (or the operator), read
back with MLflow's own client."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from components.experiments.workshop_board import lesson_in_words, setting_in_words
from playground.common import escape
from playground.common.permissions import OPERATOR, VISITOR, Refused
from playground.experiments.room_export import export_room_mlflow
from playground.experiments.workshop import (
    Lesson,
    Limits,
    WorkshopError,
    honest_delta,
    join_workspace,
    load_workspace,
    open_workspace,
    submit_as,
    training_examples,
    update_workspace,
)
from playground.results.export import mlflow_export as mx
from playground.runs.cost import default_cost, describe, run_cost
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config
from playground.training.techniques.dp import delta_in_words
from tests.app_support import open_page


def _presenter(home: Path) -> tuple[str, dict[str, str]]:
    _, key = open_workspace(home, "room", "Pat")
    return key, {"workshop_name": "room", "workshop_key": key}


def _save(at):
    next(b for b in at.button if b.label == "Save for everyone").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_presenter_sets_every_cap_and_a_saved_cap_refuses_a_run_over_it(app_home: Path):
    key, session = _presenter(app_home)
    at = open_page("pages/workshop.py", query={"ws": "room"}, session=session)
    # The default run, in words, explains the cost cap; the time limit stays within the
    # server's own limit.
    cost = at.number_input(key="workshop_limit_cost")
    assert "times the default run" in cost.label and describe(default_cost()) in cost.help
    minutes = at.number_input(key="workshop_limit_minutes")
    assert "minutes" in minutes.label and minutes.max == 60.0
    at.number_input(key="workshop_limit_active").set_value(2)
    cost.set_value(0.5)
    minutes.set_value(3.0)
    _save(at)
    ws = load_workspace(app_home, "room")
    assert ws.limits == Limits(2, 30_000, 0.5, 3.0)
    alice, _ = join_workspace(app_home, "room", "Alice")
    store = Store(app_home)
    big = make_config()  # the default run itself: twice what the cap now allows
    with pytest.raises(WorkshopError) as exc:
        submit_as(store, alice, big)
    assert any(f"needs {describe(run_cost(big))}; the workshop allows 0.5 times" in p
               for p in exc.value.problems)
    # A run under the cap is queued with the presenter's time limit.
    small = make_config(epochs=2)
    run = store.get(submit_as(store, alice, small).run_id)
    assert run.time_limit == 180.0


def test_the_room_delta_is_set_beside_the_datas_own_in_words(app_home: Path):
    key, session = _presenter(app_home)
    update_workspace(app_home, "room", key, lesson=Lesson({"dataset": "wine"}, ["dataset"]))
    at = open_page("pages/workshop.py", query={"ws": "room"}, session=session)
    n = training_examples(make_config(dataset="wine", model="logreg"))
    own = honest_delta(n)
    assert any(delta_in_words(own, n) in c.value for c in at.caption)
    delta = at.selectbox(key="workshop_board_delta")
    assert "(δ)" in delta.label and delta.value is None
    delta.set_value(1e-8)
    _save(at)
    assert load_workspace(app_home, "room").boards.delta_max == 1e-8
    assert any("lower δ = 1e-08" in c.value for c in at.caption)
    # The room trains every private run with it: a participant's own δ is replaced.
    alice, _ = join_workspace(app_home, "room", "Alice")
    store = Store(app_home)
    mine = make_config(dataset="wine", model="logreg", epochs=1, dp_noise=1.0, dp_delta=1e-6)
    run = store.get(submit_as(store, alice, mine).run_id)
    assert [p["delta"] for p in run.config.techniques.values() if "delta" in p] == [1e-8]


def test_refusals_are_shown_plainly_and_nothing_is_saved(app_home: Path):
    key, session = _presenter(app_home)
    with pytest.raises(WorkshopError, match="must be above 0"):
        update_workspace(app_home, "room", key, limits=Limits(max_minutes=0))
    at = open_page("pages/workshop.py", query={"ws": "room"}, session=session)
    at.selectbox(key="workshop_lesson_dataset").set_value("wine")
    at.selectbox(key="workshop_lesson_model").set_value("cnn")
    _save(at)
    [error] = [e.value for e in at.error]
    assert "does not work on" in error and "cnn" not in error and "wine" not in error
    assert load_workspace(app_home, "room").version == 0  # nothing saved


def test_the_lesson_box_shows_each_locked_setting_in_words(app_home: Path):
    key, _ = _presenter(app_home)
    lesson = Lesson({"dataset": "wine", "model": "logreg", "dp_noise": 1.0,
                     "quantize": "int8"}, ["dataset", "model", "dp_noise"], ["lr"])
    update_workspace(app_home, "room", key, lesson=lesson)
    assert setting_in_words("dp_noise", 1.0) == (
        "Privacy noise (DP-SGD), noise (relative to the cap): 1")
    assert setting_in_words("dataset", "wine").startswith("Dataset: Wine")
    assert "int8" in setting_in_words("quantize", "int8")
    _, token = join_workspace(app_home, "room", "Alice")
    at = open_page("pages/workshop.py", query={"ws": "room"},
                   session={"workshop_name": "room", "workshop_token": token})
    [box] = [m.value for m in at.markdown if m.value.startswith("**This lesson:**")]
    assert box == lesson_in_words(lesson)
    assert escape.md(setting_in_words("dp_noise", 1.0)) in box
    assert "Learning rate" in box
    for code in ("dp_noise", "quantize", "logreg", " = ", "lr"):
        assert code not in box


def _finished_room(home: Path) -> tuple[Store, str, object]:
    store = Store(home)
    _, key = open_workspace(home, "room", "Pat")
    alice, _ = join_workspace(home, "room", "Alice")
    for who in (alice, load_workspace(home, "room").actor(key=key)):
        submit_as(store, who, make_config(dataset="wine", model="logreg", epochs=2))
        execute(store, store.claim(os.getpid()))
    return store, key, alice


def test_the_whole_workshop_goes_to_mlflow_only_by_its_presenter(app_home: Path):
    store, key, alice = _finished_room(app_home)
    ws = load_workspace(app_home, "room")
    inside = f"sqlite:///{app_home.resolve() / 'room-mlflow.db'}"
    for who in (alice, VISITOR):
        with pytest.raises(Refused):
            export_room_mlflow(store, ws, inside, actor=who)
    presenter = ws.actor(key=key)
    with pytest.raises(mx.ExportError, match="outside the data folder"):
        export_room_mlflow(store, ws, f"sqlite:///{app_home.parent / 'x.db'}",
                           actor=presenter)
    assert not (app_home.parent / "x.db").exists()
    sent = export_room_mlflow(store, ws, inside, actor=presenter)
    assert [r.outcome for r in sent] == [mx.EXPORTED, mx.EXPORTED]
    client = MlflowClient(tracking_uri=inside)
    experiment = client.get_experiment_by_name(f"{mx.EXPERIMENT}: workshop room")
    found = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.tags[mx.RUN_TAG] for r in found) == sorted(
        r.id for r in store.list_runs(("finished",), workspace="room"))
    # The operator may too (the command line's way); again, nothing is duplicated.
    again = export_room_mlflow(store, ws, inside, actor=OPERATOR)
    assert [r.outcome for r in again] == [mx.ALREADY, mx.ALREADY]


def test_the_page_offers_mlflow_to_the_presenter_and_not_to_a_participant(app_home: Path):
    store, key, alice = _finished_room(app_home)
    _, token = join_workspace(app_home, "room", "Ben")
    ben = open_page("pages/workshop.py", query={"ws": "room"},
                    session={"workshop_name": "room", "workshop_token": token})
    assert "workshop_mlflow_send" not in [b.key for b in ben.button]
    at = open_page("pages/workshop.py", query={"ws": "room"},
                   session={"workshop_name": "room", "workshop_key": key})
    where = at.selectbox(key="workshop_mlflow_uri")
    assert where.value == mx.default_tracking_uri(store)  # the data folder's, first
    at.button(key="workshop_mlflow_send").click().run(timeout=120)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("2 runs sent to MLflow" in s.value for s in at.success)
    client = MlflowClient(tracking_uri=mx.default_tracking_uri(store))
    assert client.get_experiment_by_name(f"{mx.EXPERIMENT}: workshop room") is not None
