"""The command line, run as a user runs it: `python -m playground ...` in a subprocess."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from sklearn.metrics import accuracy_score, f1_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from playground.common.paths import PREDICTIONS_FILE, WEIGHTS_FILE
from playground.runs.store import Store

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str, home: Path | None = None, env_home: Path | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the CLI with --home, or with PLAYGROUND_HOME in the environment."""
    env = {k: v for k, v in os.environ.items() if k != "PLAYGROUND_HOME"}
    if env_home is not None:
        env["PLAYGROUND_HOME"] = str(env_home)
    prefix = ["--home", str(home)] if home is not None else []
    return subprocess.run([sys.executable, "-m", "playground", *prefix, *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def one_json_object(stdout: str):
    lines = [line for line in stdout.splitlines() if line.strip()]
    assert len(lines) == 1, stdout
    return json.loads(lines[0])


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One foreground training run through the CLI, shared by the tests that read it."""
    home = tmp_path_factory.mktemp("cli") / "home"
    result = cli("train", "--dataset", "digits", "--model", "cnn", "--epochs", "2",
                 "--dropout", "0.2", "--seed", "0", "--json", home=home)
    assert result.returncode == 0, result.stderr
    return home, result


def test_train_json_prints_exactly_one_object_with_the_results(trained):
    home, result = trained
    data = one_json_object(result.stdout)
    assert isinstance(data["run_id"], str) and data["run_id"]
    assert data["status"] == "finished" and data["error"] is None
    config = data["config"]
    assert (config["dataset"], config["model"], config["epochs"]) == ("digits", "cnn", 2)
    assert (config["techniques"]["dropout"]["rate"], config["seed"]) == (0.2, 0)

    m = data["metrics"]
    for key in ("accuracy", "f1_macro", "confusion_matrix", "params", "size_bytes",
                "latency_ms", "train_seconds", "device"):
        assert key in m, key
    cm = m["confusion_matrix"]
    assert isinstance(cm, list) and all(isinstance(row, list) for row in cm)
    assert len(cm) == 10 and all(len(row) == 10 for row in cm)
    assert sum(map(sum, cm)) == m["test_examples"]
    assert 0 <= m["f1_macro"] <= 1 and 0.1 < m["accuracy"] <= 1
    assert m["accuracy"] == pytest.approx(np.trace(cm) / np.sum(cm))
    assert isinstance(m["params"], int) and m["params"] > 0
    assert m["latency_ms"] > 0 and m["train_seconds"] > 0
    assert isinstance(m["device"], str) and m["device"]


def test_train_json_metrics_match_sklearn_on_the_saved_predictions(trained):
    home, result = trained
    data = one_json_object(result.stdout)
    m = data["metrics"]
    folder = home / "runs" / data["run_id"]
    saved = load_file(str(folder / PREDICTIONS_FILE))
    y_true, y_pred = saved["y_true"], saved["y_pred"]
    n = len(m["confusion_matrix"])
    # Rows are the true class: row sums count each class in the test split.
    assert [sum(row) for row in m["confusion_matrix"]] == np.bincount(y_true, minlength=n).tolist()
    assert m["confusion_matrix"] == sk_confusion_matrix(y_true, y_pred, labels=range(n)).tolist()
    assert m["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert m["f1_macro"] == pytest.approx(
        f1_score(y_true, y_pred, labels=list(range(n)), average="macro", zero_division=0))
    assert m["size_bytes"] == (folder / WEIGHTS_FILE).stat().st_size


def test_foreground_run_is_recorded_in_the_store(trained):
    home, result = trained
    data = one_json_object(result.stdout)
    run = Store(home).get(data["run_id"])
    assert run.status == "finished" and run.progress == 1
    assert run.metrics == data["metrics"]
    assert [e["epoch"] for e in Store(home).epochs(run.id)] == [1, 2]


def test_show_and_runs_read_the_same_run(trained):
    home, result = trained
    data = one_json_object(result.stdout)
    shown = cli("show", data["run_id"], "--json", home=home)
    assert shown.returncode == 0, shown.stderr
    shown_data = one_json_object(shown.stdout)
    assert shown_data["run_id"] == data["run_id"] and shown_data["metrics"] == data["metrics"]
    assert [e["epoch"] for e in shown_data["epochs"]] == [1, 2]

    text = cli("show", data["run_id"], home=home)
    assert text.returncode == 0 and data["run_id"] in text.stdout and "accuracy" in text.stdout


def test_background_queues_and_returns_at_once(home: Path):
    # `home` sets PLAYGROUND_HOME, so this also checks the environment variable is used.
    queued = cli("train", "--dataset", "moons", "--model", "mlp", "--epochs", "3",
                 "--background", "--json", env_home=home)
    assert queued.returncode == 0, queued.stderr
    data = one_json_object(queued.stdout)
    assert data["status"] == "queued" and data["config"]["dataset"] == "moons"
    run_id = data["run_id"]

    store = Store(home)
    run = store.get(run_id)
    # Nothing trained it: still queued, no progress, no epochs, no files.
    assert run.status == "queued" and run.progress == 0 and run.worker_pid is None
    assert store.epochs(run_id) == [] and not store.artifact_dir(run_id).exists()

    listed = cli("runs", "--json", env_home=home)
    assert listed.returncode == 0, listed.stderr
    runs = one_json_object(listed.stdout)
    assert [(r["run_id"], r["status"]) for r in runs] == [(run_id, "queued")]

    shown = cli("show", run_id, "--json", home=home)
    assert shown.returncode == 0, shown.stderr
    shown_data = one_json_object(shown.stdout)
    assert shown_data["run_id"] == run_id and shown_data["status"] == "queued"
    assert shown_data["epochs"] == []

    # The plain-text forms mention the run too.
    assert run_id in cli("runs", home=home).stdout


def test_background_without_json_prints_the_id(tmp_path: Path):
    home = tmp_path / "home"
    result = cli("train", "--background", home=home)
    assert result.returncode == 0, result.stderr
    (run,) = Store(home).list_runs()
    assert run.status == "queued" and run.id in result.stdout


def test_show_of_an_unknown_run_exits_2_with_a_message(tmp_path: Path):
    result = cli("show", "nonexistent", home=tmp_path / "home")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "nonexistent" in result.stderr and "error" in result.stderr


def test_runs_json_of_an_empty_home_is_an_empty_list(tmp_path: Path):
    result = cli("runs", "--json", home=tmp_path / "home")
    assert result.returncode == 0 and json.loads(result.stdout) == []


def test_every_setting_and_technique_has_a_train_flag():
    from playground.cli.main import build_parser
    from playground.training.config import RunConfig, shorthands

    train = next(a for a in build_parser()._subparsers._group_actions[0].choices.items()
                 if a[0] == "train")[1]
    dests = {a.dest for a in train._actions}
    settings = set(RunConfig.model_fields) - {"techniques"}
    assert settings <= dests, settings - dests
    assert set(shorthands()) <= dests
