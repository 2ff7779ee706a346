"""The plain verdict on one input's explanations, checked on constructed attributions whose
answer is known, and on an uploaded table read back in the person's units."""
from __future__ import annotations

import numpy as np
import pytest

from playground.data import uploads
from playground.data.catalog import load_dataset
from playground.data.units import RowCodec
from playground.explain.verdict import (
    MethodMap,
    TableColumn,
    picture_overlap,
    picture_verdict,
    table_columns,
    table_verdict,
    where,
)


def loans_csv(n: int = 200) -> bytes:
    rng = np.random.default_rng(3)
    rows = []
    for _ in range(n):
        income = int(rng.integers(18, 160)) * 1000
        amount = round(float(rng.uniform(1, 40)) * 1000, 2)
        region = ["North", "South", "East", "West"][rng.integers(0, 4)]
        gender = "F" if rng.random() < 0.5 else "M"
        ok = "yes" if income / 1000 - amount / 2000 + rng.normal(0, 10) > 50 else "no"
        rows.append(f"{income},{amount},{region},{gender},{ok}")
    return ("annual_income,loan_amount,region,gender,approved\n" + "\n".join(rows)
            + "\n").encode()

COLUMNS = [TableColumn("annual_income", (0,), "42,000"),
           TableColumn("loan_amount", (1,), "12,000"),
           TableColumn("region", (2, 3, 4), "West")]


def table_map(title: str, values, signed: bool = True) -> MethodMap:
    return MethodMap(title, np.asarray(values, dtype=float), signed)


def test_methods_that_pick_the_same_column_and_way_agree_in_one_sentence():
    maps = [table_map("LIME", [0.1, -0.9, 0.2, 0, 0]),
            table_map("SHAP", [0.3, -1.5, 0.1, 0.1, 0]),
            table_map("Integrated Gradients", [-0.2, -0.7, 0, 0, 0.3])]
    v = table_verdict(maps, COLUMNS, "approved")
    assert v.agree is True
    assert v.sentence == ("All three methods say loan_amount (12,000) counted most against "
                          "“approved”.")
    assert v.top == {"LIME": "loan_amount", "SHAP": "loan_amount",
                     "Integrated Gradients": "loan_amount"}


def test_a_positive_top_column_counts_towards_the_class():
    v = table_verdict([table_map("LIME", [2.0, 0.5, 0, 0, 0]),
                       table_map("SHAP", [1.0, -0.2, 0, 0, 0])], COLUMNS, "approved")
    assert v.sentence == ("Both methods say annual_income (42,000) counted most towards "
                          "“approved”.")


def test_disagreement_names_who_says_what_and_asks_for_care():
    maps = [table_map("LIME", [0.1, -0.9, 0, 0, 0]),
            table_map("SHAP", [1.2, -0.5, 0, 0, 0]),
            table_map("Integrated Gradients", [0.8, 0.1, 0, 0, 0])]
    v = table_verdict(maps, COLUMNS, "approved")
    assert v.agree is False
    assert v.sentence == ("The methods disagree: SHAP and Integrated Gradients say "
                          "annual_income, LIME says loan_amount; treat this with care.")


def test_the_same_column_pushing_opposite_ways_is_a_disagreement():
    v = table_verdict([table_map("LIME", [0, 0.9, 0, 0, 0]),
                       table_map("SHAP", [0, -0.8, 0, 0, 0])], COLUMNS, "approved")
    assert v.agree is False
    assert "loan_amount (12,000) counted most but not on which way" in v.sentence
    assert "LIME says towards “approved”, SHAP against" in v.sentence


def test_a_categorys_inputs_add_up_to_its_column():
    # No single region input beats annual_income, their sum does.
    v = table_verdict([table_map("SHAP", [0.5, 0.1, 0.3, 0.3, 0.05])], COLUMNS, "approved")
    assert v.top == {"SHAP": "region"}
    assert v.sentence == "SHAP says region (West) counted most towards “approved”."
    assert v.agree is None


def test_a_method_without_sign_joins_on_the_column_but_not_the_way():
    v = table_verdict([table_map("Saliency", [0.1, 0.9, 0, 0, 0], signed=False),
                       table_map("SHAP", [0.1, -0.8, 0, 0, 0])], COLUMNS, "approved")
    assert v.sentence == ("Both methods say loan_amount (12,000) counted most against "
                          "“approved”.")
    only = table_verdict([table_map("Saliency", [0.1, 0.9, 0, 0, 0], signed=False)],
                         COLUMNS, "approved")
    assert only.sentence.endswith("counted most (it shows size, not direction).")


