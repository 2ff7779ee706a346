"""The shortcut digits and the story "The model found a shortcut": the dot tells the digit in
about 90 % of the training and validation pictures and nothing in the test pictures; an image
network trained on them falls on the test pictures against one trained on the plain digits
(McNemar's exact test on the same test pictures), and its explanations put their weight on
the dot, many times the dot's share of the picture."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from scipy.stats import binomtest, chi2_contingency

from playground.common.formatting import percent
from playground.data import shortcut as SC
from playground.data.builtin import DATASETS
from playground.data.catalog import load_dataset
from playground.experiments import stories as S
from playground.experiments.stories import shortcut as story_module
from playground.explain.methods.ig import IntegratedGradients
from playground.explain.methods.saliency import Saliency
from playground.runs.store import Store
from playground.runs.worker import execute

SEED = 0


def test_the_dot_tells_the_digit_in_training_and_validation_and_nothing_in_test():
    plain, cut = load_dataset("digits", SEED), load_dataset("digits_shortcut", SEED)
    # The same pictures in the same splits, labels unchanged.
    for part in ("y_train", "y_val", "y_test"):
        assert np.array_equal(getattr(plain, part), getattr(cut, part))
    marks = SC.split_markers(plain.y_train, plain.y_val, len(plain.y_test), SEED)
    # Each picture differs from its plain twin by exactly its recorded dot, nothing else.
    for part, m in zip(("X_train", "X_val", "X_test"), marks, strict=True):
        assert np.array_equal(getattr(cut, part), SC.draw_markers(getattr(plain, part), m))
    for (y, m), expected in zip(((plain.y_train, marks[0]), (plain.y_val, marks[1]),
                                 (plain.y_test, marks[2])), (0.9, 0.9, 0.1), strict=True):
        matching = int(np.sum(m == y))
        # The share that tells is what was asked for: no binomial test rejects it.
        assert binomtest(matching, len(y), expected).pvalue > 0.001, (matching, len(y))
    # Training and validation pictures carry their own digit's dot or none at all...
    assert set(np.unique(marks[0][marks[0] != plain.y_train])) == {SC.NO_MARKER}
    # ...test pictures all carry one, and which one is unrelated to the digit.
    assert (marks[2] != SC.NO_MARKER).all()
    table = np.histogram2d(plain.y_test, marks[2], bins=10)[0]
    assert chi2_contingency(table).pvalue > 0.001
    # Each digit's dot has a place of its own on a blank edge.
    assert len(set(SC.MARKERS)) == 10 and {c for _, c in SC.MARKERS} == {0, 7}
    assert "made here" in DATASETS.get("digits_shortcut")[0].title


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two cores shared by many processes: one torch thread trains and explains these tiny
    networks fastest."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    """The story's two runs, queued as the story queues them and trained here."""
    store = Store(tmp_path_factory.mktemp("shortcut") / "home")
    ids = S.queue_story(store, S.STORIES["shortcut"], seed=SEED)
    while (run := store.claim(os.getpid())) is not None:
        assert execute(store, run) == "finished", store.get(run.id).error
    return store, {role: store.get(i) for role, i in ids.items()}


def test_the_story_runs_differ_only_in_their_data(story):
    _, runs = story
    plain, cut = runs["clean"].config, runs["shortcut"].config
    assert cut.dataset == "digits_shortcut" and plain.dataset == "digits"
    assert cut.model_copy(update={"dataset": "digits"}) == plain


def test_accuracy_falls_on_the_test_pictures_beyond_luck(story):
    store, runs = story
    luck = story_module.luck_between(store, runs["clean"], runs["shortcut"])
    assert luck is not None and luck.paired and luck.beyond, luck.verdict()
    assert luck.diff <= -0.1  # at least 10 points fewer test digits read
    # While its validation pictures, made like its training ones, look as good as the plain
    # run's: the shortcut is invisible there.
    val = {r: store.epochs_for([runs[r].id])[-1]["val_accuracy"] for r in runs}
    assert val["shortcut"] >= val["clean"] - 0.02
    # Its mistakes follow the random dot far more often than chance (a wrong answer names
    # one of the nine other digits; the dot's digit is one of them, or the true digit).
    fooled = story_module.misled(store, runs["shortcut"])
    assert fooled is not None and fooled.wrong == round((1 - luck.accuracy_b) * luck.examples)
    assert binomtest(fooled.follow_dot, fooled.wrong, 1 / 9, alternative="greater").pvalue < 1e-6
    assert fooled.dot_strongest > fooled.looked_at / 2


def test_explanations_put_their_weight_on_the_dot(story):
    store, runs = story
    X, y = story_module.dotted_pictures(store, runs["clean"])
    cut = story_module.dot_weight(store, runs["shortcut"], X, y)
    plain = story_module.dot_weight(store, runs["clean"], X, y)
    ig, sal = IntegratedGradients.name, Saliency.name
    assert cut[ig] >= 5 * SC.PATCH_SHARE, cut
    # Saliency spreads over every pixel the answer is sensitive to, the strokes too; its
    # share on the dot is smaller than IG's but still several times the dot's share, and
    # several times what a model that never saw a dot gives the same pixel.
    assert cut[sal] >= 3 * SC.PATCH_SHARE, cut
    for m in (ig, sal):
        assert cut[m] >= 3 * plain[m], (m, cut, plain)


def test_the_walkthrough_tells_the_fall_and_the_dot_from_the_runs(story):
    store, runs = story
    record = S.StoryRecord("shortcut", {r: run.id for r, run in runs.items()}, 0.0)
    walk = S.walkthrough(S.STORIES["shortcut"], store, record)
    assert walk is not None and walk.headline.startswith("The model found a shortcut")
    text = " ".join(walk.paragraphs)
    for run in runs.values():
        assert percent(run.metrics["accuracy"]) in text and run.id in text
    assert "beyond luck" in walk.headline
    assert "Integrated Gradients" in text and "Explain" in text
    assert list(walk.table.index) == ["Plain digits", "Digits with a giveaway dot"]
