"""Techniques on sentences: each really acts on text runs, checked against trusted references.

ε of a private text run is recomputed with Opacus' own accountant, int8 is measured against
the float model it came from, a distilled bag of words reads its BERT teacher's answers,
augmentation keeps the sentence frame ([CLS], [SEP], padding) while changing words, and
what does not apply to text is refused with its reason. Runs are tiny (bag of words in about
a second, a one-layer BERT of width 32 on part of the training split).
"""
from __future__ import annotations

import functools
from collections import Counter

import numpy as np
import pytest
import torch

from playground.data.catalog import load_dataset
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training import audits
from playground.training import quantize as Q
from playground.training.artifacts import load_predictions, load_run
from playground.training.config import ConfigError, make_config
from playground.training.loop import train
from playground.training.techniques.augmentation import change_words, word_starts

pytestmark = pytest.mark.filterwarnings(
    "ignore::UserWarning", "ignore::DeprecationWarning", "ignore::FutureWarning")

BERT = dict(dataset="reviews", model="bert", width=32, depth=1, lr=0.002, device="cpu")
BOW = dict(dataset="reviews", model="bow", lr=0.05, device="cpu")


@functools.lru_cache(maxsize=None)
def _run(**values):
    """Train once per distinct config in this test session (results are read, not changed)."""
    return train(make_config(**values))


def opacus_epsilon(metrics: dict) -> float:
    from opacus.accountants import PRVAccountant

    accountant = PRVAccountant()
    accountant.history = [(metrics["noise_multiplier"], metrics["sample_rate"],
                           metrics["dp_steps"])]
    return accountant.get_epsilon(delta=metrics["delta"])


@pytest.fixture(scope="module")
def bert_run(tmp_path_factory):
    """One private, int8 tiny BERT run in a store: the DP, int8 and teacher tests share it."""
    store = Store(tmp_path_factory.mktemp("text") / "home")
    run_id = store.enqueue(make_config(**BERT, epochs=1, train_fraction=0.1, batch_size=64,
                                       dp_noise=1.0, quantize="int8"))
    execute(store, store.claim(0))
    run = store.get(run_id)
    assert run.status == "finished", run.error
    return store, run


