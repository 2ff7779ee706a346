"""Masked-word pretraining and fine-tuning from it: the guessing loss falls; a fine-tune
starts with every encoder tensor equal to the pretraining run's and reads its sentences with
that run's tokenizer; the CLI's run id is what --init-from takes; mismatches are refused."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from components.base import services as shared
from playground.cli.main import main
from playground.common.formatting import percent
from playground.common.paths import WEIGHTS_FILE
from playground.data.text_coder import fit_coder
from playground.data.views import TOKENIZER_FILE
from playground.results.narrative import headline
from playground.runs.store import Store
from playground.training import techniques as T
from playground.training.config import ConfigError, make_config
from playground.training.loop import SilentReporter, TrainContext
from playground.training.pretraining import IGNORED, mask_words
from tests.app_support import open_page

TINY = dict(model="bert", width=32, depth=1, seed=0)


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    """One pretraining run through the CLI (reviews' training sentences, tiny BERT)."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_HOME", str(home))
        out = _cli(["--home", str(home), "pretrain", "--corpus", "reviews", "--width", "32",
                    "--depth", "1", "--epochs", "2", "--lr", "0.003", "--json"])
        yield home, Store(home), out


def _cli(argv):
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(argv)
    assert code == 0, buffer.getvalue()
    return json.loads(buffer.getvalue().strip().splitlines()[-1])


def test_masking_hides_words_only_and_follows_bert_shares():
    coder = fit_coder(["a good film", "not a good film at all", "bad acting"] * 50)
    ids = torch.from_numpy(coder.encode(["not a good film at all"] * 4000)).long()
    inputs, answers = mask_words(ids, coder, 0.15, torch.Generator().manual_seed(0))
    hidden = answers != IGNORED
    assert not torch.isin(ids[hidden], torch.tensor(coder.special_ids)).any()
    words = ~torch.isin(ids, torch.tensor(coder.special_ids))
    assert abs(hidden.sum() / words.sum() - 0.15) < 0.01
    shown_mask = (inputs[hidden] == coder.mask_id).float().mean()
    kept = (inputs[hidden] == ids[hidden]).float().mean()
    assert abs(shown_mask - 0.8) < 0.02 and 0.08 < kept < 0.12
    assert torch.equal(inputs[~hidden], ids[~hidden])  # nothing else changes


def test_the_guessing_loss_falls(pretrained):
    _, store, out = pretrained
    assert out["status"] == "finished"
    p = out["metrics"]["pretraining"]
    epochs = store.epochs(out["run_id"])
    # From about ln(vocabulary) at random weights (every piece equally likely) to well below
    # it on sentences it never trained on, epoch after epoch, as the run card's curve shows.
    assert p["loss_before"] == pytest.approx(np.log(p["vocabulary"]), rel=0.1)
    assert p["loss_after"] < p["loss_before"] - 1.0
    losses = [p["loss_before"]] + [e["val_loss"] for e in epochs]
    assert len(epochs) == 2 and losses == sorted(losses, reverse=True)
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]


def _started(**values):
    config = make_config(**values)
    ctx = TrainContext(config, SilentReporter(), T.build(config.techniques))
    ctx.store = Store()
    ctx.hook("on_model")
    return ctx


def test_a_fine_tune_starts_from_every_encoder_tensor_and_reads_with_its_tokenizer(
        pretrained):
    home, store, out = pretrained
    run_id = out["run_id"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_HOME", str(home))
        ctx = _started(dataset="reviews", init_from=run_id, train_fraction=0.1, epochs=1,
                       **TINY)
    saved = load_file(str(store.artifact_dir(run_id) / WEIGHTS_FILE))
    mine = ctx.model.state_dict()
    encoder = [k for k in mine if k.startswith("bert.bert.") and ".pooler." not in k]
    assert encoder and set(encoder) <= set(saved)
    for k in encoder:
        torch.testing.assert_close(mine[k], saved[k], rtol=0, atol=0)
    assert torch.count_nonzero(mine["bert.classifier.weight"]) == 0  # a fresh, zero head
    kept = (store.artifact_dir(run_id) / TOKENIZER_FILE).read_text()
    assert ctx.data.coder.to_json() == kept
    np.testing.assert_array_equal(ctx.data.X_train, ctx.data.coder.encode(ctx.data.texts[0]))
    np.testing.assert_array_equal(ctx.data.X_test, ctx.data.coder.encode(ctx.data.texts[2]))


def test_the_cli_run_id_is_what_init_from_takes(pretrained):
    home, _, out = pretrained
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_HOME", str(home))
        tuned = _cli(["--home", str(home), "train", "--dataset", "reviews", "--model", "bert",
                      "--width", "32", "--depth", "1", "--epochs", "1", "--train-fraction",
                      "0.05", "--init-from", out["run_id"], "--json"])
    assert tuned["status"] == "finished"
    transfer = tuned["metrics"]["transfer"]
    assert transfer["source_run_id"] == out["run_id"] and transfer["pretrained"]
    assert transfer["baseline_accuracy"] is not None  # its twin from scratch trained too


def test_mismatches_are_refused_in_plain_words(pretrained):
    home, _, out = pretrained
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PLAYGROUND_HOME", str(home))
        with pytest.raises(ValueError, match="width 32 and depth 1, this one width 64"):
            _started(dataset="reviews", init_from=out["run_id"], **dict(TINY, width=64))
        with pytest.raises(ValueError, match="only sentences can be read"):
            _started(dataset="digits", model="mlp", init_from=out["run_id"])
    with pytest.raises(ConfigError, match="has no encoder to pretrain"):
        make_config(dataset="reviews", model="bow", mask_share=0.15)
    with pytest.raises(ConfigError, match="runs alone"):
        make_config(dataset="reviews", mask_share=0.15, init_from="abc", **TINY)
    with pytest.raises(ConfigError, match="no dataset 'nope'"):
        make_config(dataset="reviews", pretrain_also="nope", **TINY)


def test_a_pretraining_run_is_told_as_guessing_words_and_stays_out_of_class_comparisons(
        pretrained, monkeypatch):
    home, store, out = pretrained
    run = store.get(out["run_id"])
    said = " ".join(headline(run.metrics))
    assert percent(run.metrics["accuracy"]) in said and "hidden words" in said
    assert "test examples right" not in said
    monkeypatch.setenv("PLAYGROUND_WORKERS", "0")
    page = open_page("pages/compare.py")
    try:
        finished = store.list_runs(statuses=("finished",))
        answering = [r for r in finished if "confusion_matrix" in r.metrics]
        if answering:  # the fine-tunes of the tests before: offered, the pretraining not
            assert len(page.multiselect[0].options) == len(answering) < len(finished)
        else:  # the only finished run guesses words: nothing to compare yet
            assert any("No finished runs yet" in i.value for i in page.info)
    finally:
        shared._store.clear()
        shared._feed.clear()
