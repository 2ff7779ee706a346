"""Drift on new data: a new batch of rows against the rows a finished run was trained on.

Checked against what must hold: a batch compared with itself has nothing to find; a batch
with one column moved is caught on that column and no other; batches drawn like the old
rows raise false alarms no more often than the stated level (plus a binomial margin, over
50 seeds); and the run's accuracy on its own test rows, uploaded as a new CSV, is exactly
the accuracy of the decisions it stored for them.
"""
from __future__ import annotations

import io
import json
import os

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom

from components.base import services as shared
from playground.cli.main import main
from playground.common.permissions import LOCAL, VISITOR, Refused
from playground.data import drift, uploads
from playground.data.columns import Column, Schema
from playground.data.units import RowCodec
from playground.experiments import drift_check
from playground.explain.subjects import ModelBank
from playground.runs.store import Store
from playground.runs.worker import drain_jobs
from tests.app_support import open_page
from tests.run_support import train_now

SCHEMA = Schema((Column("income", "number", (0,), decimals=0, integer=True),
                 Column("age", "number", (1,), decimals=0, integer=True),
                 Column("region", "one_hot", (2, 3, 4), ("East", "North", "West"))))


def rows(n: int, seed: int, income_shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "income": (rng.normal(42_000, 9_000, n) + income_shift).round().astype(int),
        "age": rng.integers(19, 70, n),
        "region": rng.choice(["East", "North", "West"], n, p=[0.5, 0.3, 0.2])})


def test_the_same_batch_twice_shows_no_drift():
    old = rows(400, 0)
    report = drift.compare(old, old.copy(), SCHEMA)
    assert not report.drifted and report.verdict().startswith("No drift found")
    for column in report.columns:
        assert column.statistic == 0.0 and column.p_value == 1.0 and not column.moved
    # Twins in both classes: a model can't beat chance (cross-validation even falls below).
    assert report.classifier.accuracy <= 0.5 and not report.classifier.moved


def test_one_moved_column_is_caught_on_that_column_only():
    reports = [drift.compare(rows(600, 10 + s), rows(200, 50 + s, income_shift=10_000),
                             SCHEMA, seed=s) for s in range(8)]
    assert all(r.drifted and r.classifier.moved for r in reports)
    for report in reports:
        income = report.columns[0]
        assert income.moved and income.direction == "are higher on average"
        assert income.sentence().startswith("income moved: new rows are higher on average, 5")
        assert income.sentence().endswith("against 4" + income.old[1:] + "; beyond luck")
    # The others are drawn alike: each is flagged at most as often as the level allows
    # (16 chances at 5 %; the margin is Binomial(16, 5 %)'s 99.9th percentile).
    others = sum(c.moved for r in reports for c in r.columns[1:])
    assert others <= binom.ppf(0.999, 16, drift.LEVEL)
    for report in reports:  # the verdict names every column that moved, and only those
        named = [c.name for c in report.columns if c.name in report.verdict()]
        assert named == [c.name for c in report.moved]


def test_a_category_that_changes_share_is_caught_and_new_values_are_named():
    new = rows(300, 3)
    new.loc[:120, "region"] = "West"
    new.loc[121:130, "region"] = "South"  # never seen in the old rows
    report = drift.compare(rows(600, 4), new, SCHEMA)
    region = next(c for c in report.columns if c.name == "region")
    assert region.moved and region.unseen == ["South"]
    assert "'West' more often" in region.direction
    assert [c.name for c in report.columns if c.moved] == ["region"]


def test_false_alarms_stay_within_the_stated_level_over_seeds():
    seeds = 50
    alarms = sum(drift.compare(rows(300, 1000 + s), rows(100, 2000 + s), SCHEMA,
                               seed=s).drifted for s in range(seeds))
    # At most LEVEL per batch: the count is at most Binomial(50, LEVEL), whose 99.9th
    # percentile is the margin (a correct test fails here once in a thousand seeds' sets).
    assert alarms <= binom.ppf(0.999, seeds, drift.LEVEL)


def test_holm_never_lowers_a_p_value_nor_exceeds_bonferroni():
    p = np.array([0.01, 0.04, 0.03, 0.5, 0.002])
    adjusted = drift.holm(p)
    assert np.all(adjusted >= p) and np.all(adjusted <= np.minimum(1, len(p) * p))
    assert adjusted[4] == pytest.approx(0.01)  # the smallest: times 5
    assert np.all(np.diff(adjusted[np.argsort(p)]) >= 0)  # order kept


@pytest.mark.parametrize("data, name, words", [
    (b"", "new.csv", "is empty"),
    (b"\x89PNG\r\n\x1a\n0000", "new.csv", "PNG picture"),
    (b"income,years,region\n1,2,East\n", "new.csv", "'age'"),
])
def test_a_bad_batch_is_refused_with_the_problem_and_the_fix(data, name, words):
    with pytest.raises(uploads.UploadError) as refused:
        drift.read_batch(data, name, SCHEMA)
    assert words in str(refused.value) and "Fix:" in str(refused.value)


