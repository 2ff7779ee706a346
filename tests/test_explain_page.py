"""The Explain page through Streamlit's AppTest: the real app.py, page and components.

The page queues its explanations as a job for the workers; these tests do the workers'
part in this process (`drain_jobs`, the code a worker runs) and rerun the script until the
progress line is gone, as the page's polling fragment would in a browser. One test runs a
real worker process and checks the maps were computed there, not in the app.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from components.base.services import refresh_live
from playground.data.units import RowCodec
from playground.explain.subjects import ModelBank
from playground.runs.store import Store
from playground.runs.worker import drain_jobs
from playground.training.artifacts import load_predictions
from tests.run_support import train_now

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app.py"
PAGE = "pages/explain.py"


@pytest.fixture
def home(app_home) -> Path:
    yield app_home
    from components.base import services as shared
    from components.explain import pick as explain_pick

    explain_pick._runner.clear()  # the page's explainer client, one per server
    shared._feed.clear()


@pytest.fixture
def store(home) -> Store:
    return Store(home)


def open_explain() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Explain a prediction"
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "error", "warning")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def waiting(at: AppTest) -> bool:
    return "working on it" in texts(at) or "still being computed" in texts(at) or \
        any("Explaining in a background worker" in str(p.proto) for p in at.get("progress"))


def settle(at: AppTest, limit_s: float = 240, worker: bool = True) -> AppTest:
    """Rerun until the explanations are there (the browser's polling); with `worker`, do
    the queued jobs here first, as a worker process would."""
    deadline = time.monotonic() + limit_s
    while waiting(at):
        assert time.monotonic() < deadline, "explanations did not arrive"
        if worker:
            drain_jobs(Store(os.environ["PLAYGROUND_HOME"]))
        else:
            time.sleep(0.3)
        refresh_live()
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list:
    return list(at.get("vega_lite_chart"))


def test_without_finished_runs_the_page_says_where_to_start(home):
    at = open_explain()
    assert len(at.info) == 1 and "No finished runs yet" in at.info[0].value
    assert not charts(at)


def test_two_digit_runs_three_methods_give_a_grid_agreement_and_overall_view(home, store):
    plain = train_now(store, dataset="digits", model="mlp", epochs=2)
    dropout = train_now(store, dataset="digits", model="mlp", epochs=2, dropout=0.3)
    at = open_explain()
    at.multiselect(key="explain_runs").set_value([plain, dropout]).run()
    assert at.multiselect(key="explain_methods").value == ["lime", "shap", "ig"]
    settle(at)

    # Thumbnails and the input (2), the grid (2 runs x 3 methods), overall views (2), and
    # the nearest test example the first run decides otherwise (1).
    assert len(charts(at)) == 2 + 6 + 2 + 1
    assert "The nearest test example it decides otherwise" in texts(at)
    page = texts(at)
    assert "completeness gap" in page and "local fit R²" in page and "shares add to" in page
    assert page.count("**Verdict:**") == 2  # one per run, before the details
    assert "most alike:" in page and "least alike:" in page
    assert f"Runs **{plain}** and **{dropout}** look at" in page
    assert "of their 5 most important pixels" in page or "agree on the 5" in page

    # A second visit (a new session) finds every map in the cache at once.
    again = open_explain()
    again.multiselect(key="explain_runs").set_value([plain, dropout]).run()
    assert "working on it" not in texts(again)
    assert len(charts(again)) == 2 + 6 + 2 + 1


def test_choosing_an_example_by_class_and_explaining_another_class(home, store):
    run_id = train_now(store, dataset="digits", model="mlp", epochs=2)
    at = open_explain()
    at.selectbox(key="explain_filter").set_value("class:3").run()
    example = at.selectbox(key="explain_index")
    assert example.options and all("true class 3" in o for o in example.options)
    at.multiselect(key="explain_methods").set_value(["occlusion"]).run()
    at.selectbox(key="explain_target").set_value(5).run()
    settle(at)
    assert "explaining class 5" in texts(at)
    assert run_id in texts(at)


def test_an_int8_run_gets_perturbation_methods_and_the_float_model_on_request(home, store):
    run_id = train_now(store, dataset="breast_cancer", model="mlp", epochs=2, quantize="int8")
    at = open_explain()
    at.selectbox(key="explain_dataset").set_value("breast_cancer").run()
    at.multiselect(key="explain_runs").set_value([run_id]).run()
    at.multiselect(key="explain_methods").set_value(["shap", "ig"]).run()
    settle(at)
    assert any("needs gradients; an int8 model has none" in i.value for i in at.info)
    assert "int8 model, as the run measured it" in texts(at)
    # Tables get a table of test rows to pick from, a what-if editor of the chosen one (its
    # standard units under details) and what would change the decision.
    frames = [d.value for d in at.dataframe]
    assert "explain_rows" in {d.key for d in at.dataframe}
    assert any(list(f.columns) == ["input", "this example", "edited"] for f in frames)
    assert at.number_input(key=f"explain_whatif_{run_id}_0_0") is not None

    at.button(key="explain_float_0_ig").click().run()
    settle(at)
    assert not any("needs gradients" in i.value for i in at.info)
    assert at.toggle(key="explain_float_for_gradients").value is True
    assert "completeness gap" in texts(at) and "float model" in texts(at)


def test_the_sanity_check_reports_a_score_per_method(home, store):
    run_id = train_now(store, dataset="wine", model="mlp", epochs=2)
    at = open_explain()
    at.multiselect(key="explain_runs").set_value([run_id]).run()
    at.multiselect(key="explain_methods").set_value(["saliency", "occlusion"]).run()
    settle(at)
    at.button(key="explain_sanity_start").click().run()
    settle(at)
    tables = [d.value for d in at.dataframe]
    sanity = next(t for t in tables if "similarity ρ" in t.columns)
    assert list(sanity["method"]) == ["Saliency", "Occlusion"]
    assert sanity["similarity ρ"].between(-1, 1).all()
    assert set(sanity["verdict"]) <= {"passes", "partly", "fails"}


def test_a_run_whose_weights_are_gone_gets_a_message_not_a_crash(home, store):
    from playground.common.paths import WEIGHTS_FILE

    broken = train_now(store, dataset="wine", model="logreg", epochs=2)
    healthy = train_now(store, dataset="wine", model="logreg", epochs=2, seed=1)
    (store.artifact_dir(broken) / WEIGHTS_FILE).unlink()
    at = open_explain()
    at.multiselect(key="explain_runs").set_value([broken, healthy]).run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(broken in e and "weights file is missing" in e for e in errors), errors
    settle(at)
    assert healthy in texts(at) and "completeness gap" in texts(at)


def test_explanations_asked_for_on_the_page_are_computed_by_a_worker_process(home, store):
    from safetensors import safe_open

    from playground.runs.supervisor import Supervisor

    run_id = train_now(store, dataset="wine", model="mlp", epochs=2)
    supervisor = Supervisor(store, workers=1).start()  # a real worker, as the app starts
    try:
        at = open_explain()
        at.multiselect(key="explain_runs").set_value([run_id]).run()
        at.multiselect(key="explain_methods").set_value(["occlusion", "lime"]).run()
        settle(at, worker=False)  # nothing is computed in this process
        assert "could not" not in texts(at)
        workers = set(supervisor.pids())
    finally:
        supervisor.stop()
    files = list((store.artifact_dir(run_id) / "explanations").glob("*.safetensors"))
    assert len(files) == 3  # two maps and the run's overall view
    computed_by = set()
    for path in files:
        with safe_open(str(path), "np") as f:
            computed_by.add(int(f.metadata()["pid"]))
    assert computed_by == workers and os.getpid() not in computed_by
    jobs = store.list_jobs(kind="explain")
    assert jobs and {j.worker_pid for j in jobs if j.status == "finished"} == workers

    # Cached: a second session gets these maps at once and asks the workers for nothing.
    again = open_explain()
    again.multiselect(key="explain_runs").set_value([run_id]).run()
    before = len(store.list_jobs(kind="explain"))  # (its default methods may ask for more)
    again.multiselect(key="explain_methods").set_value(["occlusion", "lime"]).run()
    assert not waiting(again)
    assert len(store.list_jobs(kind="explain")) == before


# -- a method is one file --------------------------------------------------------------------

PLUGIN = '''"""Mean ablation: each feature in turn set to its training average (a test plug-in)."""
from __future__ import annotations

import numpy as np

from playground.common.content import Term
from playground.explain.methods.base import Method, register


@register
class MeanAblation(Method):
    name = "mean_ablation"
    title = "Mean ablation"
    order = 60
    default_on = True
    blurb = "Sets one feature at a time to its average and records how the answer moves."
    defaults = {}
    terms = (Term("mean_ablation", "Mean ablation", "Replacing a feature by its average."),)

    def attribute(self, subject, x, target, settings):
        flat = x.ravel()
        rows = np.repeat(flat[None], flat.size, axis=0)
        np.fill_diagonal(rows, subject.background.reshape(len(subject.background), -1)
                         .mean(axis=0))
        scores = subject.scores(np.concatenate([flat[None], rows]).reshape(-1, *x.shape))
        return scores[0, target] - scores[1:, target], {"ablated": int(flat.size)}

    def note(self, attribution):
        return f"{attribution.extras['ablated']} features ablated"
'''

CHECKS = '''
import json, os
from streamlit.testing.v1 import AppTest

from playground.explain import methods as M
from playground.explain.cache import Request
from playground.explain.jobs import ExplainJobs
from playground.runs.store import Store
from playground.runs.worker import drain_jobs
from playground.teaching import glossary

run_id = os.environ["RUN_ID"]
found = {"names": M.method_names("points"), "defaults": M.default_methods("points"),
         "glossary": glossary.term("mean_ablation").name}
at = AppTest.from_file("app.py", default_timeout=120).run()
at.switch_page("pages/explain.py").run()
picker = at.multiselect(key="explain_methods")
found["picker"] = [picker.options, picker.value]
store = Store(os.environ["PLAYGROUND_HOME"])
jobs = ExplainJobs(store)
x = jobs.bank.loaded(run_id).data.X_test[0]
request = Request(run_id, "mean_ablation", "float", 1, M.settings("mean_ablation"), x=x)
jobs.submit([request])
drain_jobs(store)
progress = jobs.wait([request], timeout=30)
result = jobs.result(request)
subject = jobs.bank.subject(run_id, "float")
ablated = x.copy()
ablated[0] = subject.background.mean(axis=0)[0]  # the first feature at its average, by hand
expected = subject.scores(x[None])[0, 1] - subject.scores(ablated[None])[0, 1]
found["job"] = [progress.done, progress.failed, result.values.tolist(), float(expected),
                M.method("mean_ablation").note(result)]
found["exceptions"] = [str(e.value) for e in at.exception]
print(json.dumps(found))
'''


def test_an_explanation_method_added_as_one_file_is_listed_and_runs(tmp_path: Path):
    """Drop one module into the methods folder of a copy of the project: with no other
    change it is in the registry, the glossary, the Explain page's picker (on by default,
    as it declares) and computed by a worker's job."""
    copy = tmp_path / "project"
    for part in ("playground", "models", "components", "pages", ".streamlit"):
        shutil.copytree(ROOT / part, copy / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "app.py", copy / "app.py")
    (copy / "playground/explain/methods/mean_ablation.py").write_text(PLUGIN)
    env = dict(os.environ, PLAYGROUND_HOME=str(tmp_path / "home"), PLAYGROUND_WORKERS="0",
               PYTHONPATH=str(copy))

    def run(*args, **extra):
        done = subprocess.run([sys.executable, *args], cwd=copy, env={**env, **extra},
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    trained = json.loads(run("-m", "playground", "train", "--dataset", "moons", "--model",
                             "mlp", "--epochs", "1", "--json"))
    found = json.loads(run("-c", CHECKS, RUN_ID=trained["run_id"]).strip().splitlines()[-1])
    assert found["exceptions"] == []
    assert found["names"][-1] == "mean_ablation"  # order 60: after the five
    assert found["defaults"] == ["lime", "shap", "ig", "mean_ablation"]
    assert found["glossary"] == "Mean ablation"
    options, chosen = found["picker"]
    assert "Mean ablation" in options and "mean_ablation" in chosen
    done, failed, values, expected, note = found["job"]
    assert (done, failed) == (1, 0) and note == "2 features ablated"
    assert values[0] == pytest.approx(expected, abs=1e-5)


def test_a_fairness_run_is_explained_in_the_csvs_units_with_its_own_decisions(home, store):
    run_id = train_now(store, dataset="loans", model="mlp", epochs=3,
                       techniques={"fairness": {"constraint": "demographic_parity"}})
    bank = ModelBank(store)
    data, rule = bank.loaded(run_id).data, bank.rule(run_id)
    codec = RowCodec(data)
    stored = load_predictions(store, run_id)["y_pred"]
    at = open_explain()
    at.selectbox(key="explain_dataset").set_value("loans").run()
    at.multiselect(key="explain_methods").set_value(["occlusion"]).run()
    settle(at)
    # Counts from the run's own decisions: the card's accuracy.
    wrong = int((stored != data.y_test).sum())
    assert f"run {run_id} got {wrong} of {len(stored)} wrong" in texts(at)
    assert f"{store.get(run_id).metrics['accuracy']:.1%} right" in texts(at)
    # "The model said X" filters on those decisions.
    at.selectbox(key="explain_filter").set_value("said:1").run()
    shown = at.selectbox(key="explain_index").options
    assert len(shown) == int((stored == 1).sum())
    index = int(at.selectbox(key="explain_index").value)
    assert stored[index] == 1
    # The editor shows the CSV's values; an edit there is decided by the run's rule.
    x = data.X_test[index]
    column = codec.schema.names[0]
    box = at.number_input(key=f"explain_whatif_{run_id}_{index}_0")
    assert box.value == codec.to_raw(x)[column]
    lo, hi = codec.ranges[column]
    box.set_value(round(lo, 1)).run()
    edited = codec.to_model({column: round(lo, 1)}, base=x)
    after = data.class_names[rule.decide(edited[None], positions=[index])[0]]
    assert f"→ **{after}**" in texts(at)
    at.number_input(key=f"explain_whatif_{run_id}_{index}_0").set_value(
        codec.to_raw(x)[column]).run()  # back to the example as it is
    # What would change the decision: a worker's answer, in sentences and a table.
    for _ in range(6):
        if "It would decide otherwise" in texts(at) or "No change" in texts(at):
            break
        drain_jobs(store)
        refresh_live()
        at.run()
    page = texts(at)
    assert "It would decide otherwise" in page or "No change" in page
    if "It would decide otherwise" in page:
        assert data.class_names[0] + " if " in page
        table = [d.value for d in at.dataframe if "" in d.value.columns]
        assert table and table[0][""].iloc[0] == "as it is"
    assert at.multiselect(key=f"explain_cf_fixed_{run_id}").value == ["group"]
    assert np.array_equal(rule.decide(data.X_test), stored)
