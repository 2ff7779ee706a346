"""Fairness: the audit's numbers are fairlearn's own, recomputed from a run's stored test
predictions and groups; post-processing narrows the gap it is asked to; uploads name their
sensitive column; a column that can't be one is refused with the columns that can."""
from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    selection_rate,
    true_positive_rate,
)
from safetensors.numpy import load_file

from playground.common.paths import PREDICTIONS_FILE
from playground.data.views import run_data
from playground.results.narrative import run_story
from playground.results.pareto import front_rows
from playground.results.shipped import run_point
from playground.runs.store import Store
from playground.training.config import ConfigError, make_config
from tests.test_cli import cli, one_json_object

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")


def stored(home, run: dict):
    """The run's saved test predictions and the test groups its data view gives."""
    saved = load_file(str(Store(home).artifact_dir(run["run_id"]) / PREDICTIONS_FILE))
    data = run_data(make_config(**run["config"]))
    assert np.array_equal(saved["y_true"], data.y_test)  # the same examples, in order
    return saved["y_true"], saved["y_pred"], data.groups[2]


def test_loans_audit_is_fairlearns_and_demographic_parity_narrows_the_gap(tmp_path):
    home = tmp_path / "home"
    runs = {}
    for name, extra in (("plain", ()), ("fair", ("--fairness", "demographic_parity"))):
        result = cli("train", "--dataset", "loans", "--model", "mlp", "--seed", "0",
                     "--epochs", "5", *extra, "--json", home=home)
        assert result.returncode == 0, result.stderr
        runs[name] = one_json_object(result.stdout)
        assert runs[name]["status"] == "finished", runs[name]["error"]
    for run in runs.values():
        f = run["metrics"]["fairness"]
        y_true, y_pred, groups = stored(home, run)
        assert f["sensitive"] == "group" and set(f["by_group"]) == {"group A", "group B"}
        assert f["demographic_parity_difference"] == pytest.approx(
            demographic_parity_difference(y_true, y_pred, sensitive_features=groups))
        assert f["equalized_odds_difference"] == pytest.approx(
            equalized_odds_difference(y_true, y_pred, sensitive_features=groups))
        frame = MetricFrame(metrics={"selection_rate": selection_rate,
                                     "true_positive_rate": true_positive_rate},
                            y_true=y_true, y_pred=y_pred, sensitive_features=groups)
        for group, row in frame.by_group.iterrows():
            assert f["by_group"][group]["selection_rate"] == pytest.approx(row["selection_rate"])
            assert f["by_group"][group]["true_positive_rate"] == pytest.approx(
                row["true_positive_rate"])
            assert f["by_group"][group]["count"] == int((groups == group).sum())
        # The run's accuracy is that of the stored (for "fair": the mitigated) decisions.
        assert run["metrics"]["accuracy"] == pytest.approx(float((y_true == y_pred).mean()))
    plain, fair = (runs[n]["metrics"]["fairness"] for n in ("plain", "fair"))
    assert fair["demographic_parity_difference"] < plain["demographic_parity_difference"]
    # Before the thresholds, the fair run's network decided exactly as the plain run's (the
    # same seed trains the same weights): its "before" is the plain run's audit.
    before = fair["before_mitigation"]
    assert before["demographic_parity_difference"] == pytest.approx(
        plain["demographic_parity_difference"])
    assert before["accuracy"] == pytest.approx(runs["plain"]["metrics"]["accuracy"])
    store = Store(home)
    # Compare's fairness axis: the mitigated run has the smaller gap at its own accuracy.
    points = [run_point(store.get(runs[n]["run_id"])) for n in ("plain", "fair")]
    rows = front_rows(points, "dp_difference")
    assert [r["cost"] for r in rows] == [plain["demographic_parity_difference"],
                                         fair["demographic_parity_difference"]]
    assert rows[1]["on_front"]
    story = " ".join(run_story(store, store.get(runs["fair"]["run_id"])))
    assert "Fairness post-processing (demographic parity)" in story
    assert "Group B was approved" in story


