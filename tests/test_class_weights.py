"""Rare classes: per-class recall on every run (against scikit-learn's recall_score), and
class weights (scikit-learn's balanced weights, torch's weighted cross-entropy) finding the
rare classes more often, as the issue's command line shows it."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, recall_score
from sklearn.utils.class_weight import compute_class_weight
from torch.nn import functional as F

from playground.common import escape
from playground.data.views import run_data
from playground.experiments.stories import lopsided_accuracy
from playground.results.narrative import run_story
from playground.runs.store import Store
from playground.training.artifacts import load_predictions
from playground.training.config import ConfigError, make_config
from playground.training.techniques.class_weights import ClassWeights, unweighted_twin
from tests.test_cli import cli, one_json_object


def test_imbalanced_digits_recall_by_class_and_class_weights_through_the_cli(tmp_path):
    """The issue's command with --class-weights balanced: its unweighted twin is queued and
    trained first, both get per-class recall equal to sklearn's on their stored test
    predictions, and the weighted run finds the rare classes more often."""
    home = tmp_path / "home"
    result = cli("train", "--dataset", "digits", "--model", "mlp", "--imbalance", "0.05",
                 "--seed", "0", "--epochs", "3", "--class-weights", "balanced", "--json",
                 home=home)
    assert result.returncode == 0, result.stderr
    weighted = one_json_object(result.stdout)
    store = Store(home)
    cw = weighted["metrics"]["class_weights"]
    plain = store.get(cw["baseline_run_id"])
    assert plain.config == unweighted_twin(store.get(weighted["run_id"]).config)
    assert plain.config.techniques == {} and plain.config.imbalance == 0.05

    for run_id, m in ((weighted["run_id"], weighted["metrics"]), (plain.id, plain.metrics)):
        stored = load_predictions(store, run_id)
        reference = recall_score(stored["y_true"], stored["y_pred"], average=None,
                                 labels=list(range(10)), zero_division=0)
        np.testing.assert_allclose(m["recall_by_class"], reference)
        assert m["rare_classes"] == ["5", "6", "7", "8", "9"]  # the second half, by default
        assert m["rare_recall"] == np.mean(reference[5:])
        # Validation and test keep every class; only training lost rare examples.
        assert np.bincount(stored["y_true"]).min() >= 30
        assert m["train_class_counts"][5] * 10 < m["train_class_counts"][0]
        # The walkthrough's "as lopsided as its training data" accuracy: test examples
        # reweighted to the training split's class shares.
        counts = np.asarray(m["train_class_counts"])
        share = counts[stored["y_true"]] / np.bincount(stored["y_true"])[stored["y_true"]]
        assert np.isclose(lopsided_accuracy(m), accuracy_score(
            stored["y_true"], stored["y_pred"], sample_weight=share))
    # The weights are scikit-learn's balanced weights of the run's own training labels.
    y_train = run_data(store.get(weighted["run_id"]).config).y_train
    np.testing.assert_allclose(cw["weights"], compute_class_weight(
        "balanced", classes=np.arange(10), y=y_train))
    assert cw["baseline_rare_recall"] == plain.metrics["rare_recall"]
    # The claim: with class weights the rare classes are found more often.
    assert weighted["metrics"]["rare_recall"] > plain.metrics["rare_recall"] + 0.2
    # The plain run's story says that accuracy hides a failing class.
    story = " ".join(run_story(store, plain))
    worst = int(np.argmin(plain.metrics["recall_by_class"]))
    assert (f"Accuracy is {plain.metrics['accuracy']:.0%}, but the model finds only "
            f"{plain.metrics['recall_by_class'][worst]:.0%} of the test examples of class "
            f"{worst}") in story


def test_the_weighted_loss_is_torchs_weighted_mean_and_per_example_under_dp():
    """Without DP: Σ w_y·loss / Σ w_y over the batch (torch's normalisation). With DP-SGD:
    each example's loss times its weight, averaged over the batch, so one example's
    gradient does not depend on which others were drawn."""
    torch.manual_seed(0)
    logits = torch.randn(8, 3, requires_grad=True)
    y = torch.tensor([0, 0, 0, 0, 0, 1, 1, 2])
    w = torch.tensor(compute_class_weight("balanced", classes=np.arange(3), y=y.numpy()),
                     dtype=torch.float32)
    each = F.cross_entropy(logits, y, reduction="none")
    tech = ClassWeights(mode="balanced")
    tech.w = w
    tech.private = False
    expected = (w[y] * each).sum() / w[y].sum()
    assert torch.allclose(tech.loss(None, logits, None, y, None), expected)
    tech.private = True
    dp_loss = tech.loss(None, logits, None, y, None)
    assert torch.allclose(dp_loss, (w[y] * each).mean())
    # Example 0's gradient is w_0 · ∇loss_0 / n, whatever the rest of the batch holds.
    grad = torch.autograd.grad(dp_loss, logits)[0]
    own = torch.autograd.grad(each[0], logits, retain_graph=True)[0][0]
    assert torch.allclose(grad[0], w[0] * own / 8)


def test_class_weights_settings_are_checked():
    config = make_config(dataset="digits", model="mlp", class_weights="balanced", dp_noise=1.0)
    assert set(config.techniques) == {"class_weights", "dp"}
    try:
        make_config(dataset="digits", model="mlp", class_weights="often")
    except ConfigError as exc:
        assert any("Class weights: mode: must be one of balanced" in p for p in exc.problems)
    else:
        raise AssertionError("an unknown weighting was accepted")


def test_train_page_class_controls_follow_links_and_queue_what_they_show(app_home):
    from playground.experiments.links import config_to_query, query_to_values
    from tests.app_support import open_page

    config = make_config(dataset="digits", model="mlp", epochs=3, imbalance=0.05,
                         rare_classes="7,9", classes="0-4,7,9")
    at = open_page("pages/train.py", config_to_query(config, lock=["imbalance"]))
    assert at.slider(key="train_imbalance").value == 0.05
    assert at.slider(key="train_imbalance").disabled  # locked by the link
    assert at.text_input(key="train_rare_classes").value == "7,9"
    assert at.text_input(key="train_classes").value == "0-4,7,9"
    assert any(e.label == "Which classes, and how common" for e in at.expander)
    assert any("validation and test keep all of theirs" in c.value for c in at.caption)
    written = {k: at.query_params[k][0] if isinstance(at.query_params[k], list)
               else at.query_params[k] for k in at.query_params}
    back, problems = query_to_values(written)
    assert back.pop("lock") == ["imbalance"]
    assert problems == [] and make_config(**back) == config

    # A class the dataset lacks: make_config's sentence, on the page; nothing is queued.
    at.text_input(key="train_rare_classes").set_value("12").run()
    at.button(key="train_submit").click().run()
    assert escape.md("rare_classes: '12' is not a class of this dataset") in at.error[0].value
    store = Store(app_home)
    assert store.list_runs() == []
    at.text_input(key="train_rare_classes").set_value("9").run()
    at.button(key="train_submit").click().run()
    (run,) = store.list_runs()
    assert (run.config.classes, run.config.imbalance, run.config.rare_classes) == (
        "0-4,7,9", 0.05, "9")

    # Hidden by a link: no control, the link's value still counts.
    at = open_page("pages/train.py", {"dataset": "digits", "model": "mlp", "imbalance": "0.1",
                                      "hide": "imbalance,rare_classes,classes"})
    assert not [e for e in at.expander if e.label == "Which classes, and how common"]
    at.button(key="train_submit").click().run()
    assert store.list_runs()[0].config.imbalance == 0.1


def test_the_unweighted_twin_learns_from_the_same_new_teacher(home):
    """A run with a teacher trained first: its twin without class weights waits for that
    same teacher (not the literal 'new-mlp', which names no run)."""
    from playground.runs.queue import submit

    store = Store(home)
    submitted = submit(store, make_config(dataset="digits", model="mlp", imbalance=0.05,
                                          class_weights="balanced", distill_from="new-mlp"))
    (teacher,) = submitted.first
    runs = {r.id: r.config for r in store.list_runs()}
    main = runs[submitted.run_id]
    assert main.techniques["distillation"]["teacher"] == teacher
    twins = [runs[i] for i in submitted.alongside]
    assert unweighted_twin(main) in twins
    assert all(c.techniques["distillation"]["teacher"] == teacher for c in twins
               if "distillation" in c.techniques)


@pytest.mark.usefixtures("audits_on")  # the crash was in the robustness audit
def test_class_weights_with_dp_sgd_through_opacus_hooks_are_audited_after_training():
    """The ViT's DP-SGD goes through Opacus; a technique that shapes the loss (class weights)
    puts it in its per-example hooks mode, whose hooks must be gone before the robustness
    audit's own backward pass (they failed it: 'pop from empty list')."""
    from playground.training.loop import train

    m = train(make_config(dataset="digits", model="vit", epochs=1, train_fraction=0.2,
                          dp_noise=1.0, class_weights="balanced", imbalance=0.2)).metrics
    assert m["dp_clipping"] == "hooks" and m["epsilon"] > 0
    assert 0 <= m["robustness"]["pgd"]["accuracy"] <= 1
    assert m["class_weights"]["method"].endswith("(per-example weights, batch mean: DP-SGD)")


def test_runs_page_shows_recall_beside_accuracy_only_when_classes_are_imbalanced(app_home):
    import os

    from components.base.format import percent
    from playground.runs.worker import execute
    from tests.app_support import open_page

    store = Store(app_home)
    for imbalance in (0.2, 1.0):
        store.enqueue(make_config(dataset="wine", model="logreg", epochs=3,
                                  imbalance=imbalance))
        assert execute(store, store.claim(os.getpid())) == "finished"
    rare, balanced = sorted(store.list_runs(), key=lambda r: r.config.imbalance)
    at = open_page("pages/runs.py")
    tiles = [m for m in at.metric if m.label == "Rare classes found"]
    assert [t.value for t in tiles] == [percent(rare.metrics["rare_recall"])]
    assert len(at.dataframe) == 1  # the per-class table, for the imbalanced run only
    table = at.dataframe[0].value
    assert list(table["found (recall)"]) == [100 * r for r in rare.metrics["recall_by_class"]]
    assert list(table["training examples"]) == rare.metrics["train_class_counts"]
    assert "rare" not in " ".join(table["class"][:1]) and "(rare)" in table["class"].iloc[-1]


def test_rare_recall_is_a_pareto_score_for_the_runs_that_have_one():
    from playground.results.pareto import SCORES, front_rows
    from playground.results.shipped import run_point
    from playground.runs.store import Run

    def run(run_id, seconds, rare_recall=None):
        m = {"accuracy": 0.8, "train_seconds": seconds}
        if rare_recall is not None:
            m["rare_recall"] = rare_recall
        return Run(id=run_id, status="finished", created=0.0, metrics=m,
                   config=make_config(dataset="digits", model="mlp", imbalance=0.05))

    points = [run_point(r) for r in (run("plain", 1.0, 0.35), run("weighted", 1.0, 0.69),
                                     run("old", 0.5))]
    assert "rare_recall" in SCORES
    rows = {r["run_id"]: r for r in front_rows(points, "train_seconds", "rare_recall")}
    # Same cost, higher rare recall: only the weighted run is unbeaten; a run without the
    # number is not plotted.
    assert rows["weighted"]["on_front"] and not rows["plain"]["on_front"]
    assert rows["weighted"]["score"] == 0.69 and not rows["old"]["plotted"]
