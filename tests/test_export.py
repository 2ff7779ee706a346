"""Exports: the model zip's script reproduces the run's test accuracy from the exported
weights (run as a subprocess, outside the repo); the HTML report holds every selected run
and opens in Chromium with no network request at all; CSV and JSON carry the numbers; the
Compare page offers it all."""
from __future__ import annotations

import csv
import html
import io
import json
import os
import subprocess
import sys
import zipfile
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from safetensors.numpy import load_file

from playground.common.escape import md
from playground.results import export, ship
from playground.results.answers import answers
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_FLAGS, _require_browser

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Four real runs: three on breast cancer (binary: ROC curves) and one image network."""
    home = tmp_path_factory.mktemp("export") / "home"
    store = Store(home)
    settings = [
        dict(dataset="breast_cancer", model="mlp", epochs=2, width=16, train_fraction=0.5),
        dict(dataset="breast_cancer", model="mlp", epochs=2, width=16, quantize="int8"),
        dict(dataset="breast_cancer", model="mlp", epochs=2, width=16, prune=0.6,
             prune_fine_tune=0, dp_noise=1.0),
        dict(dataset="digits", model="cnn", epochs=1, dropout=0.2),
    ]
    ids = []
    for values in settings:
        run_id = store.enqueue(make_config(**values))
        assert store.claim_run(run_id, os.getpid())
        assert execute(store, store.get(run_id)) == "finished", store.get(run_id).error
        ids.append(run_id)
    return store, ids


# -- the model zip --------------------------------------------------------------------

@pytest.mark.parametrize("which", [0, 1, 2, 3])
def test_exported_script_reproduces_the_test_accuracy(trained, tmp_path, which):
    store, ids = trained
    run = store.get(ids[which])
    with zipfile.ZipFile(io.BytesIO(export.model_zip(store, run.id))) as z:
        assert sorted(z.namelist()) == ["README.txt", "config.json", "evaluate.py",
                                        "weights.safetensors"]
        z.extractall(tmp_path / "model")
    folder = tmp_path / "model"
    exported = json.loads((folder / "config.json").read_text())
    assert exported["run_id"] == run.id and exported["config"] == run.config.model_dump()
    # The weights are the run's own, byte for byte in value.
    mine = load_file(str(folder / "weights.safetensors"))
    original = load_file(str(store.artifact_dir(run.id) / "weights.safetensors"))
    assert mine.keys() == original.keys()
    assert all((mine[k] == original[k]).all() for k in mine)

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PLAYGROUND_HOME")}
    result = subprocess.run([sys.executable, "evaluate.py", "--repo", str(ROOT)],
                            cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["run_id"] == run.id
    assert data["test_examples"] == run.metrics["test_examples"]
    # Same split, same weights, same float model: the very same accuracy (a run trained on
    # a GPU scored its test set there; float differences may flip one borderline example).
    one = 1 / run.metrics["test_examples"] if "cuda" in (run.device or "").lower() else 1e-12
    assert data["test_accuracy"] == pytest.approx(run.metrics["accuracy"], abs=one)
    assert data["recorded_test_accuracy"] == run.metrics["accuracy"]
    if "quantized" in run.metrics:  # the int8 model, rebuilt and quantized the same way
        assert data["quantized_test_accuracy"] == pytest.approx(
            run.metrics["quantized"]["accuracy"], abs=one)
    else:
        assert "quantized_test_accuracy" not in data


def test_exported_script_without_the_library_says_how_to_get_it(trained, tmp_path):
    store, ids = trained
    with zipfile.ZipFile(io.BytesIO(export.model_zip(store, ids[0]))) as z:
        z.extractall(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PLAYGROUND_REPO")}
    result = subprocess.run([sys.executable, "evaluate.py", "--repo", str(tmp_path)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "playground" in result.stderr


def test_model_zip_refuses_what_has_no_model(trained):
    store, _ = trained
    with pytest.raises(ValueError, match="no run has this id"):
        export.model_zip(store, "nope")
    queued = store.enqueue(make_config(dataset="wine", model="logreg", epochs=1))
    try:
        with pytest.raises(ValueError, match="queued; only finished runs"):
            export.model_zip(store, queued)
    finally:
        store.delete(queued)


# -- CSV and JSON -----------------------------------------------------------------------

def test_csv_and_json_carry_every_run_and_its_numbers(trained):
    store, ids = trained
    runs = [store.get(i) for i in ids]
    table = pd.read_csv(io.StringIO(export.runs_csv(runs)))
    assert list(table["run_id"]) == ids
    for run, (_, row) in zip(runs, table.iterrows(), strict=True):
        assert row["accuracy"] == pytest.approx(run.metrics["accuracy"])
        assert row["dataset"] == run.config.dataset and row["epochs"] == run.config.epochs
    quantized = table.set_index("run_id").loc[ids[1]]
    assert quantized["quantize"] == "int8"
    assert quantized["deployed_size_bytes"] == runs[1].metrics["quantized"]["size_bytes"]
    assert table.set_index("run_id").loc[ids[2], "epsilon"] == pytest.approx(
        runs[2].metrics["epsilon"])

    data = json.loads(export.runs_json(runs, store))
    assert [d["run_id"] for d in data] == ids
    assert all(len(d["epochs"]) == store.get(d["run_id"]).config.epochs for d in data)
    assert data[0]["config"] == runs[0].config.model_dump()


# -- the HTML report --------------------------------------------------------------------

class _Fetches(HTMLParser):
    """Every URL an element would load or link to (src, href, srcset, data, poster...)."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action", "xlink:href") \
                    and value:
                self.urls.append(value)


