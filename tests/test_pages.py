"""Every page through Streamlit's AppTest: the real app.py, pages and components.

PLAYGROUND_WORKERS=0 makes the app's supervisor start no workers, so runs stay where a
test puts them; finished and failed runs are trained in this process with the same
`execute` the workers use. Each test has its own PLAYGROUND_HOME, because the app caches
its Store per home path.

Fragments with run_every only ask the browser to rerun them later; AppTest has no browser,
so a fragment runs once, inline, with the rest of the script. The live polling itself is
covered by tests/test_browser.py.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from components.base.format import human_bytes, percent
from models.base import all_model_infos, model_info
from playground.common.escape import md
from playground.data.catalog import dataset_info
from playground.results import ship
from playground.results.answers import unique_labels
from playground.results.pareto import COSTS, flat_words
from playground.results.shipped import run_point
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config
from playground.training.metrics import SIZE
from tests.app_support import open_page

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
QUICK = dict(dataset="wine", model="logreg", epochs=3)


@pytest.fixture
def home(app_home) -> Path:
    return app_home


@pytest.fixture
def store(home) -> Store:
    return Store(home)


def open_app(page: str = "pages/train.py") -> AppTest:
    # Opened directly (a deep link): the default page, Home, would queue its story.
    at = open_page(page)
    # Every page runs inside app.py's shell: the sidebar with the device and the queue
    # (Runs shows the queue in its own live section instead).
    assert "Trains on" in [c.value for c in at.sidebar.caption]
    assert ("waiting" in sidebar_text(at)) == (page != "pages/runs.py")
    return at


def train_now(store: Store, **values) -> str:
    """Queue a run and train it here, as a worker would; return its id."""
    run_id = store.enqueue(make_config(**values))
    run = store.claim(os.getpid())
    assert run is not None and run.id == run_id
    execute(store, run)
    return run_id


def charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def page_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.main.markdown)


def sidebar_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


def test_deep_link_on_a_fresh_server_runs_inside_the_app(home):
    # Switching before the first run is a first visit to /runs: Streamlit starts in its
    # legacy pages/ mode and runs pages/runs.py alone; the page's app_shell_guard() must
    # still give it the app's shell (the sidebar, the workers' supervisor).
    at = AppTest.from_file(str(APP), default_timeout=60).switch_page("pages/runs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Runs"
    # The shell's sidebar: the device (Runs shows the queue in its own live section).
    assert "Trains on" in [c.value for c in at.sidebar.caption]
    assert "CPU" in sidebar_text(at) or "GPU" in sidebar_text(at)


def test_a_click_to_another_page_survives_the_rerun_that_ends_polling():
    # Streamlit folds a fragment's st.rerun() into a pending page switch and the newer
    # request wins, so end_polling() must not ask again while a switch is pending.
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

    from components.base.polling import rerun_pending

    requests = ScriptRequests()
    assert not rerun_pending(requests)
    requests.request_rerun(RerunData(page_script_hash="compare"))
    assert rerun_pending(requests)
    folded = ScriptRequests()
    folded.request_rerun(RerunData(page_script_hash="compare"))
    folded.request_rerun(RerunData(page_script_hash="runs"))  # what st.rerun() would add
    assert folded.on_scriptrunner_yield().rerun_data.page_script_hash == "runs"
    assert requests.on_scriptrunner_yield().rerun_data.page_script_hash == "compare"


def test_end_polling_leaves_a_pending_page_switch_alone(monkeypatch):
    import streamlit as st
    from streamlit.runtime import scriptrunner
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

    from components.base.polling import end_polling

    class Ctx:
        script_requests = ScriptRequests()

    asked = []
    monkeypatch.setattr(scriptrunner, "get_script_run_ctx", lambda: Ctx)
    monkeypatch.setattr(st, "rerun", lambda: asked.append("rerun"))
    end_polling()
    assert asked == ["rerun"]  # nothing pending: rerun to stop the polling
    Ctx.script_requests.request_rerun(RerunData(page_script_hash="compare"))
    end_polling()
    assert asked == ["rerun"]  # the click's page switch goes ahead alone


# -- Train ---------------------------------------------------------------------------


def test_train_page_renders_its_controls(home):
    at = open_app()

    assert at.title[0].value == "Train a model"
    dataset = at.selectbox(key="train_dataset")
    assert dataset.value == "digits"
    # A first visit shows simple mode: the data, the model in words, the trade-offs, and the
    # Train button; "All settings" shows every control.
    assert at.toggle(key="train_all_settings").value is False
    assert "train_epochs" not in [s.key for s in at.slider]
    assert at.button(key="train_submit").label == "Train"
    at.toggle(key="train_all_settings").set_value(True).run()
    assert not at.exception
    kind = dataset_info(dataset.value).kind
    model = at.selectbox(key=f"train_model_{kind}")
    offered = [m.title for m in all_model_infos() if kind in m.kinds]
    assert model.options == offered
    assert at.slider(key="train_epochs") is not None
    # One switch per registered technique that suits images, all off at first.
    toggles = {t.key: t.value for t in at.toggle if t.key.startswith("train_tech_")}
    assert toggles and not any(toggles.values())
    assert "train_tech_dropout" in toggles and "train_tech_dp" in toggles
    for key in ("train_batch_size", f"train_lr_{model.value}"):
        assert at.select_slider(key=key) is not None
    assert at.number_input(key="train_seed").value == 0
    assert at.button(key="train_submit").label == "Train"
    # The data preview: digits are pictures, plus a class balance chart.
    assert len(at.image) == 1
    assert len(charts(at)) == 1
    assert "training" in sidebar_text(at) and "waiting" in sidebar_text(at)


def test_tabular_dataset_offers_no_image_model(home):
    at = open_app()
    at.toggle(key="train_all_settings").set_value(True).run()
    at.selectbox(key="train_dataset").set_value("wine").run()
    assert not at.exception

    model = at.selectbox(key="train_model_tabular")
    assert model_info("cnn").title not in model.options
    assert model.options == [m.title for m in all_model_infos() if "tabular" in m.kinds]
    assert model.value == "mlp"
    # MLP has width and depth; tables get no noise slider and a table preview.
    assert at.slider(key="train_width_mlp") is not None
    assert "train_noise" not in [s.key for s in at.slider]
    assert len(at.dataframe) == 1
    assert len(at.image) == 0


def test_points_dataset_offers_noise(home):
    at = open_app()
    at.toggle(key="train_all_settings").set_value(True).run()
    at.selectbox(key="train_dataset").set_value("moons").run()
    assert not at.exception
    assert at.slider(key="train_noise").value == make_config(dataset="moons",
                                                             model="mlp").noise
    assert len(charts(at)) == 2  # the points and the class balance


def test_train_button_queues_the_run_shown_in_the_store(home, store):
    at = open_app()
    assert store.list_runs() == []

    at.button(key="train_submit").click().run()
    assert not at.exception

    runs = store.list_runs()
    assert len(runs) == 1
    run = runs[0]
    assert run.status == "queued"  # no workers in this test
    assert run.config.dataset == at.selectbox(key="train_dataset").value
    assert run.config == make_config(dataset=run.config.dataset)  # simple mode: as it comes
    assert len(at.success) == 1
    assert run.id in at.success[0].value and run.config.label() in at.success[0].value
    assert len(at.error) == 0

    # The chosen settings are what gets queued.
    at.toggle(key="train_all_settings").set_value(True).run()
    at.selectbox(key="train_dataset").set_value("wine").run()
    at.selectbox(key="train_model_tabular").set_value("logreg")
    at.slider(key="train_epochs").set_value(3)
    at.button(key="train_submit").click().run()
    assert not at.exception
    newest = store.list_runs()[0]
    assert len(store.list_runs()) == 2
    assert (newest.config.dataset, newest.config.model, newest.config.epochs) == (
        "wine", "logreg", 3)
    assert newest.id in at.success[0].value

    # The sidebar counts the waiting runs.
    at.run()
    assert "**2** waiting" in sidebar_text(at)


# -- Runs ----------------------------------------------------------------------------


def test_runs_page_without_runs_says_so(home):
    at = open_app("pages/runs.py")
    assert at.title[0].value == "Runs"
    assert len(at.info) == 1
    assert "No runs yet" in at.info[0].value
    assert len(at.metric) == 0


def test_runs_page_shows_a_finished_run(home, store):
    run_id = train_now(store, **QUICK)
    run = store.get(run_id)
    assert run.status == "finished", run.error

    at = open_app("pages/runs.py")

    assert len(at.info) == 0
    assert len(at.error) == 0
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accuracy"] == percent(run.metrics["accuracy"])
    assert metrics["Macro F1"] == f"{run.metrics['f1_macro']:.3f}"
    assert metrics["Parameters"] == f"{run.metrics['params']:,}"
    assert metrics["Size"] == human_bytes(run.metrics["size_bytes"])
    assert any(run_id in m.value and run.config.label() in m.value for m in at.markdown)
    # Accuracy and loss curves, and accuracy under shift (every run is scored on shifted
    # copies of its test set).
    assert len(charts(at)) == 3
    assert metrics["Accuracy under shift"]
    assert at.button(key=f"runs_delete_{run_id}").label == "Delete"


def test_delete_on_runs_page_removes_the_run(home, store):
    run_id = train_now(store, **QUICK)
    assert store.artifact_dir(run_id).is_dir()
    at = open_app("pages/runs.py")

    at.button(key=f"runs_delete_{run_id}").click().run()

    assert not at.exception
    assert store.get(run_id) is None
    assert not store.artifact_dir(run_id).exists()
    assert "No runs yet" in at.info[0].value


def test_runs_page_shows_a_failed_run_and_its_details(home, store):
    import torch

    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA to make device='cuda' fail")
    run_id = train_now(store, **QUICK, device="cuda")
    run = store.get(run_id)
    assert run.status == "failed"

    at = open_app("pages/runs.py")

    headline, _, details = run.error.partition("\n\n")
    assert [e.value for e in at.error] == [headline]
    assert "CUDA" in headline
    assert len(at.expander) == 1 and at.expander[0].label == "Details"
    assert at.code[0].value.strip() == details.strip()
    assert len(at.metric) == 0


def test_runs_page_cancels_a_queued_run(home, store):
    run_id = store.enqueue(make_config(**QUICK))
    at = open_app("pages/runs.py")
    assert any("Waiting for a free worker" in c.value for c in at.caption)
    assert "**1** waiting in line" in page_text(at)  # the page's own live queue line

    at.button(key=f"runs_cancel_{run_id}").click().run()

    assert not at.exception
    run = store.get(run_id)
    assert run.status == "cancelled"
    assert [w.value for w in at.warning] == [run.error]
    assert at.button(key=f"runs_delete_{run_id}").label == "Delete"
    assert "Training and waiting" not in page_text(at)  # nothing left in line


def test_runs_page_shows_a_running_run_and_requests_its_stop(home, store):
    # A run claimed by this process stands in for one a worker is training.
    run_id = store.enqueue(make_config(**QUICK))
    store.claim(os.getpid())
    store.set_progress(run_id, 0.5, device="CPU (test)")
    at = open_app("pages/runs.py")
    assert not at.exception
    assert "**1** training" in page_text(at)

    cancel = at.button(key=f"runs_cancel_{run_id}")
    assert not cancel.disabled
    cancel.click().run()

    assert not at.exception
    run = store.get(run_id)
    assert run.status == "running" and run.cancel_requested  # the worker stops it
    assert at.button(key=f"runs_cancel_{run_id}").disabled


# -- Compare -------------------------------------------------------------------------


def test_compare_page_without_finished_runs_says_so(home, store):
    store.enqueue(make_config(**QUICK))  # queued runs can't be compared
    at = open_app("pages/compare.py")
    assert at.title[0].value == "Compare runs"
    assert len(at.info) == 1 and "No finished runs" in at.info[0].value
    assert len(at.dataframe) == 0
    assert len(charts(at)) == 0


@pytest.mark.usefixtures("audits_on")  # Compare draws the attacks' trade-offs
def test_compare_page_puts_two_runs_side_by_side(home, store):
    first = train_now(store, **QUICK)
    second = train_now(store, **{**QUICK, "dropout": 0.5})

    at = open_app("pages/compare.py")

    assert len(at.info) == 0
    picked = at.multiselect(key="compare_runs")
    assert sorted(picked.value) == sorted([first, second])
    assert len(at.dataframe) == 2  # the numbers, then per-class precision / recall / F1
    table = at.dataframe[0].value
    runs = {r: store.get(r) for r in (first, second)}
    names = unique_labels(list(runs.values()))
    assert sorted(table.columns) == sorted(names.values())  # the runs in words, not ids
    # The answers come first: the pick with no limits is the more accurate run, and the
    # pair's difference is measured against luck.
    best = ship.pick([runs[i] for i in picked.value]).chosen  # ties: the first picked
    assert best.metrics["accuracy"] == max(r.metrics["accuracy"] for r in runs.values())
    assert md(names[best.id]) in at.success[0].value
    assert any(v in m.value for m in at.markdown for v in ("within luck", "beyond luck"))
    for run_id, run in runs.items():
        assert table.loc["Accuracy", names[run_id]] == percent(run.metrics["accuracy"])
        rate = run.config.techniques.get("dropout", {}).get("rate")
        shown = table.loc["setting: dropout · rate", names[run_id]]
        assert shown == ("off" if rate is None else str(rate))
    specs = [c.proto.spec for c in charts(at)]
    titles = [json.loads(spec).get("title") for spec in specs]
    # Trade-offs (accuracy against bytes, time, latency, the membership attack's AUC and the
    # share fooled by PGD; a cost on which the runs do not differ, such as the size of two
    # identical networks, said in words instead), the learning curves, the mistakes compared
    # (both matrices in the picked order, titled by run id, and their difference; with two
    # runs they are not drawn a second time) and per-class F1, one chart at a time.
    points = [run_point(r) for r in runs.values()]
    flat = [m for m in COSTS.values() if flat_words(points, m) is not None]
    assert SIZE in flat  # dropout leaves the network's size as it was
    for m in flat:
        assert any(md(flat_words(points, m)) == c.value for c in at.caption)
    drawn = 5 - len(flat)
    assert all(t.startswith("accuracy against") for t in titles[:drawn])
    assert any("membership attack" in t for t in titles[:drawn])
    assert any("fooled by PGD" in t for t in titles[:drawn])
    assert titles[drawn:drawn + 2] == ["Accuracy", "Loss"]
    assert all(r in spec for r, spec in zip(picked.value, specs[drawn + 2:drawn + 4],
                                            strict=True))
    assert titles[drawn + 5:] == ["F1"]
    assert len(specs) == drawn + 6
    assert "Confusion matrices" not in [h.value for h in at.subheader]
    at.radio(key="compare_diff_metric").set_value("recall").run()
    assert json.loads(charts(at)[-1].proto.spec)["title"] == "Recall"
    # Three runs: each one's matrix at the top, and the pair's mistakes below.
    at.multiselect(key="compare_runs").set_value([first, second, train_now(store, **QUICK,
                                                                           seed=7)]).run()
    assert not at.exception
    assert "Confusion matrices" in [h.value for h in at.subheader]
    points = [run_point(store.get(i)) for i in at.multiselect(key="compare_runs").value]
    assert len(charts(at)) == 5 - sum(flat_words(points, m) is not None
                                      for m in COSTS.values()) + 6 + 3


@pytest.mark.usefixtures("audits_on")  # Compare draws the attacks' trade-offs
def test_compare_page_with_one_run_picked(home, store):
    ids = [train_now(store, **{**QUICK, "seed": seed}) for seed in range(3)]
    at = open_app("pages/compare.py")
    picked = at.multiselect(key="compare_runs")
    assert len(picked.options) == len(ids)
    assert len(picked.value) == 2  # the two newest by default

    picked.set_value([ids[0]]).run()

    assert not at.exception
    assert any("Pick a second run" in c.value for c in at.caption)
    name = unique_labels(store.list_runs(statuses=("finished",)))[ids[0]]
    assert list(at.dataframe[0].value.columns) == [name]
    assert len(charts(at)) == 5 + 1 + 2  # trade-offs, its confusion matrix, curves
