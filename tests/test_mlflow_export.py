"""MLflow export, read back with MlflowClient from a sqlite:/// file in a temp folder: N
finished runs become N MLflow runs, each with one val_accuracy point per epoch (step =
epoch), the test accuracy `show --json` prints, its settings, tags, confusion matrix (JSON
and picture), model files and, for a private run, its ε curve. Exporting again adds
nothing; an unknown id or an unusable URI is refused with the fix, nothing written."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from playground.cli.main import main
from playground.common.escape import md
from playground.results.export import mlflow_export as mx
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config

ROOT = Path(__file__).resolve().parent.parent
# MLflow's SQL store uses a loader option SQLAlchemy 2.1 calls deprecated; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow")
PLAIN = dict(dataset="digits", model="mlp", epochs=2, width=16)
PRIVATE = dict(dataset="digits", model="mlp", epochs=2, width=16, dp_noise=1.0,
               quantize="int8")


def cli(home: Path, *args: str) -> subprocess.Popen:
    """`python -m playground --home HOME ARGS...`, started (read it with .communicate())."""
    env = {k: v for k, v in os.environ.items() if k != "PLAYGROUND_HOME"}
    return subprocess.Popen([sys.executable, "-m", "playground", "--home", str(home), *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Two finished runs (one private and int8) and one still queued, sent to MLflow by
    the CLI with no ids: every finished run."""
    folder = tmp_path_factory.mktemp("mlflow")
    store = Store(folder / "home")
    ids = []
    for values in (PLAIN, PRIVATE):
        run_id = store.enqueue(make_config(**values))
        assert store.claim_run(run_id, os.getpid())
        assert execute(store, store.get(run_id)) == "finished", store.get(run_id).error
        ids.append(run_id)
    queued = store.enqueue(make_config(**PLAIN))
    uri = f"sqlite:///{folder / 'home' / 'mlflow.db'}"  # inside the data folder: allowed
    # Both commands as a user types them, side by side (each pays Python's start-up).
    export = cli(store.home, "export-mlflow", "--tracking-uri", uri, "--json")
    show = cli(store.home, "show", ids[1], "--json")
    out, err = export.communicate(timeout=300)
    assert export.returncode == 0, err
    reported = json.loads(out)
    out, err = show.communicate(timeout=300)
    assert show.returncode == 0, err
    shown = json.loads(out)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(mx.EXPERIMENT)
    by_id = {r.data.tags[mx.RUN_TAG]: r for r in client.search_runs([experiment.experiment_id])}
    return store, ids, queued, uri, client, experiment, reported, by_id, shown


def test_every_finished_run_becomes_exactly_one_mlflow_run(exported):
    store, ids, queued, uri, client, experiment, reported, by_id, _ = exported
    assert sorted(r["run_id"] for r in reported) == sorted(ids)  # the queued one is left out
    assert {r["outcome"] for r in reported} == {"exported"}
    assert sorted(by_id) == sorted(ids)
    assert {r["mlflow_run_id"] for r in reported} == {r.info.run_id for r in by_id.values()}
    # Artifacts sit beside the database, not in ./mlruns wherever the command ran.
    assert experiment.artifact_location == (Path(uri[10:]).parent / "mlflow-artifacts").as_uri()
    assert not (ROOT / "mlruns").exists()


def test_curves_have_one_step_per_epoch_and_accuracy_matches_show(exported):
    store, ids, _, _, client, _, _, by_id, shown = exported
    assert shown["run_id"] == ids[1]
    for run_id in ids:
        mlflow_id = by_id[run_id].info.run_id
        epochs = [e["epoch"] for e in store.epochs(run_id)]
        assert len(epochs) == 2
        for key in ("val_accuracy", "val_loss", "train_loss", "train_accuracy"):
            history = client.get_metric_history(mlflow_id, key)
            assert sorted(m.step for m in history) == epochs, key
        metrics, recorded = by_id[run_id].data.metrics, store.get(run_id).metrics
        for key in ("accuracy", "f1_macro", "size_bytes", "latency_ms", "params"):
            assert metrics[key] == recorded[key], key
        # The run's final validation accuracy does not add a point to the curve.
        assert metrics["final.val_accuracy"] == recorded["val_accuracy"]
    # The same test accuracy as `python -m playground show ID --json` prints.
    assert by_id[ids[1]].data.metrics["accuracy"] == shown["metrics"]["accuracy"]


