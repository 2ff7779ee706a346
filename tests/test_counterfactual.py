"""A run's own decisions and what would change them, on an uploaded CSV with a dollar column.

Checked against trusted references: the decisions the run stored when it finished (what
its card counts), the run's own decision rule fed the changed rows again, and the CSV.
"""
from __future__ import annotations

import io
import json
import os

import numpy as np
import pandas as pd
import pytest

from playground.cli.main import main
from playground.data import uploads
from playground.data.units import RowCodec
from playground.explain import counterfactual as CF
from playground.explain.subjects import ModelBank
from playground.runs.store import Store
from playground.runs.worker import drain_jobs
from playground.training.artifacts import load_predictions
from tests.run_support import train_now


def loans_csv(n: int = 500) -> bytes:
    rng = np.random.default_rng(5)
    rows = []
    for _ in range(n):
        income = int(rng.integers(18, 160)) * 1000
        amount = round(float(rng.uniform(1, 40)) * 1000, 2)
        age = int(rng.integers(19, 70))
        region = ("North", "South", "East")[int(rng.integers(0, 3))]
        gender = "F" if rng.random() < 0.5 else "M"
        score = income / 1000 - amount / 2000 + (5 if gender == "M" else 0) + rng.normal(0, 8)
        rows.append(f"{age},{income},{amount},{region},{gender},{'yes' if score > 60 else 'no'}")
    return ("age,annual_income,loan_amount,region,gender,approved\n"
            + "\n".join(rows) + "\n").encode()



@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("cf-home")
    old = os.environ.get("PLAYGROUND_HOME"), os.environ.get("PLAYGROUND_AUDITS")
    os.environ["PLAYGROUND_HOME"] = str(home)
    os.environ["PLAYGROUND_AUDITS"] = "off"  # the attacks are not what is tested here
    data = loans_csv()
    uploads.save(uploads.prepare(data, "loans.csv", "approved", "cf_loans"), home=home)
    store = Store(home)
    fair = train_now(store, dataset="cf_loans", model="mlp", epochs=4, sensitive="gender",
                     techniques={"fairness": {"constraint": "demographic_parity"}})
    plain = train_now(store, dataset="cf_loans", model="mlp", epochs=4)
    yield {"store": store, "fair": fair, "plain": plain, "home": home,
           "csv": pd.read_csv(io.BytesIO(data), dtype=str)}
    for name, value in zip(("PLAYGROUND_HOME", "PLAYGROUND_AUDITS"), old, strict=True):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def test_a_fairness_runs_decisions_are_its_stored_test_decisions(world):
    store, run_id = world["store"], world["fair"]
    bank = ModelBank(store)
    rule = bank.rule(run_id)
    data = bank.loaded(run_id).data
    stored = load_predictions(store, run_id)["y_pred"]
    assert rule.title  # it has a decision rule
    assert np.array_equal(rule.decide(data.X_test), stored)
    # One at a time too: each example meets its own coin and group.
    for i in range(0, len(stored), 37):
        assert rule.decide(data.X_test[i:i + 1], positions=[i])[0] == stored[i]
    # "got wrong N of M" counted from these decisions is the card's accuracy.
    right = (rule.stored() == data.y_test).mean()
    assert right == pytest.approx(store.get(run_id).metrics["accuracy"])
    # The thresholds really decide: the plain most-likely class differs somewhere.
    plain = bank.predict(run_id, "float", data.X_test).argmax(1)
    assert (plain != stored).any() or rule.deciders


def test_an_edit_in_dollars_is_decided_like_the_standardised_edit(world):
    bank = ModelBank(world["store"])
    for run_id in (world["fair"], world["plain"]):
        data = bank.loaded(run_id).data
        codec, rule = RowCodec(data), bank.rule(run_id)
        col = data.feature_names.index("annual_income")
        for i in range(0, 40, 7):
            x = data.X_test[i]
            in_dollars = codec.to_model(
                {"annual_income": codec.to_raw(x)["annual_income"] + 9000}, base=x)
            standardised = x.copy()
            standardised[col] += 9000 / data.scale_std[col]
            assert np.allclose(in_dollars, standardised, atol=1e-5)
            assert (rule.decide(in_dollars[None], positions=[i])[0]
                    == rule.decide(standardised[None], positions=[i])[0])
            # The displayed value is the CSV's.
            assert codec.format("annual_income", codec.to_raw(x)["annual_income"]).replace(
                ",", "").isdigit()


