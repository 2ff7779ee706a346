"""The decision boundary of runs on 2-D points (training/boundary.py): recorded every epoch
by the worker's loop, travelling from a Ray node's store stand-in to the head, agreeing with
the finished model, and not recorded for images and tables of more than two columns."""
from __future__ import annotations

import json
import os

import numpy as np
import torch

from playground.data.base import DatasetInfo, _standardized
from playground.data.catalog import load_dataset
from playground.data.views import run_data
from playground.runs.parcel import NodeStore, apply, pack
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training import boundary as B
from playground.training.artifacts import load_run
from playground.training.config import make_config
from playground.training.loop import train
from tests.app_support import open_page
from tests.test_pages import train_now

EPOCHS = 6


def test_a_moons_run_on_a_node_records_every_epoch_and_its_last_frame_is_the_model(tmp_path):
    head = Store(tmp_path / "head")
    config = make_config(dataset="moons", model="mlp", epochs=EPOCHS, batch_size=16)
    run_id = head.enqueue(config, status="running", pid=os.getpid())
    # Trained as on a Ray node: the worker's own execute against the node's store stand-in,
    # whose writes (and the files written meanwhile) are replayed on the head in order.
    events = []
    node = NodeStore(tmp_path / "node", pack(head, head.get(run_id)), events.append)
    assert execute(node, head.get(run_id)) == "finished"
    run_dir = head.artifact_dir(run_id)
    for event in events:
        apply(head, event)
        if event[0] == "add_epoch":  # the frame of an epoch is there when the epoch is
            assert B.has_frame(run_dir, event[1][1])
    assert head.get(run_id).status == "finished"

    assert B.frames(run_dir) == list(range(EPOCHS + 1))  # before training, then every epoch
    frames = [B.read_frame(run_dir, e) for e in range(EPOCHS + 1)]
    assert all(f.dtype == np.uint8 and f.shape == (2, B.SIZE, B.SIZE) for f in frames)
    assert all(not np.array_equal(a, b) for a, b in zip(frames, frames[1:], strict=False))

    # The last frame is the finished model's own answer on the grid: reload its weights,
    # predict on the cells' centres, encode (numpy, not the recorder's torch code).
    meta = B.read_grid(run_dir)
    grid = B.grid_of(meta)
    loaded = load_run(head, run_id)
    with torch.no_grad():
        probs = loaded.model(torch.from_numpy(grid.centres())).softmax(dim=1).numpy()
    assert np.array_equal(B.final_frame(run_dir)[1], B.encode(probs, grid.size))

    # The points drawn are the run's training examples, and the picture is not transposed:
    # the cell under each training point mostly holds its true class once trained.
    data = run_data(config)
    points = np.asarray(meta["points"])
    np.testing.assert_allclose(points[:, :2], data.X_train, atol=1e-4)
    assert np.array_equal(points[:, 2], data.y_train)
    assert meta["class_names"] == data.class_names
    col = ((points[:, 0] - grid.x[0]) / (grid.x[1] - grid.x[0]) * grid.size).astype(int)
    row = ((points[:, 1] - grid.y[0]) / (grid.y[1] - grid.y[0]) * grid.size).astype(int)
    assert (frames[-1][0][row, col] == data.y_train).mean() > 0.8


def test_only_two_column_data_is_recorded(tmp_path):
    assert not B.records(load_dataset("digits", 0))
    assert not B.records(load_dataset("wine", 0))
    # A two-column upload is a table like any other, and gets its boundary.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    table = _standardized(DatasetInfo("mine", "Mine", "tabular", ""), X,
                          (X[:, 0] > 0).astype(int), 0, ["no", "yes"], ["age", "income"])
    assert B.records(table)
    train(make_config(dataset="wine", model="logreg", epochs=1), out_dir=tmp_path / "wine")
    assert (tmp_path / "wine" / "weights.safetensors").exists()
    assert not (tmp_path / "wine" / B.FOLDER).exists()


def test_runs_replays_and_compare_puts_two_boundaries_on_the_same_scales(app_home):
    store = Store(app_home)
    plain = train_now(store, dataset="moons", model="mlp", epochs=2)
    dropped = train_now(store, dataset="moons", model="mlp", epochs=2, dropout=0.3, seed=1)

    at = open_page("pages/runs.py")
    slider = at.select_slider(key=f"runs_boundary_epoch_{plain}")
    assert slider.value == 2 and list(slider.options) == ["before training", "after epoch 1",
                                                          "after epoch 2"]
    assert f"Decision boundary of run {plain} after epoch 2" in _alts(at)
    slider.set_value(0).run()
    assert not at.exception
    assert f"Decision boundary of run {plain} before training" in _alts(at)

    at = open_page("pages/compare.py")
    assert "Where each model draws its line" in [h.value for h in at.subheader]
    specs = {json.loads(c.proto.spec)["title"]: json.loads(c.proto.spec)
             for c in at.get("vega_lite_chart") if c.proto.alt.startswith("Decision boundary")}
    assert set(specs) == {plain, dropped}  # different seeds: different points, same axes
    scales = [[(layer["encoding"][axis]["scale"], layer["encoding"]["color"]["scale"])
               for layer in spec["layer"] for axis in ("x", "y")] for spec in specs.values()]
    assert scales[0] == scales[1]
    metas = [B.read_grid(store.artifact_dir(r)) for r in (plain, dropped)]
    assert metas[0]["x"] != metas[1]["x"]
    assert scales[0][0][0]["domain"] == [min(m["x"][0] for m in metas),
                                         max(m["x"][1] for m in metas)]


def _alts(at) -> list[str]:
    return [c.proto.alt for c in at.get("vega_lite_chart")]