def test_the_private_run_has_its_epsilon_curve_and_the_int8_numbers(exported):
    store, ids, _, _, client, _, _, by_id, _ = exported
    plain, private = (by_id[i] for i in ids)
    epochs = store.epochs(ids[1])
    history = sorted(client.get_metric_history(private.info.run_id, "epsilon"),
                     key=lambda m: m.step)
    assert [(m.step, m.value) for m in history] == [(e["epoch"], e["epsilon"]) for e in epochs]
    m = store.get(ids[1]).metrics
    assert private.data.metrics["final.epsilon"] == m["epsilon"]
    assert private.data.metrics["delta"] == m["delta"]
    assert private.data.metrics["quantized.accuracy"] == m["quantized"]["accuracy"]
    assert private.data.metrics["quantized.size_bytes"] == m["quantized"]["size_bytes"]
    assert client.get_metric_history(plain.info.run_id, "epsilon") == []


def test_params_tags_and_times(exported):
    store, ids, _, _, _, _, _, by_id, _ = exported
    for run_id in ids:
        run, mlflow_run = store.get(run_id), by_id[run_id]
        params, tags = mlflow_run.data.params, mlflow_run.data.tags
        assert params["dataset"] == "digits" and params["model"] == "mlp"
        assert params["epochs"] == "2" and params["width"] == "16"
        assert tags["playground.label"] == run.config.label()
        assert tags["mlflow.runName"] == f"{run.config.label()} ({run_id})"
        assert mlflow_run.info.status == "FINISHED"
        assert mlflow_run.info.start_time == round(run.started * 1000)
        assert mlflow_run.info.end_time == round(run.finished * 1000)
    private = by_id[ids[1]].data
    assert private.params["technique.dp.noise_multiplier"] == "1.0"
    assert private.params["technique.quantization.mode"] == "int8"
    assert private.tags["technique.dp"] == "on" and private.tags["technique.quantization"] == "on"
    assert private.tags["techniques"] == "dp, quantization"
    assert by_id[ids[0]].data.tags["techniques"] == "none"


def test_confusion_matrix_and_model_artifacts(exported, tmp_path):
    store, ids, _, _, client, _, _, by_id, shown = exported
    assert shown["run_id"] == ids[1]
    for run_id in ids:
        mlflow_id = by_id[run_id].info.run_id
        names = {a.path for a in client.list_artifacts(mlflow_id)}
        assert {"confusion_matrix.json", "confusion_matrix.png", "model"} <= names
        model = {a.path for a in client.list_artifacts(mlflow_id, "model")}
        assert {"model/weights.safetensors", "model/config.json", "model/evaluate.py"} <= model
        local = Path(client.download_artifacts(mlflow_id, "confusion_matrix.json", tmp_path))
        data = json.loads(local.read_text())
        run = store.get(run_id)
        assert data["confusion_matrix"] == run.metrics["confusion_matrix"]
        assert data["class_names"] == run.metrics["class_names"]
        weights = Path(client.download_artifacts(mlflow_id, "model/weights.safetensors",
                                                 tmp_path))
        assert weights.read_bytes() == (store.artifact_dir(run_id) /
                                        "weights.safetensors").read_bytes()


def test_exporting_again_adds_nothing(exported, capsys):
    store, ids, queued, uri, client, experiment, *_ = exported
    results = mx.export_runs(store, uri)
    assert [(r.run_id, r.outcome) for r in results] == [(i, "already exported") for i in ids]
    assert mx.summary(results, uri).startswith("2 runs sent to MLflow (2 were already there).")
    # Named ids, a queued one among them: that one is skipped with the reason.
    assert main(["--home", str(store.home), "export-mlflow", "--tracking-uri", uri,
                 ids[0], queued]) == 0
    out = capsys.readouterr().out
    assert f"{ids[0]}  already exported" in out
    assert f"{queued}  skipped: it is queued; only finished runs are exported" in out
    assert "mlflow ui --backend-store-uri " + uri in out
    assert len(client.search_runs([experiment.experiment_id])) == len(ids)