CSV = "age,sex,income,approved\n" + "\n".join(
    f"{20 + i % 45},{'F' if i % 3 == 0 else 'M'},{30 + (i * 7) % 50},"
    f"{'yes' if (i * 7) % 50 > 20 else 'no'}" for i in range(240))


def test_an_uploaded_table_trains_with_its_sensitive_column_and_bad_ones_are_refused(
        tmp_path, monkeypatch):
    home = tmp_path / "home"
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    result = cli("train", "--dataset", str(path), "--target", "approved", "--sensitive", "sex",
                 "--model", "logreg", "--epochs", "2", "--json", home=home)
    assert result.returncode == 0, result.stderr
    run = one_json_object(result.stdout)
    monkeypatch.setenv("PLAYGROUND_HOME", str(home))  # where the upload is kept
    f = run["metrics"]["fairness"]
    assert f["sensitive"] == "sex" and set(f["by_group"]) == {"F", "M"}
    y_true, y_pred, groups = stored(home, run)
    assert f["demographic_parity_difference"] == pytest.approx(
        demographic_parity_difference(y_true, y_pred, sensitive_features=groups))
    # The groups line up with the rows: the encoded "sex = M" input says the same.
    data = run_data(make_config(**run["config"]))
    column = data.feature_names.index("sex = M")
    for X, g in zip((data.X_train, data.X_val, data.X_test), data.groups, strict=True):
        assert np.array_equal(X[:, column] > 0, g == "M")

    name = run["config"]["dataset"]
    for column, words in (("sexx", "no column 'sexx'"), ("age", "45 different values"),
                          ("approved", "the column to predict")):
        with pytest.raises(ConfigError) as refused:
            make_config(dataset=name, model="logreg", sensitive=column)
        assert words in str(refused.value) and "'sex'" in str(refused.value)
    with pytest.raises(ConfigError, match="needs a column that says which group"):
        make_config(dataset=name, model="logreg", fairness="equalized_odds")
    with pytest.raises(ConfigError, match="known columns: 'group'"):
        make_config(dataset="loans", model="mlp", sensitive="race")


def test_your_data_stores_a_sensitive_column_that_train_then_offers(app_home):
    from playground.data import uploads
    from tests.test_pages import open_app
    from tests.test_uploads import checked

    at = open_app("pages/your_data.py")
    at.file_uploader(key="your_data_file").set_value(("people.csv", CSV.encode(),
                                                      "text/csv")).run()
    at = checked(at, app_home)  # a worker checks the file
    assert not at.exception, [e.value for e in at.exception]
    picker = at.selectbox(key="your_data_sensitive")
    # Every input column is offered; why one can't name groups is said once it is picked.
    assert picker.options == ["none", "sex", "age", "income"]  # approved is the target
    assert not any("different values" in w.value for w in at.warning)
    picker.set_value("age").run()
    assert any("age can't name groups" in w.value and "45 different values" in w.value
               for w in at.warning)
    at.selectbox(key="your_data_sensitive").set_value("sex").run()
    at.text_input(key="your_data_name_people.csv").set_value("people").run()
    at.button(key="your_data_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [m["sensitive"] for m in uploads.manifests(app_home)] == ["sex"]
    # Saving also queued a first run on it (and opened Runs); Train offers the column.
    assert [r.config.dataset for r in Store(app_home).list_runs()] == ["people"]
    at = open_app("pages/train.py")
    at.selectbox(key="train_dataset").set_value("people").run()
    control = at.selectbox(key="train_sensitive")
    assert control.options == ["sex (this dataset's own)"] and "Glossary" in control.help
    # The generated loans say how their bias was put in, where the dataset is chosen.
    at = open_app("pages/train.py")  # (after switch_page, a rerun would rerun Your data)
    at.selectbox(key="train_dataset").set_value("loans").run()
    assert any("were refused anyway" in c.value for c in at.caption)
    assert at.selectbox(key="train_sensitive").options == ["group (this dataset's own)"]
    at.selectbox(key="train_dataset").set_value("wine").run()  # no column names groups
    assert "train_sensitive" not in [s.key for s in at.selectbox]
