"""The model zoo and the datasets, trained for real (few epochs, CPU).

References: chance (the majority class share of the test split), scikit-learn's
LogisticRegression for what a straight boundary can reach, the raw scikit-learn data for
the splits and scaling, and safetensors files read back into a freshly built model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.linear_model import LogisticRegression

from models.base import ModelSpec, all_model_infos, build_model, model_info
from playground.common.paths import PREDICTIONS_FILE, WEIGHTS_FILE
from playground.data import builtin as D
from playground.data import corpora
from playground.data.catalog import all_dataset_infos, load_dataset
from playground.training.config import make_config
from playground.training.loop import train

# Few epochs keep the file fast on two CPU cores; each is plenty to beat chance.
EPOCHS = {"cnn": 3, "vit": 8, "bert": 2, "bow_net": 4}
DEFAULT_EPOCHS = 10
SHAPE = {"bert": {"width": 32, "depth": 1}}  # one small layer reads reviews well above chance
MARGIN = 0.15

# Concentric rings (circles) and arms wound into each other (spirals) cannot be split by a
# straight line, so a linear model is expected to stay near chance there. Spirals was put
# here after running it: logistic regression reaches only about 0.64-0.67 (seeds 0-2), and
# scikit-learn's exact LogisticRegression gets the same (~0.68) on the same split, so the
# ceiling is a property of the data, not of our training. The arms are mirror images
# through the centre, so the best line only gets the points near the arm ends right. That is
# a little above chance but far below a curved boundary (the MLP reaches ~0.95); it fits a
# "linear limit" property test, and an above-chance test at +0.15 would sit on a knife edge.
NOT_LINEARLY_SEPARABLE = {"circles", "spirals"}

PAIRS = [(m.name, d.name) for m in all_model_infos() for d in all_dataset_infos()
         if d.kind in m.kinds]
# The tiny BERT is tried on the review sentences only: on 3,300 long text messages an epoch
# costs more than the rest of this file, and the word-count models cover spam.
SLOW = {("bert", "sms_spam")}
LINEAR_LIMIT = [(m, d) for m, d in PAIRS
                if model_info(m).linear and d in NOT_LINEARLY_SEPARABLE]
# The shortcut digits are the digits with a dot drawn in, trained on in test_shortcut.py,
# the shortcut reviews the reviews with a word added, in test_text_shift.py: training every
# model on them again would only cost time.
VARIANTS = {"digits_shortcut", "reviews_shortcut"}
ABOVE_CHANCE = [pair for pair in PAIRS if pair not in LINEAR_LIMIT and pair not in SLOW
                and pair[1] not in VARIANTS]


def pair_ids(pairs):
    return [f"{m}-{d}" for m, d in pairs]


def config_for(model: str, dataset: str, **overrides):
    values = dict(dataset=dataset, model=model, lr=model_info(model).default_lr,
                  epochs=EPOCHS.get(model, DEFAULT_EPOCHS), seed=0, **SHAPE.get(model, {}))
    return make_config(**{**values, **overrides})


def word_counts(ids: np.ndarray, vocab: int) -> np.ndarray:
    counts = np.zeros((len(ids), vocab))
    for row, line in zip(counts, ids.astype(int), strict=True):
        np.add.at(row, line[line != 0], 1)
    return counts


def chance(dataset: str) -> float:
    """What always guessing the most common class scores on the test split."""
    y = load_dataset(dataset).y_test
    return float(np.bincount(y).max() / len(y))


def sklearn_linear_accuracy(dataset: str) -> float:
    data = load_dataset(dataset)
    flat = lambda a: a.reshape(len(a), -1)  # noqa: E731
    if data.coder is not None:  # text: logistic regression over the same word-piece counts
        flat = lambda a: word_counts(a, data.vocab_size)  # noqa: E731
    clf = LogisticRegression(max_iter=5000).fit(flat(data.X_train), data.y_train)
    return float(clf.score(flat(data.X_test), data.y_test))


def test_the_pair_lists_cover_every_model_and_dataset():
    assert {m for m, _ in PAIRS} == {m.name for m in all_model_infos()}
    assert {d for _, d in PAIRS} == {d.name for d in all_dataset_infos()}
    assert {("cnn", "digits"), ("vit", "digits")} <= set(PAIRS)
    assert ("cnn", "wine") not in PAIRS
    assert LINEAR_LIMIT and set(ABOVE_CHANCE).isdisjoint(LINEAR_LIMIT)


@pytest.mark.parametrize(("model", "dataset"), ABOVE_CHANCE, ids=pair_ids(ABOVE_CHANCE))
def test_trains_above_chance(model, dataset):
    result = train(config_for(model, dataset))
    m = result.metrics
    data = result.dataset
    floor = chance(dataset)
    assert floor >= 1 / data.n_classes - 1e-9
    # Rare classes (spam is 13 %) leave less room above chance than MARGIN: half of it.
    assert m["accuracy"] >= floor + min(MARGIN, (1 - floor) / 2), (m["accuracy"], floor)
    # The reported numbers agree with the predictions they were computed from.
    assert m["accuracy"] == pytest.approx(np.mean(result.y_pred == data.y_test))
    assert m["test_examples"] == len(data.y_test) == np.array(m["confusion_matrix"]).sum()
    assert m["epochs_run"] == len(result.history) == config_for(model, dataset).epochs
    assert m["params"] == sum(p.numel() for p in result.model.parameters())
    assert m["latency_ms"] > 0 and m["train_seconds"] > 0
    np.testing.assert_allclose(result.probs.sum(axis=1), 1, rtol=1e-5)
    if model_info(model).linear:
        # A straight boundary trained by us does about as well as scikit-learn's.
        assert m["accuracy"] >= sklearn_linear_accuracy(dataset) - 0.1


@pytest.mark.parametrize(("model", "dataset"), LINEAR_LIMIT, ids=pair_ids(LINEAR_LIMIT))
def test_linear_model_cannot_split_curved_data_but_mlp_can(model, dataset):
    assert sklearn_linear_accuracy(dataset) < 0.75  # the data's property, by the reference
    linear = train(config_for(model, dataset, epochs=20)).metrics["accuracy"]
    mlp = train(config_for("mlp", dataset, epochs=30)).metrics["accuracy"]
    assert linear < 0.75, linear
    assert mlp > 0.85, mlp


@pytest.mark.parametrize(
    ("model", "dataset", "epochs"), [("mlp", "moons", 5), ("cnn", "digits", 1)],
)
def test_same_seed_same_result(model, dataset, epochs):
    config = config_for(model, dataset, epochs=epochs, dropout=0.3)
    a, b = train(config), train(config)
    for key in ("accuracy", "f1_macro", "confusion_matrix", "val_accuracy", "params"):
        assert a.metrics[key] == b.metrics[key], key
    np.testing.assert_array_equal(a.y_pred, b.y_pred)
    np.testing.assert_array_equal(a.probs, b.probs)
    strip = lambda h: [{k: v for k, v in e.items() if k != "seconds"} for e in h]  # noqa: E731
    assert strip(a.history) == strip(b.history)
    # And the seed matters: another one starts from other weights (and other splits).
    c = train(config_for(model, dataset, epochs=epochs, dropout=0.3, seed=1))
    assert not np.array_equal(a.probs, c.probs)


def first_dataset_for(model: str) -> str:
    return next(d for m, d in PAIRS if m == model)


@pytest.mark.parametrize("model", [m.name for m in all_model_infos()])
def test_safetensors_files_load_back_into_a_fresh_model(model, tmp_path: Path):
    dataset = first_dataset_for(model)
    config = config_for(model, dataset, epochs=1, dropout=0.3, width=32)
    result = train(config, out_dir=tmp_path)
    weights_path, preds_path = tmp_path / WEIGHTS_FILE, tmp_path / PREDICTIONS_FILE
    assert weights_path.is_file() and preds_path.is_file()
    assert result.metrics["size_bytes"] == weights_path.stat().st_size

    data = load_dataset(dataset, config.seed, config.noise)
    spec = ModelSpec(input_shape=data.X_train.shape[1:], n_classes=len(data.class_names),
                     width=config.width, depth=config.depth, vocab_size=data.vocab_size)
    fresh = build_model(model, spec)
    fresh.load_state_dict(load_file(str(weights_path)), strict=True)
    fresh.eval()
    with torch.no_grad():
        probs = fresh(torch.from_numpy(data.X_test)).softmax(dim=1).numpy()

    saved = load_file(str(preds_path))
    assert set(saved) == {"y_true", "y_pred", "probs"}
    np.testing.assert_array_equal(saved["y_true"].numpy(), data.y_test)
    np.testing.assert_array_equal(saved["y_pred"].numpy(), result.y_pred)
    np.testing.assert_array_equal(probs.argmax(axis=1), saved["y_pred"].numpy())
    np.testing.assert_allclose(probs, saved["probs"].numpy(), rtol=1e-5, atol=1e-6)
    assert result.metrics["params"] == sum(p.numel() for p in fresh.parameters())
    assert result.metrics["accuracy"] == pytest.approx(
        float((saved["y_pred"] == saved["y_true"]).float().mean()))


def test_size_without_out_dir_is_the_bytes_of_the_tensors(tmp_path: Path):
    config = config_for("mlp", "wine", epochs=1)
    in_memory = train(config).metrics["size_bytes"]
    on_disk = train(config, out_dir=tmp_path).metrics["size_bytes"]
    tensors = load_file(str(tmp_path / WEIGHTS_FILE))
    assert in_memory == sum(t.numel() * t.element_size() for t in tensors.values())
    assert in_memory < on_disk < in_memory + 4096  # the file adds only a small header


# -- splits and scaling ------------------------------------------------------------------

SOURCE_SIZE = {
    "digits": len(load_digits().target), "digits_shortcut": len(load_digits().target),
    "wine": len(load_wine().target),
    "breast_cancer": len(load_breast_cancer().target),
    "moons": D.N_POINTS, "circles": D.N_POINTS, "spirals": D.N_POINTS, "loans": D.N_LOANS,
    "reviews": len(corpora.reviews().texts),
    "reviews_shortcut": len(corpora.reviews().texts), "sms_spam": len(corpora.sms_spam().texts),
}
SCALED = [d.name for d in all_dataset_infos() if d.kind in ("tabular", "points")]


def rows(a: np.ndarray) -> set[bytes]:
    return {r.tobytes() for r in a.reshape(len(a), -1)}


def test_every_dataset_has_a_known_source_size():
    assert set(SOURCE_SIZE) == {d.name for d in all_dataset_infos()}


@pytest.mark.parametrize("name", sorted(SOURCE_SIZE))
def test_splits_are_disjoint_complete_and_stratified(name):
    data = load_dataset(name, 0)
    splits = [(data.X_train, data.y_train), (data.X_val, data.y_val),
              (data.X_test, data.y_test)]
    total = SOURCE_SIZE[name]
    assert sum(len(X) for X, _ in splits) == total
    for (X, y), share in zip(splits, (0.6, 0.2, 0.2), strict=True):
        assert len(X) == len(y) and abs(len(X) - share * total) <= 1
        assert X.dtype == np.float32 and y.dtype == np.int64
    if data.texts is not None:
        # Sentences can repeat (the same spam sent twice), so rows are told apart by their
        # place in the corpus; each split's ids are its own sentences, encoded.
        assert sum(len(t) for t in data.texts) == total
        for (X, _), texts in zip(splits, data.texts, strict=True):
            np.testing.assert_array_equal(X, data.coder.encode(texts))
        splits = splits[:0]
    train_rows, val_rows, test_rows = (rows(X) for X, _ in splits) if splits else (
        set(), set(), set())
    if not splits:
        return
    assert len(train_rows) + len(val_rows) + len(test_rows) == total  # no row in two splits
    assert train_rows.isdisjoint(val_rows) and train_rows.isdisjoint(test_rows)
    assert val_rows.isdisjoint(test_rows)
    all_y = np.concatenate([y for _, y in splits])
    assert np.bincount(all_y).size == data.n_classes
    for y in (data.y_train, data.y_test):
        share = np.bincount(y, minlength=data.n_classes) / len(y)
        np.testing.assert_allclose(share, np.bincount(all_y) / total, atol=0.03)


def test_splits_depend_on_the_seed_only():
    a, b, c = load_dataset("wine", 3), D._wine(3, 0.2), load_dataset("wine", 4)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert rows(a.X_test) != rows(c.X_test)


@pytest.mark.parametrize("name", SCALED)
def test_features_are_scaled_with_training_statistics(name):
    data = load_dataset(name, 0)
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0, atol=1e-5)
    std = data.X_train.std(axis=0)
    np.testing.assert_allclose(std[std > 0], 1, rtol=1e-4)
    # The test split was scaled with the training split's numbers, not its own.
    assert np.abs(data.X_test.mean(axis=0)).max() > 1e-3


@pytest.mark.parametrize("name,loader", [("wine", load_wine),
                                         ("breast_cancer", load_breast_cancer)])
def test_one_affine_map_fitted_on_train_scales_all_splits(name, loader):
    """Per column, all splits share one map a*x+b, and that map standardises train."""
    raw = loader().data
    data = load_dataset(name, 0)
    scaled = np.concatenate([data.X_train, data.X_val, data.X_test]).astype(np.float64)
    for j in range(raw.shape[1]):
        x, z = np.sort(raw[:, j]), np.sort(scaled[:, j])  # an increasing map keeps order
        a, b = np.polyfit(x, z, 1)
        np.testing.assert_allclose(a * x + b, z, atol=1e-4 * max(1.0, np.abs(z).max()))
        # Train standardised by that same map => it used the training mean and std.
        train_raw = (data.X_train[:, j].astype(np.float64) - b) / a
        assert b == pytest.approx(-train_raw.mean() * a, abs=1e-3)
        assert a == pytest.approx(1 / train_raw.std(), rel=1e-3)


def test_digits_pixels_are_scaled_by_a_fixed_division():
    data = load_dataset("digits", 0)
    assert data.X_train.shape[1:] == data.image_shape == (1, 8, 8)
    source = rows((load_digits().images / 16.0).astype(np.float32)[:, None])
    assert rows(data.X_train) | rows(data.X_val) | rows(data.X_test) == source
    assert 0.0 <= min(data.X_train.min(), data.X_test.min())
    assert max(data.X_train.max(), data.X_test.max()) <= 1.0