def _report(trained, which=(0, 1, 2)):
    store, ids = trained
    runs = [store.get(ids[i]) for i in which]
    return runs, export.html_report(store, runs, "Test report")


def test_report_holds_every_run_and_links_to_nothing_outside(trained):
    runs, text = _report(trained, (0, 1, 2, 3))
    for run in runs:
        assert text.count(run.id) >= 3  # table column, config, charts
        assert run.config.model_dump_json(indent=1).replace('"', "&quot;") in text
    parser = _Fetches()
    parser.feed(text)
    assert parser.urls == []
    assert "<link" not in text and "@import" not in text
    assert export.vega_bundle() is not None, "Streamlit's vega-embed bundle was not found"


def test_report_opens_offline_in_chromium_with_every_chart_drawn(trained, tmp_path):
    sync_api = _require_browser()
    runs, text = _report(trained)
    path = tmp_path / "report.html"
    path.write_text(text)
    specs = json.loads(text.split('id="chart-specs">', 1)[1].split("</script>", 1)[0]
                       .replace("<\\/", "</"))
    requests, errors = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        context = browser.new_context(offline=True, viewport={"width": 1300, "height": 1000})
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-charts-ready]", timeout=60_000)
        drawn = page.locator(".vega-embed svg").count()
        body = page.inner_text("body")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert errors == []
    outside = [u for u in requests if not u.startswith(("file:", "blob:", "data:"))]
    assert outside == [], outside
    assert requests[0] == path.as_uri()
    assert drawn == len(specs) >= 10
    for run in runs:
        assert run.id in body
    assert "ROC curves" in body and "Trade-offs" in body and "What changed" in body


# -- the Compare page --------------------------------------------------------------------

def test_compare_page_offers_tradeoffs_differences_and_exports(trained, monkeypatch, tmp_path):
    from streamlit.testing.v1 import AppTest

    store, ids = trained
    monkeypatch.setenv("PLAYGROUND_HOME", str(store.home))
    monkeypatch.setenv("PLAYGROUND_WORKERS", "0")
    from components.base import services as shared

    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.session_state["compare_runs"] = [ids[0], ids[1]]
        at.switch_page("pages/compare.py").run()
        assert not at.exception, [e.value for e in at.exception]
        markdown = " ".join(m.value for m in at.markdown)
        assert md("Quantization switched on (stored as: 8-bit whole numbers (int8))") in markdown
        specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
        titles = {s.get("title") if isinstance(s.get("title"), str)
                  else (s.get("title") or {}).get("text") for s in specs}
        assert {"accuracy against weight size (bytes)", "accuracy against latency per "
                "example (ms)", "ROC curve (higher and further left is better)"} <= titles
        buttons = {b.proto.label for b in at.get("download_button")}
        assert {"HTML report", "Table (CSV)", "Everything (JSON)", f"Model {ids[0]} (zip)"} \
            <= buttons
        # "Clone with one change": Train opens set up exactly like that run.
        at.button(key=f"compare_clone_{ids[1]}").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.title[0].value == "Train a model"
        assert at.selectbox(key="train_dataset").value == "breast_cancer"
        assert at.selectbox(key="train_model_tabular").value == "mlp"
        assert at.slider(key="train_epochs").value == 2
        assert at.slider(key="train_width_mlp").value == 16
        assert at.toggle(key="train_tech_quantization").value is True
        assert at.toggle(key="train_tech_dropout").value is False
        assert any(ids[1] in i.value for i in at.info)
    finally:
        shared._supervisor.clear()
        shared._store.clear()