# -- against a finished run ---------------------------------------------------------------


def loans_csv(n: int = 400) -> bytes:
    rng = np.random.default_rng(5)
    income = rng.integers(18, 160, n) * 1000
    amount = np.round(rng.uniform(1, 40, n) * 1000, 2)
    gender = np.where(rng.random(n) < 0.5, "F", "M")
    score = income / 1000 - amount / 2000 + np.where(gender == "M", 5, 0) + rng.normal(0, 8, n)
    frame = pd.DataFrame({"age": rng.integers(19, 70, n), "annual_income": income,
                          "loan_amount": amount, "gender": gender,
                          "approved": np.where(score > 60, "yes", "no")})
    return frame.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("drift-home")
    old = os.environ.get("PLAYGROUND_HOME"), os.environ.get("PLAYGROUND_AUDITS")
    os.environ["PLAYGROUND_HOME"] = str(home)
    os.environ["PLAYGROUND_AUDITS"] = "off"  # the attacks are not what is tested here
    uploads.save(uploads.prepare(loans_csv(), "loans.csv", "approved", "drift_loans"),
                 home=home)
    store = Store(home)
    # A fairness run: its decisions come from per-group thresholds, not the likeliest class.
    run_id = train_now(store, dataset="drift_loans", model="mlp", epochs=3, sensitive="gender",
                       techniques={"fairness": {"constraint": "demographic_parity"}})
    yield {"store": store, "run": run_id, "home": home}
    for name, value in zip(("PLAYGROUND_HOME", "PLAYGROUND_AUDITS"), old, strict=True):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def test_run_test_rows_as_a_labelled_batch_score_the_runs_stored_decisions(world):
    bank = ModelBank(world["store"])
    loaded = bank.loaded(world["run"])
    data = loaded.data
    frame = RowCodec(data).frame(data.X_test)
    frame["approved"] = [data.class_names[i] for i in data.y_test]
    answer = drift_check.check(bank, world["run"], frame.to_csv(index=False).encode(),
                               "test_rows.csv")
    stored = bank.rule(world["run"]).stored()
    right = int(np.sum(stored == data.y_test))
    assert answer.labels is not None
    assert (answer.labels.rows, answer.labels.correct) == (len(data.y_test), right)
    assert answer.labels.accuracy == pytest.approx(loaded.run.metrics["accuracy"])
    assert not answer.labels.beyond_luck and "within luck" in answer.labels.verdict


def test_the_worker_keeps_the_answer_with_the_run_and_the_cli_prints_json(world, capsys,
                                                                         tmp_path):
    store, run_id = world["store"], world["run"]
    moved = pd.read_csv(io.BytesIO(loans_csv()), dtype=str).head(150)
    moved["annual_income"] = (moved["annual_income"].astype(int) * 2).astype(str)
    batch = moved.to_csv(index=False).encode()
    with pytest.raises(Refused):
        drift_check.ask(store, VISITOR, run_id, batch, "march.csv")
    asked = drift_check.ask(store, LOCAL, run_id, batch, "march.csv", requester="s1")
    assert asked.waiting and asked.job_id
    assert drain_jobs(store) == 1  # what a worker process does
    done = drift_check.poll(store, run_id, asked.key, asked.job_id)
    assert done.answer is not None and done.answer.report.drifted
    assert [c.name for c in done.answer.report.moved] == ["annual_income"]

    path = tmp_path / "march.csv"
    path.write_bytes(batch)
    home = str(world["home"])
    assert main(["--home", home, "drift", run_id, "--new", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cached"] and out["drifted"] and out["verdict"].startswith("Drift:")
    assert out["labels"]["rows"] == 150
    assert {c["name"]: c["moved"] for c in out["report"]["columns"]}["annual_income"]

    path.write_bytes(b"age;income\n1;2\n")
    assert main(["--home", home, "drift", run_id, "--new", str(path), "--json"]) == 2
    assert "Fix:" in capsys.readouterr().err
    assert main(["--home", home, "drift", "nope", "--new", str(path)]) == 2


def test_your_data_offers_the_check_for_a_finished_run_on_an_upload(world, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_WORKERS", "0")
    try:
        at = open_page("pages/your_data.py")
        assert "Check a new batch" in [h.value for h in at.subheader]
        picked = next(s for s in at.selectbox if s.label == "Finished run trained on it")
        assert picked.value == world["run"] and picked.options[0].startswith(world["run"])
        assert any(u.label.startswith("New rows") for u in at.get("file_uploader"))
    finally:
        shared._supervisor(str(world["home"].resolve())).stop()
        shared._supervisor.clear()
        shared._store.clear()
        shared._feed.clear()
