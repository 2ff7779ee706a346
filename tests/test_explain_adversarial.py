"""An adversarial example beside the original on the Explain page.

Core: the attacked copy stays within the strength (L∞) and, for pictures, inside 0-1; it is
exactly what the Adversarial Robustness Toolbox's own FGSM / PGD make for the same model,
example and settings; a trained digits CNN is fooled on most examples at strength 0.2;
the page's keeper attacks once per run, input, attack and strength; int8 runs are attacked
through their float model. Page: the switch, both pictures and answers, the changed values
of a table, the caption for 2-D points, and both rows of maps computed by a worker.
"""
from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest
from safetensors import safe_open
from torch import nn

from playground.explain.adversarial import (
    INT8_SENTENCE,
    POINTS_REASON,
    Attacker,
    can_attack,
    generate,
)
from playground.explain.cache import input_id
from playground.explain.subjects import ModelBank
from playground.runs.store import Store
from playground.training.audits import robustness
from tests.test_explain import finished_run
from tests.test_explain_page import charts, open_explain, settle, texts, train_now

EXAMPLES = 6


@pytest.fixture
def home(app_home):
    yield app_home
    from components.base import services as shared
    from components.explain import attack, pick

    pick._runner.clear()  # the page's explainer client and attacker, one per server
    attack._attacker.clear()
    shared._feed.clear()


@pytest.fixture
def store(home) -> Store:
    return Store(home)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("adversarial") / "home")
    cnn = finished_run(store, dataset="digits", model="cnn", epochs=4, seed=0)
    int8 = finished_run(store, dataset="breast_cancer", model="mlp", epochs=2, quantize="int8")
    return store, cnn, int8


def art_own(model: nn.Module, data, x: np.ndarray, attack: str, strength: float) -> np.ndarray:
    """The library's attack built here from its own classes, as its documentation does."""
    from art.attacks.evasion import FastGradientMethod, ProjectedGradientDescent
    from art.estimators.classification import PyTorchClassifier

    clf = PyTorchClassifier(model=copy.deepcopy(model), loss=nn.CrossEntropyLoss(),
                            input_shape=data.input_shape, nb_classes=data.n_classes,
                            clip_values=(0.0, 1.0))
    if attack == "pgd":  # the audit's step size and number of steps, whatever they are now
        audit = robustness.pgd(clf, strength)
        art = ProjectedGradientDescent(clf, eps=strength, eps_step=audit.eps_step,
                                       max_iter=audit.max_iter, verbose=False)
    else:
        art = FastGradientMethod(clf, eps=strength)
    return art.generate(x[None].astype(np.float32))[0]  # no labels: away from its answer


@pytest.mark.parametrize("attack", ["pgd", "fgsm"])
def test_the_attacked_picture_stays_within_the_strength_and_equals_arts_own(trained, attack):
    store, cnn, _ = trained
    bank = ModelBank(store)
    loaded = bank.loaded(cnn)
    attacker = Attacker(bank)
    for i in range(3):
        x = loaded.data.X_test[i]
        a = attacker.attack(cnn, x, attack, 0.15)
        assert a.x.shape == x.shape and a.x.dtype == np.float32
        assert np.abs(a.x - x).max() <= 0.15 + 1e-6  # L∞: no pixel moved further
        assert a.moved > 0.1  # ... and it did move
        assert a.x.min() >= 0.0 and a.x.max() <= 1.0  # still a picture
        np.testing.assert_allclose(a.x, art_own(loaded.model, loaded.data, x, attack, 0.15),
                                   atol=1e-6)
        assert not a.through_float


def test_a_trained_digits_cnn_is_fooled_on_most_examples_at_strength_0_2(trained):
    store, cnn, _ = trained
    bank = ModelBank(store)
    data = bank.loaded(cnn).data
    attacker = Attacker(bank)
    X = data.X_test[:EXAMPLES]
    before = bank.predict(cnn, "float", X).argmax(1)
    assert (before == data.y_test[:EXAMPLES]).mean() >= 0.8  # a model worth fooling
    after = np.array([bank.predict(cnn, "float", attacker.attack(cnn, x, "pgd", 0.2).x[None])
                      [0].argmax() for x in X])
    assert (after != before).sum() > EXAMPLES // 2, (before, after)


def test_each_example_is_attacked_once_then_kept(trained, monkeypatch):
    store, cnn, _ = trained
    bank = ModelBank(store)
    attacker = Attacker(bank)
    x = bank.loaded(cnn).data.X_test[7]
    calls = []
    monkeypatch.setattr("playground.explain.adversarial.generate",
                        lambda *a, **k: calls.append(a) or generate(*a, **k))
    first = attacker.attack(cnn, x, "pgd", 0.1)
    assert attacker.attack(cnn, x.copy(), "pgd", 0.1) is first  # same values: kept
    assert len(calls) == 1
    other = [attacker.attack(cnn, x, "fgsm", 0.1), attacker.attack(cnn, x, "pgd", 0.2),
             attacker.attack(cnn, bank.loaded(cnn).data.X_test[8], "pgd", 0.1)]
    assert len(calls) == 4 and all(o is not first for o in other)


