"""Where a run fails: error cohorts checked against what they stand for.

References: the run's stored test answers (a cohort's rate recomputed from them), a table
whose errors were planted in one known group (the search must find that group first), and
pictures whose confusions were planted (the biggest confusion is the planted one).
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from playground.cli.main import main
from playground.data.base import Dataset, DatasetInfo
from playground.data.catalog import load_dataset
from playground.data.columns import Column, Schema
from playground.results import cohorts as C
from playground.runs.store import Store
from playground.runs.worker import drain_jobs
from playground.training.artifacts import load_predictions
from playground.training.audits import fairness
from tests.run_support import train_now


def planted_table(n: int = 1200, seed: int = 3):
    """A table (income in thousands, group A/B, years) and answers that are wrong 55 % of the
    time for group B with income under 30 and 4 % of the time elsewhere."""
    rng = np.random.default_rng(seed)
    income = np.round(rng.uniform(10, 90, n), 1)
    group_b = rng.random(n) < 0.5
    years = np.round(rng.uniform(0, 30, n), 1)
    X = np.stack([income, group_b.astype(float), years], axis=1).astype(np.float32)
    y = rng.integers(0, 2, n)
    planted = (income < 30) & group_b
    wrong = rng.random(n) < np.where(planted, 0.55, 0.04)
    schema = Schema((Column("income (thousands)", "number", (0,), decimals=1),
                     Column("group", "binary", (1,), ("A", "B")),
                     Column("years", "number", (2,), decimals=1)))
    empty = np.zeros((0, 3), np.float32)
    data = Dataset(DatasetInfo("planted", "planted", "tabular", ""), X[:10], y[:10], empty,
                   np.zeros(0, int), X, y, ["no", "yes"],
                   ["income (thousands)", "group = B", "years"], schema=schema)
    return data, np.where(wrong, 1 - y, y), planted


def test_errors_planted_in_one_group_are_found_first_and_beyond_luck():
    data, said, planted = planted_table()
    found = C.error_cohorts(data, said, run_id="t", seed=0)
    worst = found.cohorts[0]
    members = np.array(worst.indices)
    assert planted[members].mean() > 0.9, worst.words  # the planted group, not a neighbour
    assert "group = B" in worst.words and "income (thousands) below" in worst.words
    assert worst.beyond_luck and worst.rate > 3 * found.overall
    assert found.verdict.startswith("Run t fails most for " + worst.words)
    # Every cohort's rate is counted on the half the tree was not fitted on: the halves
    # the leaves were measured on never overlap and together make one half of the test set.
    measured = np.concatenate([c.measured for c in found.cohorts])
    assert len(set(measured.tolist())) == len(measured) == len(said) // 2
    wrong = said != data.y_test
    for c in found.cohorts:
        assert c.wrong == wrong[c.measured].sum()
        assert c.rate == pytest.approx(wrong[c.measured].mean())
        assert set(c.measured) <= set(c.indices)


def test_evenly_spread_errors_make_no_group_stand_out():
    data, _, _ = planted_table(seed=4)
    rng = np.random.default_rng(0)
    said = np.where(rng.random(len(data.y_test)) < 0.1, 1 - data.y_test, data.y_test)
    found = C.error_cohorts(data, said, run_id="t", seed=0)
    assert not any(c.beyond_luck for c in found.cohorts)
    assert "no group stands out" in found.verdict


def test_pictures_by_class_and_by_confusion():
    data = load_dataset("digits", 0)
    y = data.y_test
    said = y.copy()
    eights = np.flatnonzero(y == 8)
    said[eights[: len(eights) // 2]] = 1  # half the eights read as ones
    probs = np.full((len(y), 10), 0.05)
    probs[np.arange(len(y)), said] = np.linspace(0.5, 0.95, len(y))
    found = C.error_cohorts(data, said, probs, run_id="p")
    assert found.cohorts[0].words == "true class 8" and found.cohorts[0].beyond_luck
    assert found.confusions[0].words == "true 8 read as 1"
    assert found.confusions[0].indices == eights[: len(eights) // 2].tolist()
    sure = [m["sure"] for m in found.confident]
    assert sure == sorted(sure, reverse=True) and all(m["index"] in eights for m in found.confident)


@pytest.fixture(scope="module")
def loans_run(tmp_path_factory):
    home = tmp_path_factory.mktemp("cohorts-home")
    old = os.environ.get("PLAYGROUND_HOME"), os.environ.get("PLAYGROUND_AUDITS")
    os.environ["PLAYGROUND_HOME"] = str(home)
    os.environ["PLAYGROUND_AUDITS"] = "off"  # the attacks are not what is tested here
    store = Store(home)
    run_id = train_now(store, dataset="loans", model="mlp", epochs=3)
    yield store, run_id, home
    for name, value in zip(("PLAYGROUND_HOME", "PLAYGROUND_AUDITS"), old, strict=True):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def test_a_runs_cohorts_agree_with_its_stored_answers_and_are_kept_by_a_worker(loans_run,
                                                                               capsys):
    store, run_id, home = loans_run
    asked = C.ask(store, run_id, requester="s1")
    assert asked.waiting and asked.job_id
    assert drain_jobs(store) == 1  # what a worker process does
    done = C.ask(store, run_id, job_id=asked.job_id)
    assert done.answer is not None and C.CohortCache(store).path(run_id).exists()
    answer = done.answer

    stored = load_predictions(store, run_id)
    wrong = stored["y_pred"] != stored["y_true"]
    assert answer.wrong == wrong.sum() and answer.n_test == len(wrong)
    assert answer.overall == pytest.approx(1 - store.get(run_id).metrics["accuracy"])
    for c in answer.cohorts:
        assert c.wrong == wrong[c.measured].sum()
        assert c.rate == pytest.approx(wrong[c.measured].mean())
    # By the sensitive column: the same error rates as fairlearn's per-group accuracy.
    by_group = fairness.report(store.get(run_id).metrics)["by_group"]
    assert {g.words for g in answer.groups} == set(by_group)
    for g in answer.groups:
        assert g.rate == pytest.approx(1 - by_group[g.words]["accuracy"])
        assert g.size == by_group[g.words]["count"]
    leaves = np.concatenate([c.indices for c in answer.cohorts])
    assert sorted(leaves.tolist()) == list(range(len(wrong)))  # the leaves split the test set

    assert main(["--home", str(home), "show", run_id, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)["error_cohorts"]
    assert shown == json.loads(C.CohortCache(store).path(run_id).read_text())
    assert shown["verdict"] == answer.verdict


def test_the_run_card_asks_a_worker_and_opens_a_group_in_explain(app_home):
    from components.base.services import refresh_live
    from tests.app_support import open_page, plain

    store = Store(app_home)
    run_id = train_now(store, dataset="loans", model="logreg", epochs=2)
    at = open_page("pages/runs.py")
    at.button(key=f"runs_cohorts_ask_{run_id}").click().run()
    assert drain_jobs(store) == 1  # the worker's part
    refresh_live()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    found = C.CohortCache(store).get(run_id)
    assert found is not None
    assert any(plain(m.value) == found.verdict for m in at.markdown)  # the verdict first
    assert len(at.dataframe) >= 1

    at.selectbox(key=f"runs_cohorts_pick_{run_id}").set_value("g0").run()
    at.button(key=f"runs_cohorts_open_{run_id}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Explain a prediction"
    assert at.selectbox(key="explain_filter").value == "cohort"
    offered = at.selectbox(key="explain_index").options  # "#6 · true class approved"
    assert [int(o.split(" ")[0][1:]) for o in offered] == found.cohorts[0].indices
