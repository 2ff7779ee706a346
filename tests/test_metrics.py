"""playground.training.metrics checked against scikit-learn, the trusted reference."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from playground.training import metrics as M


def reference(y_true, y_pred, n):
    labels = list(range(n))
    return (
        accuracy_score(y_true, y_pred),
        f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0),
        sk_confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    )


def check(y_true, y_pred, n):
    acc, f1, cm = reference(y_true, y_pred, n)
    assert M.accuracy(y_true, y_pred) == pytest.approx(acc, abs=1e-12)
    assert M.f1_macro(y_true, y_pred, n) == pytest.approx(f1, abs=1e-12)
    assert M.confusion_matrix(y_true, y_pred, n) == cm


def random_labels(seed: int):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 11))
    size = int(rng.integers(1, 300))
    y_true = rng.integers(0, n, size)
    # Mostly right, sometimes wrong, like a trained model.
    wrong = rng.random(size) < rng.uniform(0, 1)
    y_pred = np.where(wrong, rng.integers(0, n, size), y_true)
    return y_true, y_pred, n


@pytest.mark.parametrize("seed", range(40))
def test_random_labels_match_sklearn(seed):
    check(*random_labels(seed))


@pytest.mark.parametrize("seed", range(10))
def test_a_class_never_predicted_matches_sklearn(seed):
    y_true, y_pred, n = random_labels(1000 + seed)
    never = seed % n
    y_true = np.concatenate([y_true, [never] * 3])  # present in the truth ...
    y_pred = np.concatenate([y_pred, [(never + 1) % n] * 3])
    y_pred = np.where(y_pred == never, (never + 1) % n, y_pred)  # ... but never predicted
    assert never in y_true and never not in y_pred
    check(y_true, y_pred, n)
    # Its row of the confusion matrix is all off the diagonal.
    cm = np.array(M.confusion_matrix(y_true, y_pred, n))
    assert cm[never, never] == 0 and cm[:, never].sum() == 0


def test_a_class_never_present_nor_predicted_scores_zero_in_the_mean():
    y_true = np.array([0, 0, 1, 1, 1])
    y_pred = np.array([0, 1, 1, 1, 0])
    check(y_true, y_pred, 3)
    two_classes = M.f1_macro(y_true, y_pred, 2)
    assert M.f1_macro(y_true, y_pred, 3) == pytest.approx(two_classes * 2 / 3)
    # When every class occurs in the truth (as in a stratified test split), sklearn's
    # default label set agrees too.
    assert two_classes == pytest.approx(f1_score(y_true, y_pred, average="macro",
                                                  zero_division=0))


def test_perfect_and_all_wrong_predictions():
    y = np.arange(10) % 5
    check(y, y, 5)
    assert M.accuracy(y, y) == 1.0 and M.f1_macro(y, y, 5) == 1.0
    wrong = (y + 1) % 5
    check(y, wrong, 5)
    assert M.accuracy(y, wrong) == 0.0 and M.f1_macro(y, wrong, 5) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_confusion_matrix_properties(seed):
    y_true, y_pred, n = random_labels(2000 + seed)
    cm = np.array(M.confusion_matrix(y_true, y_pred, n))
    assert cm.shape == (n, n) and cm.sum() == len(y_true)
    assert cm.sum(axis=1).tolist() == np.bincount(y_true, minlength=n).tolist()  # rows: truth
    assert cm.sum(axis=0).tolist() == np.bincount(y_pred, minlength=n).tolist()  # cols: guess
    assert np.trace(cm) / cm.sum() == pytest.approx(M.accuracy(y_true, y_pred))
    assert all(isinstance(v, int) for row in M.confusion_matrix(y_true, y_pred, n) for v in row)


def test_results_are_plain_python_numbers_for_json():
    y_true, y_pred, n = random_labels(7)
    assert type(M.accuracy(y_true, y_pred)) is float
    assert type(M.f1_macro(y_true, y_pred, n)) is float


def test_accepts_lists_as_well_as_arrays():
    check([0, 1, 2, 2], [0, 2, 2, 1], 3)


@pytest.mark.parametrize("seed", range(5))
def test_recall_by_class_matches_sklearn(seed):
    from sklearn.metrics import recall_score

    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, 200)
    y_pred = np.where(rng.random(200) < 0.6, y_true, rng.integers(0, 4, 200))  # never a 4
    ours = M.recall_by_class(y_true, y_pred, 6)  # class 5: never present
    ref = recall_score(y_true, y_pred, average=None, labels=range(6), zero_division=0)
    np.testing.assert_allclose(ours, ref)
    assert M.imbalanced({"train_class_counts": [30, 10]}) and not M.imbalanced(
        {"train_class_counts": [30, 11]})
