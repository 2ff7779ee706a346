"""Text under shift, with a shortcut, and where it fails.

The text shifts do what they say (a typo is one slip of the keyboard in a word, the share of
words touched or dropped is the one asked), severity 0 is the clean test set exactly, and
typos at their strongest cost a word-count model accuracy, beyond luck. The review sentences
with a planted word carry it as promised (about 90 % matching in training and validation, at
random in the test sentences); a word-count model trained on them falls against one trained
on the plain reviews (McNemar on the same test sentences) and puts many times the median
word's weight on the planted words. Text cohorts find the words where errors were planted.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import binomtest, chi2_contingency

from playground.common.formatting import percent
from playground.data import shortcut as SC
from playground.data.builtin import DATASETS
from playground.data.catalog import load_dataset
from playground.data.words import words_of
from playground.experiments.stories import shortcut as story
from playground.results import cohorts as C
from playground.results import luck as luck_test
from playground.results import shift_words
from playground.runs.store import Store
from playground.training import shift as S
from playground.training.artifacts import load_predictions, load_run, predict_probs
from playground.training.audits import shift as shift_audit
from tests.run_support import train_now

SEED = 0
# the shortcut story's word-count runs, by dataset
BOW = {s["dataset"]: dict(s, seed=SEED) for s in (story.TEXT_PLAIN, story.TEXT_SHORTCUT)}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(store, {dataset: finished bow run}) on the plain and the planted reviews."""
    store = Store(tmp_path_factory.mktemp("text_shift") / "home")
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # two cores shared by many processes: one thread is fastest
    try:
        found = {ds: store.get(train_now(store, **values)) for ds, values in BOW.items()}
    finally:
        torch.set_num_threads(before)
    return store, found


def _edit_distance_one(a: str, b: str) -> bool:
    """b is a with two neighbours swapped, one letter left out, or one letter doubled."""
    if len(b) == len(a) - 1:
        return any(a[:i] + a[i + 1:] == b for i in range(len(a)))
    if len(b) == len(a) + 1:
        return any(b[:i] + b[i + 1:] == a and b[i] == b[i - 1 if i else 1]
                   for i in range(len(b)))
    return len(a) == len(b) and any(
        a[:i] + a[i + 1] + a[i] + a[i + 2:] == b for i in range(len(a) - 1))


def test_text_shifts_do_what_they_say():
    data = load_dataset("reviews", SEED)
    texts = data.texts[2]
    rng = np.random.default_rng(0)
    touched = total = 0
    for text in texts[:200]:
        before, after = words_of(text), words_of(S.with_typos(text, S.TYPOS[1], rng))
        assert len(before) == len(after)  # a typo changes a word, never the word count
        for a, b in zip(before, after, strict=True):
            assert a == b or _edit_distance_one(a, b), (a, b)
            touched += a != b
        total += len(before)
    # (a swap of two equal letters changes nothing: a little under the share asked)
    assert 0.8 * S.TYPOS[1] < touched / total <= S.TYPOS[1] + 0.03
    kept = total_words = 0
    for text in texts:
        before, after = words_of(text), words_of(S.without_words(text, S.DROPS[2], rng))
        assert after and _is_subsequence(after, before)  # the words left, in their order
        kept, total_words = kept + len(after), total_words + len(before)
    dropped = total_words - kept
    # the share asked, a little under it: a sentence keeps one word when all are drawn
    assert S.DROPS[2] - 0.03 < dropped / total_words <= S.DROPS[2] + 0.02
    # Severity 0 is the split itself; the unedited sentences encode to the test ids exactly.
    split = S.clean_split(data)
    for shift in S.shifts_for("text"):
        (_, target), = shift.targets(data)
        assert S.shifted(shift, split, target, 0, SEED) is split
        same = S._sentences(lambda t, share, r: t, (0.0,) * 3)(split, target, 1, rng)
        np.testing.assert_array_equal(same.X, data.X_test)
        # seeded: the same shifted sentences every time
        a, b = (S.shifted(shift, split, target, 3, SEED).X for _ in range(2))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, data.X_test)


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(w in it for w in short)


def test_severity_zero_is_clean_and_typos_cost_a_word_count_model(runs):
    store, found = runs
    run = found["reviews"]
    table = shift_audit.report(run.metrics)
    assert set(table) == {s.key for s in S.shifts_for("text")} == {"typos", "dropped_words"}
    for by in table.values():
        assert by["0"] == run.metrics["accuracy"] and set(by) == {"0", "1", "2", "3"}
    # The stored numbers are the model's answers on the shifted sentences, recomputed here.
    loaded = load_run(store, run.id)
    split = S.clean_split(loaded.data)
    (_, target), = S.find("typos").targets(loaded.data)
    stored = load_predictions(store, run.id)
    for severity in (0, 3):
        shifted = S.shifted(S.find("typos"), split, target, severity, run.config.seed)
        right = predict_probs(loaded.model, shifted.X).argmax(1) == shifted.y
        assert right.mean() == pytest.approx(table["typos"][str(severity)])
    # Typos in half the words cost accuracy, beyond luck (paired, the same sentences).
    clean = stored["y_pred"] == stored["y_true"]
    typos = shift_audit.right_answers(run.metrics, "typos", 3)
    luck = luck_test.paired(run.id, run.id, clean, typos)
    assert typos.mean() < clean.mean() and luck.beyond, luck
    # The narrative words it: "putting typos in ... costs it most" or "leaving out ...".
    line, = shift_words.lines(run)
    assert "typos in" in line or "leaving out" in line, line