def test_checks_come_as_details_with_their_meaning():
    maps = [MethodMap("LIME", np.array([0, 1.0, 0, 0, 0]), True, "local fit R² 0.89",
                      "how closely the stand-in follows the model")]
    v = table_verdict(maps, COLUMNS, "approved")
    assert [d.to_json() for d in v.details] == [{
        "method": "LIME", "check": "local fit R² 0.89",
        "meaning": "how closely the stand-in follows the model"}]


def test_an_uploaded_rows_values_are_named_as_the_csv_wrote_them(tmp_path, monkeypatch):
    monkeypatch.setenv("PLAYGROUND_HOME", str(tmp_path))
    uploads.save(uploads.prepare(loans_csv(), "loans.csv", "approved", "my_loans"),
                 home=tmp_path)
    data = load_dataset("my_loans", seed=0)
    x = data.X_test[3]
    raw = RowCodec(data).to_raw(x)
    columns = {c.name: c for c in table_columns(data, x)}
    assert list(columns) == ["annual_income", "loan_amount", "region", "gender"]
    assert columns["annual_income"].value == f"{raw['annual_income']:,.0f}"
    assert columns["region"].value == raw["region"]
    # An attribution on one region input is the region column's, named with its value.
    values = np.zeros(data.n_features)
    values[columns["region"].features[-1]] = -2.0
    v = table_verdict([MethodMap("SHAP", values)], list(columns.values()), "yes")
    assert v.sentence == f"SHAP says region ({raw['region']}) counted most against “yes”."


# -- pictures -----------------------------------------------------------------------------

def blob(rows: slice, cols: slice, size: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.uniform(0, 0.01, (1, size, size))
    m[0, rows, cols] = rng.uniform(1, 2, m[0, rows, cols].shape)
    return m


@pytest.mark.parametrize(("rows", "cols", "words"), [
    (slice(0, 3), slice(0, 8), "the upper half"),
    (slice(5, 8), slice(0, 8), "the lower half"),
    (slice(0, 8), slice(5, 8), "the right half"),
    (slice(0, 3), slice(0, 3), "the upper left"),
    (slice(5, 8), slice(5, 8), "the lower right"),
    (slice(3, 5), slice(3, 5), "the centre"),
])
def test_where_the_strong_pixels_gather_is_said_in_words(rows, cols, words):
    assert where(blob(rows, cols)) == words


def test_pixels_spread_over_the_picture_have_no_place():
    checker = np.indices((8, 8)).sum(axis=0) % 2 == 0
    assert where(checker.astype(float)[None]) is None


def test_methods_pointing_to_one_part_agree_and_the_overlap_is_given():
    maps = [MethodMap(t, blob(slice(0, 3), slice(0, 8), seed=s))
            for s, t in enumerate(["LIME", "SHAP", "Occlusion"])]
    v = picture_verdict(maps, "7")
    overlap = picture_overlap(maps)
    assert v.agree is True
    assert v.sentence == ("All three methods say the upper half of the picture mattered most "
                          f"for “7” (overlap {overlap:.1f}).")
    assert any(d.check == f"overlap {overlap:.1f}" for d in v.details)


def test_methods_pointing_to_different_parts_disagree():
    maps = [MethodMap("LIME", blob(slice(0, 3), slice(0, 8))),
            MethodMap("SHAP", blob(slice(5, 8), slice(0, 8)))]
    v = picture_verdict(maps, "7")
    assert v.agree is False
    assert picture_overlap(maps) == 0.0
    assert v.sentence == ("The methods disagree on which pixels mattered (overlap 0.0): LIME "
                          "points to the upper half, SHAP points to the lower half; treat "
                          "this with care.")


def test_the_same_scattered_pixels_agree_by_overlap_without_a_place():
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 1, (1, 8, 8))
    maps = [MethodMap("LIME", base), MethodMap("SHAP", base * 2 + 0.001)]
    v = picture_verdict(maps, "3")
    assert picture_overlap(maps) == 1.0
    assert v.agree is True and "(overlap 1.0)" in v.sentence