def check_epsilon(m: dict, epochs: int, batch_size: int) -> None:
    steps_per_epoch = -(-m["dp_examples"] // batch_size)
    assert m["sample_rate"] == pytest.approx(1 / steps_per_epoch, rel=1e-12)
    assert m["dp_steps"] == epochs * steps_per_epoch
    assert m["epsilon"] == pytest.approx(opacus_epsilon(m), rel=1e-6)
    assert m["dp_clipping"] == "ghost"  # embeddings and attention go through Opacus


def test_dp_epsilon_of_a_bag_of_words_run_is_opacus_accountant():
    check_epsilon(_run(**BOW, epochs=2, batch_size=128, dp_noise=1.0).metrics, 2, 128)


def test_dp_epsilon_of_a_tiny_bert_run_is_opacus_accountant(bert_run):
    _, run = bert_run
    check_epsilon(run.metrics, 1, 64)


def test_int8_tiny_bert_stores_its_embeddings_in_int8_and_answers_as_recorded(bert_run):
    store, run = bert_run
    m, q = run.metrics, run.metrics["quantized"]
    assert "skipped" not in q and "word embeddings" in q["method"]
    loaded = load_run(store, run.id)
    qmodel, _ = Q.as_shipped(loaded.model, "int8", torch.device("cpu"), loaded.data.X_train)
    # Every embedding (words, positions) and every Linear layer is swapped for its int8 kind.
    assert isinstance(qmodel.embedding_layer, torch.ao.nn.quantized.Embedding)
    assert not any(type(mod) in (torch.nn.Linear, torch.nn.Embedding)
                   for mod in qmodel.modules())
    # Sizes measured here, the same way as the run: the embeddings were most of the bytes.
    float_bytes = Q.serialized_bytes(loaded.model)
    assert q["float_size_bytes"] == float_bytes
    assert q["size_bytes"] == Q.serialized_bytes(qmodel) < 0.5 * float_bytes
    assert q["latency_ms"] > 0 and q["latency_ms_batch256"] > 0
    assert abs(q["accuracy"] - m["accuracy"]) <= 0.05
    # The quantized copy reads the float-stored token ids and answers the test set again,
    # here, as the run recorded.
    X = torch.from_numpy(loaded.data.X_test)
    assert X.dtype == torch.float32
    with torch.no_grad():
        qpred = qmodel(X.to(Q.input_dtype("int8", "text"))).argmax(1).numpy()
    assert float((qpred == loaded.data.y_test).mean()) == pytest.approx(q["accuracy"])
    stored = load_predictions(store, run.id)["y_pred"]  # the float model's, as saved
    assert int((qpred != stored).sum()) == q["changed_predictions"]


def test_int8_on_word_counts_is_skipped_with_its_reason_but_shrinks_a_word_network():
    skipped = _run(**BOW, epochs=1, quantize="int8").metrics["quantized"]
    assert "costs more than it saves" in skipped["skipped"]
    # With a hidden layer the word vectors are wide: int8 stores them in a quarter the bytes.
    net = _run(**{**BOW, "model": "bow_net"}, width=32, epochs=1, quantize="int8").metrics
    assert net["quantized"]["size_bytes"] < 0.5 * net["quantized"]["float_size_bytes"]
    assert "word embeddings" in net["quantized"]["method"]
    half = _run(**BOW, epochs=1, quantize="fp16")
    q = half.metrics["quantized"]
    assert q["size_bytes"] < q["float_size_bytes"]
    # Ids above 2,048 survive: fp16 inputs would round them to other words.
    assert half.dataset.X_test.max() > 2048
    assert q["changed_predictions"] <= 0.02 * len(half.dataset.y_test)


def test_pruning_a_bag_of_words_zeroes_its_word_weights():
    result = _run(**BOW, epochs=1, prune=0.6, prune_fine_tune=0)
    weights = result.model.embedding.weight.detach()
    assert result.metrics["sparsity"] == pytest.approx(float((weights == 0).float().mean()))
    assert result.metrics["sparsity"] == pytest.approx(0.6, abs=0.01)


def test_the_tiny_bert_teaches_a_bag_of_words_student(bert_run):
    store, teacher = bert_run
    student = train(make_config(**BOW, epochs=2, train_fraction=0.2,
                                distill_from=teacher.id), store=store)
    m = student.metrics
    assert m["teacher_run_id"] == teacher.id
    assert m["teacher_accuracy"] == pytest.approx(teacher.metrics["accuracy"])
    assert 0.0 <= m["teacher_agreement"] <= 1.0 and 0.0 <= m["accuracy"] <= 1.0


def test_a_new_teacher_for_sentences_is_a_tiny_bert_on_the_same_split():
    from playground.training.techniques.distillation import Distillation, teacher_config

    assert list(Distillation.new_run_choices("teacher", "text")) == ["new-bert"]
    student = make_config(**BOW, epochs=2, distill_from="new-bert")
    teacher = teacher_config(student)
    assert (teacher.model, teacher.dataset, teacher.seed) == ("bert", "reviews", student.seed)
    assert not teacher.techniques
    with pytest.raises(ConfigError) as caught:
        make_config(**BOW, distill_from="new-cnn")
    assert "new-bert" in " ".join(caught.value.problems)


def test_word_augmentation_changes_words_but_keeps_the_sentence_frame():
    data = load_dataset("reviews", 0, 0.2)
    coder = data.coder
    ids = torch.from_numpy(data.X_train[:200])
    starts, specials, pad = word_starts(coder), set(coder.special_ids), coder.pad_id
    cls, sep = coder.id_of("[CLS]"), coder.id_of("[SEP]")

    def changed(seed: int) -> torch.Tensor:
        return change_words(ids, starts, specials, pad, 0.3, torch.Generator().manual_seed(seed))

    out = changed(1)
    assert torch.equal(out, changed(1)) and not torch.equal(out, changed(2))  # seeded
    assert out.shape == ids.shape and out.dtype == ids.dtype
    rows_changed = 0
    for before, after in zip(ids.long().tolist(), out.long().tolist(), strict=True):
        used = [i for i in after if i != pad]
        assert after[:len(used)] == used  # padding only at the end
        assert used[0] == cls and used[-1] == sep and len(used) >= 3
        # Only the sentence's own pieces, none twice as often as before.
        assert not Counter(used) - Counter(i for i in before if i != pad)
        rows_changed += after != before
    assert rows_changed > 100
    # A word's pieces stay together: no row starts its first word with a "##" piece.
    assert all(bool(starts[row[1]]) for row in out.long().tolist())


def test_a_text_run_trains_with_augmentation_and_no_mixup():
    result = _run(**BOW, epochs=1, augment=1.0)
    assert "augmentation_note" not in result.metrics
    assert 0.0 <= result.metrics["accuracy"] <= 1.0


@pytest.mark.parametrize(("flag", "reason"), [
    ("adversarial_training", "no word at all"),
    ("fairness", "which group each writer belongs to"),
])
def test_what_does_not_apply_to_text_is_refused_with_its_reason(flag, reason):
    from playground.training import techniques as T

    with pytest.raises(ConfigError) as caught:
        make_config(**BOW, techniques={flag: {}})
    said = " ".join(caught.value.problems)
    assert T.technique_class(flag).title in said and "text data" in said and reason in said


def test_class_weights_raise_spam_recall():
    spam = dict(dataset="sms_spam", model="bow", lr=0.05, epochs=2, train_fraction=0.3,
                imbalance=0.2, device="cpu")

    def recall(result) -> float:
        y, pred = result.dataset.y_test, result.y_pred
        return float((pred[y == 1] == 1).mean())

    plain, weighted = _run(**spam), _run(**spam, class_weights="balanced")
    assert recall(weighted) > recall(plain)


def test_the_membership_audit_runs_on_text_and_robustness_is_left_out(audits_on):
    metrics = train(make_config(**BOW, epochs=1)).metrics
    attack = metrics["privacy_attack"]
    assert 0.0 <= attack["auc"] <= 1.0
    assert "robustness" not in metrics
    assert "whole words" in audits.robustness_skipped(metrics)
    assert np.isfinite(attack["auc"])