def test_every_counterfactual_flips_the_runs_own_decision_and_keeps_fixed_columns(world):
    store, run_id = world["store"], world["fair"]
    bank = ModelBank(store)
    data = bank.loaded(run_id).data
    codec, rule = RowCodec(data), bank.rule(run_id)
    assert CF.default_fixed(codec, data.sensitive) == ["age", "gender"]
    found_any = False
    for index in (0, 1, 2):
        fixed = ["age", "gender", "region"] if index == 2 else ["age", "gender"]
        answer = CF.find(bank, run_id, index, fixed)
        original = codec.to_raw(data.X_test[index])
        assert answer.decision == rule.stored()[index]
        for change in answer.changes:
            found_any = True
            assert not set(change.changes) & set(fixed)
            # Fed back to the run's own predict function with its decision rule.
            x = codec.to_model(change.row)
            decided = rule.decide(x[None], positions=[index])[0]
            assert decided == change.decision == answer.target != answer.decision
            # In uploaded units: each row reads back as itself, numbers in the CSV's
            # decimals, categories among the column's values.
            assert codec.to_raw(x) == pytest.approx(change.row, abs=0.006)
            for column, (was, now) in change.changes.items():
                assert original[column] == pytest.approx(was)
                c = codec.schema.get(column)
                if c.kind == "number":
                    assert round(float(now), c.decimals) == float(now)
                    lo, hi = codec.ranges[column]
                    assert lo - 0.01 <= float(now) <= hi + 0.01
                else:
                    assert now in c.categories
            assert CF.sentence(codec, change, data.class_names).startswith(
                data.class_names[answer.target] + " if ")
    assert found_any


def test_the_worker_job_keeps_the_answer_with_the_run_and_the_cli_reads_it(world, capsys):
    store, run_id = world["store"], world["plain"]
    cache = CF.CounterfactualCache(store)
    asked = CF.ask(store, cache, run_id, 3, ["age", "gender"], requester="s1")
    assert asked.waiting and asked.job_id
    assert drain_jobs(store) == 1  # what a worker process does
    done = CF.ask(store, cache, run_id, 3, ["age", "gender"], job_id=asked.job_id)
    assert done.answer is not None and not done.waiting
    path = cache.path(run_id, CF.cache_key(run_id, 3, ["age", "gender"], 4))
    assert path.exists() and path.parent.parent == store.artifact_dir(run_id)

    home = str(world["home"])
    assert main(["--home", home, "counterfactual", run_id, "--index", "3", "--fixed",
                 "age,gender", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cached"] and out["decision"] == done.answer.decision
    assert len(out["changes"]) == len(done.answer.changes)
    for change in out["changes"]:
        assert change["decision"] == out["target"] != out["decision"]
        assert not {"age", "gender"} & set(change["changes"])

    assert main(["--home", home, "explain", run_id, "--index", "3", "--method", "lime",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    data = ModelBank(store).loaded(run_id).data
    assert out["input"] == RowCodec(data).to_raw(data.X_test[3])
    assert out["predicted_class"] in (0, 1) and out["decision"] in (0, 1)
    assert len(out["methods"]["lime"]["attributions"]) == len(data.feature_names)


def test_the_explained_rows_read_back_as_the_csv_wrote_them(world):
    bank = ModelBank(world["store"])
    data = bank.loaded(world["plain"]).data
    codec, csv = RowCodec(data), world["csv"]
    values = {(float(r.annual_income), float(r.loan_amount), int(r.age), r.region, r.gender)
              for r in csv.itertuples()}
    frame = codec.frame(data.X_test[:30])
    for row in frame.itertuples():
        assert (row.annual_income, row.loan_amount, int(row.age), row.region,
                row.gender) in values
    labels = codec.input_labels(data.X_test[0])
    raw = codec.to_raw(data.X_test[0])
    assert f"annual_income = {codec.format('annual_income', raw['annual_income'])}" in labels
    assert any(label.startswith("region = ") for label in labels)
