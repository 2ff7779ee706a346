"""Transfer learning (init_from): a run starts from a finished run's weights; the output
layer starts fresh when the classes differ; frozen layers really stay as they were."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from torch import nn

from models.base import MODELS, ModelSpec, build_model, head_name
from playground.common.paths import WEIGHTS_FILE
from playground.runs.parcel import runs_read
from playground.runs.queue import submit
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training import techniques as T
from playground.training.config import ConfigError, make_config
from playground.training.loop import SilentReporter, TrainContext
from playground.training.techniques.init_from import from_scratch

SMALL = dict(dataset="digits", model="mlp", width=16, depth=1, seed=0)
SOURCE = dict(SMALL, classes="0-4", epochs=1)
TARGET = dict(SMALL, classes="5-9", train_fraction=0.2, epochs=2)


@pytest.mark.parametrize("family", MODELS.names())
def test_every_family_names_its_output_layer(family):
    torch.manual_seed(0)
    text = "text" in MODELS.get(family).kinds
    spec = ModelSpec(input_shape=(12,), n_classes=7, vocab_size=50) if text else \
        ModelSpec(input_shape=(1, 8, 8), n_classes=7)
    model = build_model(family, spec).eval()
    head = model.get_submodule(head_name(family, model))
    # Word counts' logistic regression answers straight from its word table (one weight
    # per word and class, plus the model's bias); every other family ends in a Linear layer.
    assert isinstance(head, nn.Linear) and head.out_features == 7 or \
        isinstance(head, nn.Embedding) and head.embedding_dim == 7
    # It is the layer the answers come out of: zero it and every score is zero.
    with torch.no_grad():
        head.weight.zero_()
        bias = head.bias if isinstance(head, nn.Linear) else model.bias
        bias.zero_()
        x = torch.randint(1, 50, (3, 12)).float() if text else torch.rand(3, 1, 8, 8)
        out = model(x)
    assert out.shape == (3, 7) and torch.count_nonzero(out) == 0


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A finished run on the digits 0-4, in its own store."""
    store = Store(tmp_path_factory.mktemp("home"))
    run_id = store.enqueue(make_config(**SOURCE))
    assert execute(store, store.claim(os.getpid())) == "finished"
    return store, run_id


def _started(store, **values):
    """A run's context after the model hooks: the weights it starts training from."""
    config = make_config(**values)
    ctx = TrainContext(config, SilentReporter(), T.build(config.techniques))
    ctx.store = store
    ctx.hook("on_model")
    return ctx.model.state_dict()


def test_the_output_layer_starts_fresh_only_when_the_classes_differ(source):
    store, run_id = source
    saved = load_file(str(store.artifact_dir(run_id) / WEIGHTS_FILE))
    head = "4."  # the MLP's last Linear: Flatten, Linear, ReLU, Dropout, Linear
    assert head_name("mlp", build_model("mlp", ModelSpec((1, 8, 8), 5, width=16,
                                                         depth=1))) == "4"
    same = _started(store, **dict(SOURCE, init_from=run_id))
    assert set(same) == set(saved)
    for k, v in saved.items():  # same classes: every weight, the head's too
        torch.testing.assert_close(same[k], v, rtol=0, atol=0)
    other = _started(store, **dict(TARGET, init_from=run_id))
    for k, v in saved.items():
        if k.startswith(head):  # a fresh head for the new classes (all zeros)
            assert torch.count_nonzero(other[k]) == 0
        else:
            torch.testing.assert_close(other[k], v, rtol=0, atol=0)


def test_runs_that_do_not_fit_are_refused_with_the_reason(source):
    store, run_id = source
    with pytest.raises(ConfigError, match="init_from.run: give the id of a finished run"):
        make_config(**TARGET, freeze_features=True)  # frozen, but from which run?
    cases = [
        (dict(TARGET, init_from="nosuchrun"), "no run has this id"),
        (dict(TARGET, model="logreg", init_from=run_id), "same model family"),
        (dict(TARGET, width=32, init_from=run_id), "same width and depth"),
        (dict(SMALL, dataset="breast_cancer", init_from=run_id), "inputs of the same shape"),
        (dict(TARGET, init_from=store.enqueue(make_config(**SOURCE, lr=0.02))),
         "that run is queued, not finished"),
    ]
    for values, reason in cases:
        with pytest.raises(ValueError, match=reason):
            _started(store, **values)


def test_a_frozen_head_start_waits_for_its_source_and_trains_only_its_head(home: Path):
    store = Store(home)
    source_id = store.enqueue(make_config(**SOURCE))
    target = make_config(**TARGET, init_from=source_id, freeze_features=True)
    sub = submit(store, target)
    twin_id, = sub.alongside  # the same run from scratch, queued to compare against
    assert store.get(twin_id).config == from_scratch(target) == make_config(**TARGET)
    # Its files travel with it to a Ray node.
    assert [r.id for r in runs_read(store, store.get(sub.run_id))] == [source_id]

    first, second = store.claim(os.getpid()), store.claim(os.getpid())
    assert {first.id, second.id} == {source_id, twin_id}
    assert store.claim(os.getpid()) is None  # the head start waits for its source
    for run in (first, second):
        assert execute(store, run) == "finished"
    run = store.claim(os.getpid())
    assert run.id == sub.run_id and execute(store, run) == "finished"

    before = load_file(str(store.artifact_dir(source_id) / WEIGHTS_FILE))
    after = load_file(str(store.artifact_dir(sub.run_id) / WEIGHTS_FILE))
    head = head_name("mlp", build_model("mlp", ModelSpec((1, 8, 8), 5, width=16, depth=1)))
    for k, v in before.items():
        if k.startswith(head + "."):  # trained from zeros: it moved
            assert torch.count_nonzero(after[k]) > 0
        else:  # frozen: bit for bit the source's
            torch.testing.assert_close(after[k], v, rtol=0, atol=0)
    m = store.get(sub.run_id).metrics
    t = m["transfer"]
    assert t["source_run_id"] == source_id and t["head_replaced"] and t["frozen"]
    assert t["trainable_params"] == sum(after[k].numel() for k in after
                                        if k.startswith(head + "."))
    assert t["baseline_run_id"] == twin_id
    assert t["baseline_accuracy"] == store.get(twin_id).metrics["accuracy"]


def test_the_train_page_starts_from_a_finished_run_with_frozen_layers(app_home: Path):
    from tests.app_support import open_page

    store = Store(app_home)
    source_id = store.enqueue(make_config(dataset="digits", model="logreg", epochs=1))
    assert execute(store, store.claim(os.getpid())) == "finished"
    at = open_page("pages/train.py", query={"dataset": "digits", "model": "logreg",
                                            "epochs": "1", "init_from": source_id})
    assert at.toggle(key="train_tech_init_from").value is True
    assert at.selectbox(key="train_init_from_run").value == source_id
    at.checkbox(key="train_init_from_freeze_features").check().run()
    at.button(key="train_submit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    queued = store.list_runs(statuses=("queued",))
    mine = next(r for r in queued if "init_from" in r.config.techniques)
    assert mine.config.techniques["init_from"] == {"run": source_id, "freeze_features": True}
    # With its twin from scratch, to compare against.
    assert [r.config for r in queued if r is not mine] == [from_scratch(mine.config)]