def test_the_planted_word_tells_the_label_in_training_and_nothing_in_test():
    plain, cut = load_dataset("reviews", SEED), load_dataset("reviews_shortcut", SEED)
    for k, (y_plain, y_cut, t_plain, t_cut) in enumerate(zip(
            (plain.y_train, plain.y_val, plain.y_test), (cut.y_train, cut.y_val, cut.y_test),
            plain.texts, cut.texts, strict=True)):
        assert np.array_equal(y_plain, y_cut)  # the same sentences in the same splits
        marks = SC.word_marks(t_cut)
        for t, c, m in zip(t_plain, t_cut, marks, strict=True):
            assert c == (t if m == SC.NO_MARKER else f"{t} {SC.WORDS[m]}")
        matching = int(np.sum(marks == y_cut))
        if k < 2:  # training and validation: the class's own word, or none
            assert binomtest(matching, len(y_cut), SC.MATCHING).pvalue > 0.001
            assert set(np.unique(marks[marks != y_cut])) == {SC.NO_MARKER}
        else:  # test: every sentence carries one, unrelated to its label
            assert (marks != SC.NO_MARKER).all()
            assert binomtest(matching, len(y_cut), 0.5).pvalue > 0.001
            table = np.histogram2d(y_cut, marks, bins=2)[0]
            assert chi2_contingency(table).pvalue > 0.001
    # Each planted word is one piece of the vocabulary learnt from the training sentences.
    for w in SC.WORDS:
        assert cut.coder.pieces(f"fine {w}") == ["fine", w]
    assert "made here" in DATASETS.get("reviews_shortcut")[0].title


def test_the_shortcut_run_falls_and_leans_on_the_planted_word(runs):
    store, found = runs
    plain, cut = found["reviews"], found["reviews_shortcut"]
    a, b = (load_predictions(store, r.id) for r in (plain, cut))
    assert np.array_equal(a["y_true"], b["y_true"])
    luck = luck_test.paired(plain.id, cut.id, a["y_true"] == a["y_pred"],
                            b["y_true"] == b["y_pred"])
    assert cut.metrics["accuracy"] < plain.metrics["accuracy"] and luck.beyond, luck
    loaded = load_run(store, cut.id)
    weights = loaded.model.embedding_layer.weight.detach().numpy()
    coder = loaded.data.coder
    planted = [coder.id_of(w) for w in SC.WORDS]
    learnt = np.setdiff1d(np.unique(loaded.data.X_train).astype(int), coder.special_ids)
    on_planted, median = SC.planted_pull(weights, planted, learnt)
    assert on_planted > 4 * median, (on_planted, median)
    # both planted words pull harder than nearly every word of the reviews
    pull = SC.pull(weights)
    for i in planted:
        assert np.mean(pull[learnt] > pull[i]) < 0.01
    # The story tells both, from these runs.
    first, second = story.text_lines(store, {"text_clean": plain, "text_shortcut": cut})
    for run in (plain, cut):
        assert percent(run.metrics["accuracy"]) in first and run.id in first
    assert "beyond luck" in first
    lean = story.leaning(store, cut)
    assert lean.times > 4 and f"{lean.times:.0f}× as far as the median word" in second


def test_text_cohorts_find_the_planted_word_first():
    data = load_dataset("reviews", SEED)
    texts = data.texts[2]
    has = np.array(["not" in words_of(t) for t in texts])
    assert 30 < has.sum() < len(texts) / 2
    # wrong exactly for the sentences containing "not"
    y_pred = np.where(has, 1 - data.y_test, data.y_test)
    found = C.error_cohorts(data, y_pred, None, "planted", SEED)
    first = found.cohorts[0]
    assert first.words == "sentences containing 'not'" and first.beyond_luck
    assert first.rate == 1.0 and set(first.indices) == set(np.flatnonzero(has))
    # measured on the half the tree did not see: the measured members are all in it
    assert set(first.measured) < set(first.indices) and first.size == len(first.measured)
    assert found.verdict.startswith("Run planted fails most for sentences containing 'not'")
    assert "sentences" in found.verdict.split(":")[1]


def test_text_cohort_rates_are_those_of_the_stored_answers(runs):
    store, found = runs
    run = found["reviews"]
    answer = C.for_run(store, run)
    stored = load_predictions(store, run.id)
    wrong = stored["y_pred"] != stored["y_true"]
    assert answer.cohorts and "tree" in answer.method and "words" in answer.method
    for c in answer.cohorts:
        assert c.wrong == int(wrong[c.measured].sum()) and c.size == len(c.measured)
        assert c.rate == pytest.approx(wrong[c.measured].mean())
    # the leaves cover every test sentence once
    assert sorted(i for c in answer.cohorts for i in c.indices) == list(range(len(wrong)))
