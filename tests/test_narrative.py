"""Run stories against real runs: every number in a sentence is the run's own (or its
baseline's), and the baseline is the closest finished run without the technique."""
from __future__ import annotations

import json

import numpy as np
import pytest

from playground.cli import main as cli
from playground.results import luck
from playground.results.narrative import effect_words, find_baseline, run_story, story
from playground.runs.queue import submit
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config

BASE = dict(dataset="breast_cancer", model="mlp", epochs=4, width=32)


def train_all(store: Store) -> None:
    """Train every queued run here, oldest ready first, as a worker would."""
    while (run := store.claim(0)) is not None:
        execute(store, run)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("narrative") / "home")
    queued = {
        "plain": dict(BASE),
        "dp": dict(BASE, dp_noise=1.0),
        "int8": dict(BASE, quantize="int8"),
        "dp_int8": dict(BASE, dp_noise=1.0, quantize="int8"),
        "pruned": dict(BASE, prune=0.7),
        "dropout": dict(BASE, dropout=0.5),
        "early": dict(BASE, epochs=30, early_stop=1),
        "other_seed_plain": dict(BASE, seed=1),
        "overfit": dict(dataset="digits", model="mlp", width=256, epochs=25, train_fraction=0.1),
        "teacher": dict(BASE, width=128),
    }
    ids = {k: store.enqueue(make_config(**v)) for k, v in queued.items()}
    train_all(store)
    # The student; submit() queues its twin (the same student without the teacher) first.
    ids["student"] = submit(store, make_config(**dict(BASE, width=4), depth=1,
                                               distill_from=ids["teacher"])).run_id
    train_all(store)
    got = {k: store.get(i) for k, i in ids.items()}
    for name, run in got.items():
        assert run.status == "finished", (name, run.error)
    return store, got


def sentences(store, run) -> str:
    return " ".join(run_story(store, run))


def points(a: float, b: float) -> str:
    return f"{abs(a - b) * 100:.1f} points"


def test_the_baseline_is_the_closest_finished_run_without_the_technique(runs):
    store, r = runs
    finished = store.list_runs(statuses=("finished",))
    assert find_baseline(r["plain"], finished) is None  # nothing to take away
    assert find_baseline(r["dp"], finished).id == r["plain"].id  # not the other seed's
    assert find_baseline(r["int8"], finished).id == r["plain"].id
    assert find_baseline(r["dp_int8"], finished).id == r["int8"].id  # one technique away
    assert find_baseline(r["early"], finished) is None  # 30 epochs: no plain 30-epoch run
    twin = find_baseline(r["student"], finished)
    assert "distillation" not in twin.config.techniques
    assert twin.config.width == 4 and twin.config.depth == 1


def test_dp_story_tells_the_accuracy_cost_and_the_budget(runs):
    store, r = runs
    dp, plain = r["dp"].metrics, r["plain"].metrics
    text = sentences(store, r["dp"])
    diff = dp["accuracy"] - plain["accuracy"]
    measured = luck.compare(store, r["plain"], r["dp"])
    assert measured.paired and measured.diff == pytest.approx(diff)
    moved = f"{'cost' if diff < 0 else 'added'} {points(dp['accuracy'], plain['accuracy'])}"
    if not measured.beyond:  # luck said out loud, never a bare "added 2.7 points"
        effect = ("left accuracy about the same (within luck)" if abs(diff) < 0.005 else
                  f"{moved} of accuracy, within luck: equally accurate")
    else:
        effect = f"{moved} of accuracy, beyond luck (95 % interval"
    assert f"Privacy noise {effect}" in text
    assert f"({plain['accuracy']:.1%} → {dp['accuracy']:.1%}" in text
    assert f"against run {r['plain'].id}" in text
    assert f"bought a privacy budget of ε = {dp['epsilon']:.2f}" in text
    assert dp["epsilon_meaning"] in text
    # With quantization on as well, the baseline is the int8 run and ε is still told once.
    both = sentences(store, r["dp_int8"])
    assert f"against run {r['int8'].id}" in both and both.count("ε =") == 1


def test_quantization_story_tells_size_speed_and_changed_predictions(runs):
    store, r = runs
    m = r["int8"].metrics
    q = m["quantized"]
    text = sentences(store, r["int8"])
    ratio = q["size_bytes"] / q["float_size_bytes"]
    assert f"{q['float_size_bytes'] / 1024:,.1f} KB to {q['size_bytes'] / 1024:,.1f} KB" in text
    assert f"({ratio:.0%} of its size)" in text
    assert f"{q['latency_ms']:.3f} ms vs {m['latency_ms']:.3f} ms" in text
    assert f"{q['changed_predictions']} of {m['test_examples']} test predictions changed" in text
    # Its float model trained as the plain run's did: no comparison to make.
    assert "against run" not in text


def test_pruning_story_tells_sparsity_and_accuracy_before_and_after(runs):
    store, r = runs
    m = r["pruned"].metrics
    text = sentences(store, r["pruned"])
    assert f"Pruning set {m['sparsity']:.0%} of the weights to exactly zero" in text
    assert f"{m['pruning']['val_accuracy_before']:.1%} to " \
           f"{m['pruning']['val_accuracy_pruned']:.1%} right after pruning" in text
    assert f"to {m['val_accuracy']:.1%} after 2 epochs of fine-tuning" in text