def test_an_int8_table_run_is_attacked_through_its_float_model(trained):
    store, _, int8 = trained
    bank = ModelBank(store)
    data = bank.loaded(int8).data
    x = data.X_test[0]
    a = Attacker(bank).attack(int8, x, "pgd", 0.3)
    assert a.through_float
    assert np.abs(a.x - x).max() <= 0.3 + 1e-6
    # Tables are not clipped to 0-1: standardised features may go anywhere within reach.
    expected_float = generate(bank.loaded(int8).model, data, x, "pgd", 0.3, a.label)
    np.testing.assert_allclose(a.x, expected_float, atol=1e-6)
    changed = a.changed_features(data.feature_names, top=3)
    assert len(changed) == 3 and changed[0][0] in data.feature_names
    assert abs(changed[0][2] - changed[0][1]) == pytest.approx(a.moved, abs=1e-6)


def test_2d_points_are_not_attacked():
    assert can_attack("image") and can_attack("tabular") and not can_attack("points")


# -- the Explain page ------------------------------------------------------------------------


def test_a_table_run_shows_the_changed_values_the_int8_note_and_attacked_bars(home, store):
    run_id = train_now(store, dataset="breast_cancer", model="mlp", epochs=2, quantize="int8")
    points = train_now(store, dataset="moons", model="logreg", epochs=1)
    at = open_explain()
    at.selectbox(key="explain_dataset").set_value("breast_cancer").run()
    at.multiselect(key="explain_runs").set_value([run_id]).run()
    at.multiselect(key="explain_methods").set_value(["occlusion"]).run()
    assert at.toggle(key="explain_attack").value is False  # off by default
    assert not [s for s in at.slider if s.key == "explain_attack_strength"]
    at.toggle(key="explain_attack").set_value(True).run()
    at.slider(key="explain_attack_strength").set_value(0.3).run()
    at.selectbox(key="explain_attack_kind").set_value("fgsm").run()
    settle(at)
    page = texts(at)
    assert "Moved each standardised feature by at most 0.30" in page
    assert INT8_SENTENCE in page
    values = next(d.value for d in at.dataframe if "attacked" in d.value.columns)
    assert list(values.columns) == ["feature", "original", "attacked", "change"]
    assert len(values) == 8 and (values["change"].abs() <= 0.3 + 1e-6).all()
    assert "↳ **attacked** (FGSM, 0.30)" in page
    assert "against the original's map:" in page  # the attacked bars, compared with the original's

    # 2-D points: no switch, and a caption says why.
    at.selectbox(key="explain_dataset").set_value("moons").run()
    at.multiselect(key="explain_runs").set_value([points]).run()
    assert not [t for t in at.toggle if t.key == "explain_attack"]
    assert POINTS_REASON in texts(at)


def test_an_attacked_digit_beside_the_original_with_maps_computed_by_a_worker(home, store):
    from playground.runs.supervisor import Supervisor

    run_id = train_now(store, dataset="digits", model="mlp", epochs=3)
    supervisor = Supervisor(store, workers=1).start()  # a real worker, as the app starts
    try:
        at = open_explain()
        at.multiselect(key="explain_runs").set_value([run_id]).run()
        at.multiselect(key="explain_methods").set_value(["occlusion", "ig"]).run()
        at.toggle(key="explain_attack").set_value(True).run()
        assert at.slider(key="explain_attack_strength").value == pytest.approx(0.1)  # the run's
        assert at.selectbox(key="explain_attack_kind").value == "pgd"
        settle(at, worker=False)  # nothing is computed in this process
        assert "could not" not in texts(at)
        workers = set(supervisor.pids())
    finally:
        supervisor.stop()

    # The same attack here gives the example the page showed, and both answers on it.
    bank = ModelBank(store)
    data = bank.loaded(run_id).data
    x = data.X_test[0]
    a = Attacker(bank).attack(run_id, x, "pgd", 0.1)
    names = data.class_names
    before = bank.predict(run_id, "float", x[None])[0]
    after = bank.predict(run_id, "float", a.x[None])[0]
    page = texts(at)
    original = f"says **{names[before.argmax()]}**, {before.max():.0%} sure"
    attacked = f"says **{names[after.argmax()]}**, {after.max():.0%} sure"
    assert original in page and f"↳ **attacked** (PGD, 0.10)  \n{attacked}" in page
    assert "Moved each pixel by at most 0.10" in page
    if after.argmax() != before.argmax():
        assert f"it now says **{names[after.argmax()]} ({after.max():.0%})** instead of " \
               f"{names[before.argmax()]} ({before.max():.0%})" in page
    else:
        assert f"but it still says **{names[after.argmax()]}**" in page
    # The thumbnails, the nearest example the run decides differently (what would change
    # the decision), the input, 2 maps of the original and 2 of the attacked copy, the
    # original beside the attacked picture, the overall view.
    assert len(charts(at)) == 1 + 1 + 1 + 4 + 1 + 1
    assert page.count("against the original's map:") == 2

    # Five maps on disk (two of the original, two of the attacked copy, the overall view),
    # every one made by the worker process.
    inputs, computed_by = [], set()
    for path in (store.artifact_dir(run_id) / "explanations").glob("*.safetensors"):
        with safe_open(str(path), "np") as f:
            meta = f.metadata()
        inputs.append(json.loads(meta["request"])["input"])
        computed_by.add(int(meta["pid"]))
    assert sorted(inputs) == sorted([input_id(x)] * 2 + [input_id(a.x)] * 2 + ["global-24"])
    assert computed_by == workers and os.getpid() not in computed_by
