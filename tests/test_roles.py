"""Roles on a shared server, on a real store: a visitor changes nothing by any route (Train,
a story, a sweep, a clone, an upload, an export), the operator may; MLflow only for the
operator or a presenter and only to the allowed places; a run's cost counts its model; a
run past its time limit ends failed with its epochs kept; a story keeps a person's caps;
people are ids, and a removed person's session can do nothing."""
from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from playground.common import server_settings
from playground.common.permissions import ACTIONS, OPERATOR, VISITOR, Place, Refused, may
from playground.data import uploads
from playground.experiments import stories as S
from playground.experiments.sweeps import plan_sweep, start_sweep
from playground.experiments.workshop import (
    Limits,
    WorkshopError,
    join_workspace,
    load_workspace,
    open_workspace,
    remove_person,
    submit_as,
    update_workspace,
)
from playground.results.export import mlflow_export as mx
from playground.runs.cost import default_cost, describe, run_cost, times_default
from playground.runs.store import Store
from playground.runs.worker import StoreReporter, execute, time_limit_s
from playground.training.config import make_config
from tests.test_uploads import good_csv

CONFIG = make_config(dataset="moons", model="logreg", epochs=1)
BIG_VIT = dict(dataset="digits", model="vit", width=1024, depth=8, epochs=10)


@pytest.fixture
def room(home: Path):
    store = Store(home)
    _, key = open_workspace(home, "room", "Pat")
    alice, _ = join_workspace(home, "room", "Alice")
    return {"store": store, "home": home, "key": key, "alice": alice,
            "presenter": load_workspace(home, "room").actor(key=key),
            "outside": store.enqueue(CONFIG)}


def test_a_visitor_changes_nothing_by_any_route_and_the_operator_may(room):
    store, home, run_id = room["store"], room["home"], room["outside"]
    before = store.count_runs()
    # Every action the rule knows, on something outside workshops.
    for action in ACTIONS:
        thing = Place(None, None) if action in ("queue", "upload", "sweep", "export",
                                                "mlflow") else store.get(run_id)
        assert "Visitors can look at every run but not" in may(VISITOR, action, thing)
        assert may(OPERATOR, action, thing) is None
    with pytest.raises(Refused, match="Visitors"):
        store.cancel(run_id, VISITOR)
    with pytest.raises(Refused, match="Visitors"):
        store.remove(run_id, VISITOR)
    with pytest.raises(Refused, match="Visitors"):  # the clone route reads through this
        store.checked_get(run_id, VISITOR, "clone")
    with pytest.raises(Refused, match="Visitors"):  # Train (and the CLI's route)
        submit_as(store, VISITOR, CONFIG)
    with pytest.raises(Refused, match="Visitors"):
        S.ensure_story(store, "overfit", actor=VISITOR, epochs=1)
    plan = plan_sweep({"dataset": "moons", "model": "logreg", "epochs": 1}, "seed", "0,1")
    with pytest.raises(Refused, match="Visitors"):
        start_sweep(store, plan, VISITOR)
    with pytest.raises(uploads.UploadError, match="Visitors"):
        uploads.save(uploads.prepare(good_csv(), "v.csv", "label", "v"), home, VISITOR)
    with pytest.raises(Refused, match="Visitors"):
        mx.export_runs(store, mx.default_tracking_uri(store), actor=VISITOR)
    assert store.count_runs() == before and store.get(run_id).status == "queued"
    assert not (home / "mlflow.db").exists() and uploads.manifests(home) == []
    assert S.load_record(home, "overfit") is None
    # The operator: the same routes, allowed.
    assert store.checked_get(run_id, OPERATOR, "clone").id == run_id
    mine = store.get(submit_as(store, OPERATOR, CONFIG).run_id)
    assert (mine.workspace, mine.owner, mine.owner_id) == (None, None, None)
    sweep = start_sweep(store, plan, OPERATOR)
    record, queued = S.ensure_story(store, "overfit", actor=OPERATOR, epochs=1)
    assert queued and len(sweep.runs) == 2
    uploads.save(uploads.prepare(good_csv(), "o.csv", "label", "o"), home, OPERATOR)
    uploads.delete("o", OPERATOR, home)
    assert store.cancel(run_id, OPERATOR) == "cancelled"
    store.remove(run_id, OPERATOR)
    assert store.get(run_id) is None


def test_mlflow_only_for_the_operator_or_presenter_and_only_to_allowed_places(room,
                                                                             monkeypatch):
    store, home = room["store"], room["home"]
    inside = mx.default_tracking_uri(store)
    with pytest.raises(Refused, match="only the presenter can send runs to MLflow"):
        mx.export_runs(store, inside, actor=room["alice"])
    for uri, problem in {"sqlite:////etc/x.db": "is outside the data folder",
                         f"sqlite:///{home.parent / 'x.db'}": "is outside the data folder",
                         "http://203.0.113.9:5000": "not a tracking server the operator"}.items():
        for actor in (OPERATOR, room["presenter"]):
            with pytest.raises(mx.ExportError) as exc:
                mx.export_runs(store, uri, actor=actor)
            assert problem in str(exc.value)
            assert "PLAYGROUND_MLFLOW_URIS" in str(exc.value)  # the fix, named
    assert not Path("/etc/x.db").exists() and not (home.parent / "x.db").exists()
    monkeypatch.setenv("PLAYGROUND_MLFLOW_URIS", "http://203.0.113.9:5000, http://b:1")
    assert mx.allowed_problem(store, "http://203.0.113.9:5000/") is None
    assert mx.allowed_problem(store, inside) is None