# -- the business answers ---------------------------------------------------------------

@pytest.fixture(scope="module")
def loans(tmp_path_factory):
    """Two runs on loan decisions with a sensitive column, the second with privacy noise."""
    store = Store(tmp_path_factory.mktemp("export_loans") / "home")
    ids = []
    for values in (dict(dataset="loans", model="mlp", epochs=3),
                   dict(dataset="loans", model="mlp", epochs=3, dp_epsilon=3.0)):
        run_id = store.enqueue(make_config(**values))
        assert store.claim_run(run_id, os.getpid())
        assert execute(store, store.get(run_id)) == "finished", store.get(run_id).error
        ids.append(run_id)
    return store, [store.get(i) for i in ids]


def test_html_report_opens_with_the_summary_and_the_per_group_table(loans):
    store, runs = loans
    limits = ship.parse("epsilon<=5")
    text = export.html_report(store, runs, "Loans", limits)
    said = answers(store, runs, limits)
    summary, settings = text.index("<h2>Summary</h2>"), text.index("<h2>Settings</h2>")
    assert summary < text.index("Group by group") < settings
    # The pick: the private run is the only one with ε, so it ships; the plain one is out.
    assert said.pick.chosen.id == runs[1].id
    assert html.escape(said.pick.summary(said.names)) in text[summary:settings]
    assert "no privacy guarantee" in text[summary:settings]
    # The per-group table holds each group's approval rate as the audit measured it.
    f = runs[0].metrics["fairness"]
    for group, v in f["by_group"].items():
        assert f"<th>{html.escape(said.names[runs[0].id])}</th><td>{f['sensitive']}</td>" \
               f"<td>{group}</td><td>{v['selection_rate']:.1%}</td>" in text
    # Narrative sentences and percentages, never a bare 0.8633.
    for line in said.stories[runs[0].id]:
        assert html.escape(line) in text[summary:settings]
    assert f"{runs[0].metrics['accuracy']:.1%}" in text[summary:settings]
    assert str(runs[0].metrics["accuracy"]) not in text[summary:settings]
    assert said.luck_lines()[0].split(":")[0] in ("within luck", "beyond luck")


def test_csv_and_json_carry_the_same_business_fields(loans):
    store, runs = loans
    limits = ship.parse("epsilon<=5")
    table = pd.read_csv(io.StringIO(export.runs_csv(runs, store, limits)))
    data = json.loads(export.runs_json(runs, store, limits))
    f = runs[0].metrics["fairness"]
    for (_, row), item in zip(table.iterrows(), data, strict=True):
        answers_ = item["answers"]
        for key in ("name", "accuracy_percent", "fairness_gap_points", "ship", "summary"):
            assert str(row[key]) == str(answers_[key]), key
        for group in f["by_group"]:
            assert f"approval_rate_percent: {group}" in table.columns
    assert table.loc[0, "fairness_gap_points"] == round(
        f["demographic_parity_difference"] * 100, 1)
    assert table.loc[1, "privacy_epsilon"] == pytest.approx(runs[1].metrics["epsilon"])
    assert table.loc[1, "ship"] == "ship this one"
    assert table.loc[1, "luck_against_first_run"].split(":")[0] in ("within luck", "beyond luck")


def test_csv_cells_that_look_like_formulas_are_neutralised(loans):
    store, runs = loans
    hostile = [replace(run, owner=owner) for run, owner in
               zip(runs, ["=HYPERLINK(\"http://x\")", "@SUM(A1)"], strict=True)]
    text = export.runs_csv(hostile, store)
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
            assert not (cell.startswith("-") and not _is_number(cell)), cell
    table = pd.read_csv(io.StringIO(text))
    assert list(table["owner"]) == ["'=HYPERLINK(\"http://x\")", "'@SUM(A1)"]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