def test_an_export_cut_short_is_replaced(exported):
    store, ids, _, uri, client, experiment, *_ = exported
    old = client.search_runs([experiment.experiment_id],
                             f"tags.`playground.run_id` = '{ids[0]}'")[0].info.run_id
    client.set_terminated(old, "FAILED")  # as if the export had died halfway
    [result] = mx.export_runs(store, uri, [ids[0]])
    assert result.outcome == "exported" and result.mlflow_run_id != old
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == len(ids) and old not in {r.info.run_id for r in runs}


def test_unknown_ids_and_bad_uris_are_refused_with_the_fix(exported, capsys, tmp_path,
                                                          monkeypatch):
    store, ids, _, uri, client, experiment, *_ = exported
    home = str(store.home)
    [result] = mx.export_runs(store, uri, ["nosuchrun"])
    assert (result.outcome, result.mlflow_run_id) == ("skipped", None)
    assert "no run has this id" in result.reason

    assert main(["--home", home, "export-mlflow", "--tracking-uri", uri, ids[0],
                 "nosuchrun"]) == 2
    err = capsys.readouterr().err
    assert "no run with id 'nosuchrun'" in err and "playground runs` lists them" in err
    assert "nothing was exported" in err

    missing = store.home / "no-such-folder" / "mlflow.db"
    other = store.home / "other.db"  # another program's database: MLflow would add its tables
    with closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    cases = {f"sqlite:///{other}": f"{other} exists and is not an MLflow database",
             f"sqlite:///{missing}": f"the folder {missing.parent} does not exist",
             str(tmp_path / "mlflow.db"): "is not a URI",
             f"sqlite:///{store.db_path}": "the playground's own run store",
             "http://127.0.0.1:9": "cannot reach the MLflow server at http://127.0.0.1:9",
             # Outside what the operator allows: refused before any file or request.
             f"sqlite:///{tmp_path / 'x.db'}": "is outside the data folder",
             "sqlite:////etc/x.db": "sqlite:////etc/x.db is outside the data folder",
             "http://10.0.0.7:5000": "is not a tracking server the operator allows"}
    monkeypatch.setenv("PLAYGROUND_MLFLOW_URIS", "http://127.0.0.1:9")  # the operator's list
    for bad, problem in cases.items():
        assert main(["--home", home, "export-mlflow", "--tracking-uri", bad]) == 2, bad
        err = capsys.readouterr().err
        assert problem in err and "nothing was exported" in err, err
    assert not missing.parent.exists()
    assert len(client.search_runs([experiment.experiment_id])) == len(ids)


def _send_app(home: str) -> None:
    from components.results.export_buttons import mlflow_export
    from playground.runs.store import Store

    store = Store(home)
    mlflow_export(store.list_runs(), store, key="page_mlflow")


def test_send_to_mlflow_button(exported):
    from streamlit.testing.v1 import AppTest

    store, ids, _, uri, *_ = exported
    at = AppTest.from_function(_send_app, args=(str(store.home),), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="page_mlflow_uri").value == mx.default_tracking_uri(store)
    at.text_input(key="page_mlflow_uri").set_value(uri)
    at.button(key="page_mlflow_send").click().run()
    assert not at.exception, [e.value for e in at.exception]
    [message] = at.success
    assert "2 runs sent to MLflow (2 were already there)." in message.value
    assert f"mlflow ui --backend-store-uri {uri}" in message.value

    at.text_input(key="page_mlflow_uri").set_value("not a uri").run()
    at.button(key="page_mlflow_send").click().run()
    assert "Nothing was sent: " + md("tracking URI 'not a uri' is not a URI") \
        in at.error[0].value  # the typed address, escaped