def test_a_wide_deep_vit_is_refused_by_its_cost_in_words(room):
    store, alice = room["store"], room["alice"]
    vit = make_config(**BIG_VIT)
    cost = run_cost(vit)
    # The counted work per picture: PyTorch's FLOP counter, ~2 × the ViT's weights × tokens.
    assert 60e6 < cost.parameters < 70e6 and cost.work > 1000 * default_cost().work
    assert times_default(run_cost(make_config())) == pytest.approx(1.0)
    with pytest.raises(WorkshopError) as exc:
        submit_as(store, alice, vit)
    [problem] = exc.value.problems
    assert problem.startswith(f"this run needs {describe(cost)}; the workshop allows 20 times")
    assert "a network of 67 million parameters on 1,078 pictures for 10 rounds" in problem
    assert store.count_runs(workspace="room") == 0
    # An ordinary run fits, and carries the person's id and the workshop's time limit.
    run = store.get(submit_as(store, alice, make_config(epochs=2)).run_id)
    assert (run.owner, run.owner_id, run.time_limit) == ("Alice", alice.person, 600.0)


class _LimitReachedAfterTwoEpochs(StoreReporter):
    """The worker's own reporter, whose clock runs out just after the second epoch: the
    moment a real limit would fall, without a test that depends on this machine's speed."""

    def epoch(self, epoch, values, fraction):
        super().epoch(epoch, values, fraction)
        if len(self.store.epochs(self.run_id)) == 2:
            self._deadline = time.monotonic()


def test_a_run_past_its_time_limit_ends_failed_with_its_epochs_kept(home: Path):
    store = Store(home)
    config = make_config(dataset="digits", model="mlp", epochs=50)
    run_id = store.enqueue(config, time_limit=120.0)
    assert store.claim_run(run_id, os.getpid())
    reporter = _LimitReachedAfterTwoEpochs(store, run_id, 120.0)
    assert execute(store, store.get(run_id), reporter) == "failed"
    run, epochs = store.get(run_id), store.epochs(run_id)
    assert run.status == "failed" and "time limit (2 minutes)" in run.error
    assert len(epochs) == 2 and all(e["val_accuracy"] is not None for e in epochs)
    # Without a limit of its own, a run gets the server's (a setting).
    other = store.get(store.enqueue(config))
    assert time_limit_s(store, other) == 60 * server_settings.DEFAULT_RUN_MINUTES
    (home / server_settings.SETTINGS_FILE).write_text('{"run_minutes": 5}')
    assert time_limit_s(store, other) == 300


def test_a_story_keeps_a_persons_cap_however_often_it_is_started(room):
    store, home, key, alice = room["store"], room["home"], room["key"], room["alice"]
    steps = len(S.STORIES["overfit"].steps)
    update_workspace(home, "room", key, limits=Limits(max_active=1))
    with pytest.raises(WorkshopError, match=f"each person may have 1 at once .this queues "
                                            f"{steps}"):
        S.ensure_story(store, "overfit", actor=alice, epochs=1)
    assert store.count_runs(workspace="room") == 0
    update_workspace(home, "room", key, limits=Limits(max_active=steps))
    record, queued = S.ensure_story(store, "overfit", actor=alice, epochs=1)
    assert queued and store.count_runs(("queued",), owner_id=alice.person) == steps
    # Cancelling one's own story run and starting it again: still within the cap.
    store.cancel(next(iter(record.runs.values())), alice)
    with pytest.raises(WorkshopError, match=f"each person may have {steps} at once"):
        S.ensure_story(store, "overfit", actor=alice, epochs=1)
    assert store.count_runs(("queued",), owner_id=alice.person) == steps - 1


def test_a_removed_persons_session_can_do_nothing_to_a_new_namesake(room):
    store, home, key, old = room["store"], room["home"], room["key"], room["alice"]
    remove_person(home, store, "room", key, old.person)
    new, _ = join_workspace(home, "room", "Alice")
    assert new.name == old.name and new.person != old.person
    run_id = submit_as(store, new, CONFIG).run_id
    for act in (lambda: store.cancel(run_id, old), lambda: store.remove(run_id, old),
                lambda: submit_as(store, old, CONFIG)):
        with pytest.raises(Refused, match="no longer in workshop room"):
            act()
    assert store.get(run_id).status == "queued" and store.count_runs(workspace="room") == 1
    # Ids decide even where membership is not asked (drawing the cards).
    assert "is Alice's" in may(old, "cancel", store.get(run_id))
    assert store.cancel(run_id, new) == "cancelled"


def test_the_operator_key_is_made_once_and_kept_private(home: Path):
    key = server_settings.operator_key(home)
    path = home / server_settings.OPERATOR_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert server_settings.operator_key(home) == key and len(key) >= 20
    assert server_settings.is_operator_key(key, home)
    assert not server_settings.is_operator_key(key[:-1], home)
    assert not server_settings.is_operator_key("", home)
