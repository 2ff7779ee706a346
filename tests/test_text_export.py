"""Text runs taken away: the model zip carries the tokenizer, and its evaluate.py (run as a
subprocess, outside the repo, in an empty data folder) scores the run's test sentences and
answers a CSV of new ones exactly as the run's own model does; a run that reads words and
other columns answers a CSV of rows; MLflow logs a text run with its tokenizer."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from mlflow.tracking import MlflowClient

from playground.data import uploads
from playground.data.units import RowCodec
from playground.results import export
from playground.results.export import mlflow_export as mx
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.artifacts import load_run, predict_probs
from playground.training.config import make_config
from tests.test_text_uploads import notes_csv

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:mlflow")
NEW = ["not good at all", "Great value, \"really\" great!", "the worst; never again",
       "It works.", ""]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A word-count run on the review sentences and one on an upload of notes beside an
    amount and a region (a second or two each)."""
    home = tmp_path_factory.mktemp("text-export") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_HOME", str(home))
        uploads.save(uploads.read_words(uploads.prepare(notes_csv(), "mix.csv", "answer",
                                                        "notes_mix")), home)
        store = Store(home)
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        ids = []
        for values in (dict(dataset="reviews", train_fraction=0.3), dict(dataset="notes_mix")):
            run_id = store.enqueue(make_config(model="bow", epochs=3, lr=0.05, **values))
            assert store.claim_run(run_id, os.getpid())
            assert execute(store, store.get(run_id)) == "finished", store.get(run_id).error
            ids.append(run_id)
        torch.set_num_threads(before)
        loaded = [load_run(store, i) for i in ids]
        yield home, store, ids, loaded


def unzip(store, run_id: str, folder: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(export.model_zip(store, run_id))) as z:
        assert "tokenizer.json" in z.namelist()
        z.extractall(folder)
    return folder


def evaluate(folder: Path, home: Path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PLAYGROUND_HOME"] = str(home)
    result = subprocess.run([sys.executable, "evaluate.py", "--repo", str(ROOT), *args],
                            cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_zip_answers_sentences_as_the_run_does(trained, tmp_path):
    _, store, ids, loaded = trained
    run, data, model = loaded[0].run, loaded[0].data, loaded[0].model
    folder = unzip(store, run.id, tmp_path / "model")
    assert "--csv" in (folder / "README.txt").read_text()
    sentences = [*NEW, *data.texts[2][:15]]
    with open(folder / "sentences.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text"])
        writer.writerows([s] for s in sentences)
    # An empty data folder: the sentences are read through the zip's tokenizer alone.
    empty = tmp_path / "elsewhere"
    scored = evaluate(folder, empty)
    assert scored["test_accuracy"] == pytest.approx(run.metrics["accuracy"], abs=1e-12)
    said = evaluate(folder, empty, "--csv", "sentences.csv")
    probs = predict_probs(model, data.coder.encode(sentences))
    assert [a["text"] for a in said["answers"]] == sentences
    assert [a["answer"] for a in said["answers"]] == [data.class_names[i]
                                                      for i in probs.argmax(1)]
    np.testing.assert_allclose([a["probability"] for a in said["answers"]], probs.max(1),
                               rtol=1e-5)


def test_words_beside_columns_are_answered_row_by_row(trained, tmp_path):
    home, store, ids, loaded = trained
    data, model = loaded[1].data, loaded[1].model
    folder = unzip(store, ids[1], tmp_path / "model")
    codec = RowCodec(data)
    rows = [codec.to_raw(x) for x in data.X_test[:12]]
    with open(folder / "rows.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["note", "amount", "region"])
        writer.writeheader()
        writer.writerows(rows)
    said = evaluate(folder, home, "--csv", "rows.csv")
    assert said["column"] == "note"
    expected = predict_probs(model, data.X_test[:12]).argmax(1)
    assert [a["answer"] for a in said["answers"]] == [data.class_names[i] for i in expected]


def test_mlflow_logs_a_text_run_with_its_tokenizer(trained, tmp_path):
    home, store, ids, loaded = trained
    uri = f"sqlite:///{home / 'mlflow.db'}"
    [done] = mx.export_runs(store, uri, [ids[0]])
    assert done.outcome == mx.EXPORTED, done.reason
    client = MlflowClient(tracking_uri=uri)
    files = {a.path for a in client.list_artifacts(done.mlflow_run_id, "model")}
    assert "model/tokenizer.json" in files
    local = Path(client.download_artifacts(done.mlflow_run_id, "model/tokenizer.json",
                                           tmp_path))
    assert local.read_text() == loaded[0].data.coder.tokenizer.to_str()
    logged = client.get_run(done.mlflow_run_id).data
    assert logged.params["dataset"] == "reviews"
    assert logged.metrics["accuracy"] == loaded[0].run.metrics["accuracy"]
