"""Under shift: every finished run is also scored on shifted copies of its test set. Severity
0 is the clean test set exactly; the shifts do what they say (a column moves by exactly k
of its standard deviations, a group holds exactly the share asked, the noise is the run's seed's);
and on digits, the network trained with augmentation (turns of up to 15°) keeps more of the
digits turned by 20° right than the one without, pooled over seeds, beyond luck."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from playground.common.metric_registry import flat, leaderboard_metrics, pareto_scores
from playground.data.catalog import load_dataset
from playground.experiments.stories import STORIES, StoryRuns
from playground.results import shift_words
from playground.results.narrative import run_story
from playground.runs.store import Store
from playground.training import shift as S
from playground.training.audits import shift as shift_audit
from playground.training.config import make_config
from playground.training.loop import train
from tests.run_support import train_now

SEEDS = (0, 1, 2)
STORY = STORIES["next_month"]
# The story's settings, fewer epochs: enough for augmentation's robustness to show.
EPOCHS = 6


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """(store, [(plain, augmented) per seed]): the story's two runs on three seeds."""
    store = Store(tmp_path_factory.mktemp("shift") / "home")
    pairs = []
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # two cores shared by many processes: one thread is fastest
    try:
        for seed in SEEDS:
            pair = []
            for role in ("plain", "augmented"):
                values = dict(STORY.step(role).values, epochs=EPOCHS, seed=seed)
                pair.append(store.get(train_now(store, **values)))
            pairs.append(tuple(pair))
    finally:
        torch.set_num_threads(before)
    return store, pairs


def test_severity_zero_is_the_clean_test_set(digits):
    _, pairs = digits
    for run in (r for pair in pairs for r in pair):
        table = shift_audit.report(run.metrics)
        assert set(table) == {s.key for s in S.shifts_for("image")}
        for by in table.values():
            assert by["0"] == run.metrics["accuracy"]
            assert set(by) == {"0", "1", "2", "3"}
    data = load_dataset("digits", 0, 0.0)
    split = S.clean_split(data)
    for shift in S.shifts_for("image"):
        assert S.shifted(shift, split, None, 0, 0) is split


def test_scoring_severity_zero_again_gives_the_run_accuracy():
    """Through the model itself (not the stored decisions): the same accuracy, exactly."""
    result = train(make_config(dataset="moons", model="mlp", epochs=3))
    table, info = S.measure(result.model, result.dataset, "cpu", 0)
    assert {by["0"] for by in table.values()} == {result.metrics["accuracy"]}
    assert info["targets"] and set(info["right"]) == set(table)


def test_the_decision_rule_decides_under_shift_too():
    """A fairness threshold run: severity 0 equals its own (thresholded) accuracy, and the
    shifted scores come from its thresholds, not the plain most-likely class."""
    result = train(make_config(dataset="loans", model="logreg", epochs=3,
                               fairness="equalized_odds"))
    m = result.metrics
    table = shift_audit.report(m)
    assert {by["0"] for by in table.values()} == {m["accuracy"]}
    assert "more_common" in table  # a table with groups: one made more common
    assert m["fairness_postprocessing"]["changed_predictions"] > 0
    plain, _ = S.measure(result.model, result.dataset, "cpu", 0)  # no decision rule
    argmax = float(np.mean(result.probs.argmax(axis=1) == result.dataset.y_test))
    assert {by["0"] for by in plain.values()} == {argmax}
    assert plain != table  # the thresholds changed decisions on the shifted rows as well


