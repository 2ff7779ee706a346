"""A text run on Ray: its dataset reaches the training node through the object store with
the tokenizer inside (the node has no data folder to read it from or fit it into), and the
weights that come back answer the head's sentences as the node's model did. Runs inside
scripts/private-network, as tests/test_ray_executor.py explains."""
from __future__ import annotations

import numpy as np
import pytest
import ray
from ray.cluster_utils import Cluster

from playground.data import uploads
from playground.data.views import run_data
from playground.runs import ray_executor
from playground.runs.store import Store
from playground.training.artifacts import load_predictions, load_run, predict_probs
from playground.training.config import make_config
from tests.test_ray_executor import private_network  # noqa: F401  (skips outside it)
from tests.test_text_uploads import notes_csv

pytestmark = pytest.mark.timeout(600)


def test_a_text_run_trains_on_a_node_without_a_data_folder(tmp_path, monkeypatch):
    home = tmp_path / "head"
    monkeypatch.setenv("PLAYGROUND_HOME", str(home))
    uploads.save(uploads.prepare(notes_csv(text_only=True), "notes.csv", "answer", "notes"))
    store = Store(home)
    run_id = store.enqueue(make_config(dataset="notes", model="bow", epochs=3, lr=0.05))
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "object_store_memory": 80 * 1024 ** 2, "include_dashboard": False})
    try:
        worker = cluster.add_node(num_cpus=1, object_store_memory=80 * 1024 ** 2, env_vars={
            "PLAYGROUND_HOME": str(tmp_path / "does-not-exist")})
        ray_executor.connect(cluster.address)
        dispatcher = ray_executor.Dispatcher(store)
        while dispatcher.done < 1:
            dispatcher.step()
    finally:
        ray.shutdown()
        cluster.shutdown()
    run = store.get(run_id)
    assert run.status == "finished", run.error
    assert worker.node_id[:8] in run.node  # trained on the node, not the head
    # Nothing was fitted or kept on the node: the tokenizer came with the dataset.
    assert not (tmp_path / "does-not-exist").exists()
    # The node's predictions are what the weights give on the head's token ids: both
    # sides read the sentences through the same tokenizer.
    data = run_data(run.config)
    loaded = load_run(store, run_id)
    saved = load_predictions(store, run_id)
    np.testing.assert_array_equal(saved["y_true"], data.y_test)
    np.testing.assert_allclose(saved["probs"], predict_probs(loaded.model, data.X_test),
                               atol=1e-5)
    assert run.metrics["accuracy"] > 0.9