def test_early_stopping_story_tells_when_it_stopped_and_what_it_saved(runs):
    store, r = runs
    m = r["early"].metrics
    text = sentences(store, r["early"])
    assert m["stopped_epoch"]  # patience 1 over 30 epochs
    assert (f"ended training at epoch {m['stopped_epoch']} of 30 and went back to the "
            f"weights of epoch {m['best_epoch']}, saving {30 - m['stopped_epoch']} "
            "epochs") in text


def test_overfitting_is_named_with_the_gap_from_the_learning_curve(runs):
    store, r = runs
    for name, run in r.items():
        epochs = store.epochs(run.id)
        gap = epochs[-1]["train_accuracy"] - epochs[-1]["val_accuracy"]
        text = sentences(store, run)
        if gap >= 0.05:
            assert f"a gap of {gap * 100:.1f} points, a sign of overfitting" in text, name
        else:
            assert "no sign of overfitting" in text, name
    # The small-data, wide network really does memorise.
    last = store.epochs(r["overfit"].id)[-1]
    assert last["train_accuracy"] - last["val_accuracy"] >= 0.05


def test_dropout_story_compares_the_gap_with_the_run_without_it(runs):
    store, r = runs
    gap = lambda run: (lambda e: e["train_accuracy"] - e["val_accuracy"])(  # noqa: E731
        store.epochs(run.id)[-1])
    text = sentences(store, r["dropout"])
    side = lambda g: f"{abs(g) * 100:.1f} points {'above' if g >= 0 else 'below'}"  # noqa: E731
    with_, without = gap(r["dropout"]), gap(r["plain"])
    assert (f"With dropout, training accuracy ended {side(with_)} validation accuracy; "
            f"without, {side(without)}: {'less' if with_ < without else 'more'} sign of "
            "memorising.") in text


def test_distillation_story_compares_the_student_with_its_twin(runs):
    store, r = runs
    m = r["student"].metrics
    twin = store.get(m["baseline_run_id"])
    text = sentences(store, r["student"])
    assert f"against run {twin.id}" in text
    diff = m["accuracy"] - twin.metrics["accuracy"]
    if abs(diff) >= 0.005:
        word = "added" if diff > 0 else "cost"
        assert f"Knowledge distillation {word} {points(m['accuracy'], twin.metrics['accuracy'])}" \
            in text
    assert f"agrees with its teacher (run {r['teacher'].id}" in text
    assert f"on {m['teacher_agreement']:.0%} of the test examples" in text


def test_headline_gives_accuracy_and_the_guessing_level(runs):
    store, r = runs
    m = r["plain"].metrics
    majority = max(sum(row) for row in m["confusion_matrix"]) / m["test_examples"]
    text = sentences(store, r["plain"])
    assert text.startswith(f"It got {m['accuracy']:.1%} of the {m['test_examples']} test")
    assert f"most common class would score {majority:.1%}" in text


def test_unfinished_runs_have_no_story(runs):
    store, r = runs
    queued = store.get(store.enqueue(make_config(**BASE)))
    assert story(queued) == [] and run_story(store, queued) == []
    store.delete(queued.id)


def test_show_prints_the_story_and_puts_it_in_json(runs, capsys, monkeypatch):
    store, r = runs
    monkeypatch.setenv("PLAYGROUND_HOME", str(store.home))
    assert cli.main(["--home", str(store.home), "show", r["dp"].id, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["story"] == run_story(store, r["dp"]) and data["story"]
    assert cli.main(["--home", str(store.home), "show", r["dp"].id]) == 0
    out = capsys.readouterr().out
    assert data["story"][0] in out and "ε =" in out


def test_run_cards_on_the_runs_page_tell_the_story(runs, monkeypatch):
    from components.base import services as shared
    from tests.test_pages import open_app

    store, r = runs
    monkeypatch.setenv("PLAYGROUND_HOME", str(store.home))
    monkeypatch.setenv("PLAYGROUND_WORKERS", "0")
    try:
        at = open_app("pages/runs.py")
        told = [m.value for m in at.markdown if m.value.startswith("**What happened:**")]
        while not at.button(key="runs_older").disabled:  # ten cards to a page
            at.button(key="runs_older").click().run()
            told += [m.value for m in at.markdown if m.value.startswith("**What happened:**")]
        # Every finished run tells its story.
        assert len(told) == len(store.list_runs(statuses=("finished",))) > 10
        dp_story = " ".join(run_story(store, r["dp"]))
        assert f"**What happened:** {dp_story}" in told
    finally:
        shared._supervisor(str(store.home)).stop()
        shared._supervisor.clear()
        shared._store.clear()
        shared._feed.clear()


def test_a_difference_within_luck_is_never_told_as_an_effect():
    """The sentence follows the measurement: within luck says so; beyond luck gives the
    interval; without a measurement the old wording stays."""
    right = np.array([True] * 80 + [False] * 20)
    near = right.copy()
    near[80:83] = True
    within = luck.paired("a", "b", right, near)
    assert effect_words(0.03, within) == ("added 3.0 points of accuracy, within luck: equally "
                                          "accurate, a difference chance alone gives")
    far = right.copy()
    far[80:100] = True
    beyond = luck.paired("a", "b", right, far)
    assert beyond.beyond
    assert effect_words(0.2, beyond).startswith("added 20.0 points of accuracy, beyond luck "
                                                "(95 % interval ")
    assert effect_words(0.2) == "added 20.0 points of accuracy"