def test_shifts_do_what_they_say():
    data = load_dataset("loans", 0, 0.0)
    split = S.clean_split(data)
    moved, spread = S.find("moved"), S.find("spread")
    for _name, col in S.numeric_targets(data):
        for level in S.SEVERITIES:
            out = S.shifted(moved, split, col, level, 0)
            sd = split.X[:, col].std()
            np.testing.assert_allclose(out.X[:, col] - split.X[:, col],
                                       S.SIGMAS[level - 1] * sd, rtol=1e-4)
            others = [i for i in range(split.X.shape[1]) if i != col]
            assert np.array_equal(out.X[:, others], split.X[:, others])
            wide = S.shifted(spread, split, col, level, 0).X[:, col]
            assert wide.std() == pytest.approx(split.X[:, col].std() * S.SPREAD[level - 1],
                                               rel=1e-4)
    more = S.find("more_common")
    for _name, target in S.category_targets(data):
        features, value = target
        for level in S.SEVERITIES:
            out = S.shifted(more, split, target, level, 3)
            inside = (out.groups == value if features is None
                      else np.all(out.X[:, list(features)] == value, axis=1))
            assert len(out.y) == len(split.y)
            assert inside.mean() == pytest.approx(S.SHARES[level - 1], abs=1 / len(out.y))
    pictures = S.clean_split(load_dataset("digits", 0, 0.0))
    noise = S.find("noise")
    a, b = (S.shifted(noise, pictures, None, 2, 0) for _ in range(2))
    assert np.array_equal(a.X, b.X)  # seeded: the same run gets the same speckles
    assert not np.array_equal(a.X, S.shifted(noise, pictures, None, 2, 1).X)
    assert 0 <= a.X.min() and a.X.max() <= 1  # still pictures
    turned = S.shifted(S.find("rotation"), pictures, None, 3, 0).X
    # turning by 30° moves ink but keeps most of it on an 8×8 digit
    assert not np.array_equal(turned, pictures.X)
    assert turned.sum() == pytest.approx(pictures.X.sum(), rel=0.15)


def test_augmentation_keeps_more_digits_right_when_they_are_turned(digits):
    store, pairs = digits
    pooled = shift_words.pooled_luck(pairs, "rotation", S.MIDDLE)
    assert pooled is not None and pooled.examples == 3 * pairs[0][0].metrics["test_examples"]
    assert pooled.diff > 0 and pooled.beyond, pooled.verdict()
    # the pooled answers agree with the stored accuracies
    mean = np.mean([b.metrics["shift"]["rotation"]["2"] for _, b in pairs])
    assert pooled.accuracy_b == pytest.approx(mean)


def test_the_summary_is_a_declared_score_in_the_stored_metrics(digits):
    store, pairs = digits
    run = store.get(pairs[0][0].id)  # as stored and read back
    assert shift_audit.SHIFT_ACCURACY in pareto_scores()
    assert shift_audit.SHIFT_ACCURACY in leaderboard_metrics()
    middles = [by[str(S.MIDDLE)] for by in run.metrics["shift"].values()]
    assert flat(run.metrics)[shift_audit.SHIFT_ACCURACY.key] == pytest.approx(np.mean(middles))


def test_the_story_and_the_card_say_it_in_words(digits):
    store, pairs = digits
    plain, aug = pairs[0]
    said = " ".join(run_story(store, aug))
    rotation = S.find("rotation").levels[S.MIDDLE - 1]
    assert "without data augmentation; with data augmentation" in said, said
    walk = STORY.explain(STORY, StoryRuns({"plain": plain, "augmented": aug}, store),
                         {"plain": store.epochs(plain.id), "augmented": store.epochs(aug.id)})
    text = " ".join([walk.headline, *walk.paragraphs])
    assert f"turning the digits by {rotation}" in text.lower()
    cost = (plain.metrics["accuracy"] - plain.metrics["shift"]["rotation"]["2"]) * 100
    assert f"{cost:.1f} points" in text
    assert list(walk.table.index) == [s.label for s in STORY.steps]
    assert walk.chart.to_dict()  # the chart builds


def test_a_later_kind_registers_its_own_shifts():
    assert S.shifts_for("no such kind") == []
    shift = S.Shift("swapped", "Swapped", ("a", "b", "c"), "swapping {level}",
                    lambda split, t, level, rng: replace(split, X=split.X[::-1]))
    S.register_shift("no such kind", shift)
    try:
        assert S.shifts_for("no such kind") == [shift] and S.find("swapped") is shift
        with pytest.raises(ValueError):
            S.register_shift("no such kind", shift)
    finally:
        del S.SHIFTS["no such kind"]
