"""Rows in the person's own units: the run's preprocessing, both ways, checked against the CSV."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from playground.data import uploads
from playground.data.base import _split
from playground.data.catalog import load_dataset
from playground.data.units import RowCodec, UnitsError


def loans_csv(n: int = 300) -> bytes:
    rng = np.random.default_rng(3)
    regions = np.array(["North", "South", "East", "West"])
    rows = []
    for _ in range(n):
        income = int(rng.integers(18, 160)) * 1000
        amount = round(float(rng.uniform(1, 40)) * 1000, 2)
        region = regions[rng.integers(0, 4)]
        gender = "F" if rng.random() < 0.5 else "M"
        job = f"job{int(rng.integers(0, 14))}"  # 14 values: numbered codes
        ok = "yes" if income / 1000 - amount / 2000 + rng.normal(0, 10) > 50 else "no"
        rows.append(f"{income},{amount},{region},{gender},{job},{ok}")
    return ("annual_income,loan_amount,region,gender,job,approved\n"
            + "\n".join(rows) + "\n").encode()


@pytest.fixture
def my_loans(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    data = loans_csv()
    uploads.save(uploads.prepare(data, "loans.csv", "approved", "my_loans"), home=tmp_path)
    return pd.read_csv(io.BytesIO(data), dtype=str), load_dataset("my_loans", seed=0)


def test_every_test_row_reads_back_as_the_csv_wrote_it(my_loans):
    csv, data = my_loans
    codec = RowCodec(data)
    # The test split's rows are the CSV's rows picked by the same seeded split.
    y = csv["approved"].map({"no": 0, "yes": 1}).to_numpy()
    _, _, _, _, test_rows, _ = _split(np.arange(len(csv)), y, 0)
    for x, row in zip(data.X_test, test_rows, strict=True):
        raw, want = codec.to_raw(x), csv.iloc[row]
        assert raw["annual_income"] == float(want["annual_income"])
        assert raw["loan_amount"] == pytest.approx(float(want["loan_amount"]), abs=0.005)
        for col in ("region", "gender", "job"):
            assert raw[col] == want[col]


def test_an_edit_in_dollars_is_the_standardised_edit_it_stands_for(my_loans):
    _, data = my_loans
    codec = RowCodec(data)
    x = data.X_test[0]
    edited = codec.to_model({"annual_income": codec.to_raw(x)["annual_income"] + 9000}, base=x)
    i = data.feature_names.index("annual_income")
    expected = x.copy()
    expected[i] += 9000 / data.scale_std[i]
    np.testing.assert_allclose(edited, expected, rtol=1e-5, atol=1e-5)
    # A category change moves exactly that column's 0/1 inputs, nothing else.
    region = codec.to_raw(x)["region"]
    other = next(r for r in ("North", "South", "East", "West") if r != region)
    moved = codec.to_model({"region": other}, base=x)
    changed = {data.feature_names[k] for k in np.flatnonzero(~np.isclose(moved, x, atol=1e-6))}
    assert changed == {f"region = {region}", f"region = {other}"}
    assert codec.to_raw(moved)["region"] == other


def test_values_a_column_cannot_take_are_refused_with_the_fix(my_loans):
    _, data = my_loans
    codec = RowCodec(data)
    with pytest.raises(UnitsError, match="takes a number"):
        codec.to_model({"annual_income": "a lot"})
    with pytest.raises(UnitsError, match="pick one of"):
        codec.to_model({"region": "Mars"})


def test_built_in_loans_speak_in_their_own_units():
    data = load_dataset("loans", seed=0)
    raw = RowCodec(data).to_raw(data.X_test[0])
    assert raw["group"] in ("A", "B") and 5 < raw["income (thousands)"] < 500
