"""Stories: each one's runs are set up as its text says, train for real, and the
walkthrough is computed from their numbers (not canned); the Home page's story is queued
once per server however many visitors arrive at once."""
from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from playground.common.formatting import percent
from playground.data.catalog import dataset_info
from playground.experiments import stories as S
from playground.experiments.workshop import join_workspace, open_workspace
from playground.results import luck
from playground.runs.store import Run, Store
from playground.runs.worker import execute
from playground.training.config import make_config
from playground.training.techniques.adversarial_training import plain_twin
from playground.training.techniques.class_weights import unweighted_twin
from playground.training.techniques.distillation import student_alone
from playground.training.techniques.init_from import from_scratch
from tests.app_support import open_page


@pytest.fixture
def one_thread():
    """Two cores shared by many processes: one torch thread trains these tiny runs fastest."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def train_queued(store: Store) -> None:
    """Train everything queued, in the order the workers would."""
    while (run := store.claim(os.getpid())) is not None:
        assert execute(store, run) == "finished", store.get(run.id).error


def configs(story: S.Story) -> dict:
    return {s.role: make_config(**dict(s.values, **({"distill_from": "x"} if s.teacher
                                                   else {}), **{k: "x" for k, _ in s.refs}))
            for s in story.steps}


# -- what each story sets up ------------------------------------------------------------------


def test_each_story_changes_only_what_it_is_about():
    privacy = configs(S.STORIES["privacy"])
    assert "dp" not in privacy["none"].techniques
    noise = [privacy[r].techniques["dp"]["noise_multiplier"] for r in ("some", "strong")]
    assert noise[0] < noise[1]
    assert all(privacy[r].model_copy(update={"techniques": {}}) == privacy["none"]
               for r in ("some", "strong"))

    shrink = configs(S.STORIES["shrink"])
    assert shrink["int8"].techniques == {"quantization": {"mode": "int8"}}
    assert shrink["pruned"].techniques["pruning"]["amount"] == 0.8
    assert shrink["student"].width < shrink["original"].width
    # The student-alone step is exactly the twin the distillation plug-in compares with.
    assert student_alone(shrink["student"]) == shrink["alone"]

    teacher = configs(S.STORIES["teacher"])
    assert student_alone(teacher["student"]) == teacher["alone"]
    assert teacher["teacher"].model == "cnn" and teacher["student"].model == "mlp"
    assert S.STORIES["teacher"].step("student").teacher == "teacher"

    augment = configs(S.STORIES["augment"])
    assert augment["scarce"].train_fraction == 0.15 and augment["full"].train_fraction == 1
    assert augment["augmented"].techniques["augmentation"]["strength"] == 0.5
    assert augment["scarce"].model_copy(update={"train_fraction": 1.0}) == augment["full"]

    overfit = configs(S.STORIES["overfit"])
    assert overfit["with_dropout"].techniques == {"dropout": {"rate": 0.5}}
    assert overfit["plain"].techniques == {}

    # A big network on a fifth of the digits, then the same at ε = 1.
    attacker = configs(S.STORIES["attacker"])
    assert attacker["exposed"] == make_config(dataset="digits", model="mlp", width=256,
                                              depth=3, epochs=60, train_fraction=0.2)
    assert attacker["private"].techniques["dp"]["target_epsilon"] == 1.0
    assert attacker["private"].model_copy(update={"techniques": {}}) == attacker["exposed"]

    robust = configs(S.STORIES["robust"])
    assert robust["standard"] == make_config(dataset="digits", model="cnn", epochs=10)
    # The plain step is exactly the twin adversarial training queues: nothing trains twice.
    assert plain_twin(robust["adversarial"]) == robust["standard"]
    # It trains against the attack it then faces.
    assert robust["adversarial"].techniques["adversarial_training"]["strength"] == \
        robust["adversarial"].attack_strength
    reuse = configs(S.STORIES["reuse"])
    assert reuse["source"] == make_config(dataset="digits", model="cnn", epochs=10,
                                          classes="0-4")
    assert reuse["scratch"] == make_config(dataset="digits", model="cnn", epochs=10,
                                           classes="5-9", train_fraction=0.05)
    # Both head starts compare with the scratch step: the twin init_from queues.
    assert from_scratch(reuse["transfer"]) == from_scratch(reuse["frozen"]) == reuse["scratch"]
    assert reuse["frozen"].techniques["init_from"]["freeze_features"] is True
    assert reuse["transfer"].techniques["init_from"]["freeze_features"] is False
    fair = configs(S.STORIES["fair"])
    assert fair["plain"] == make_config(dataset="loans", model="mlp", epochs=10)
    assert [fair[r].techniques["fairness"]["constraint"] for r in ("parity", "odds")] == [
        "demographic_parity", "equalized_odds"]
    assert S.DEFAULT_STORY in S.STORIES

    # The rare digits: plain, weighted (whose unweighted twin is the plain step),
    # and every digit common as the reference.
    rare = configs(S.STORIES["rare"])
    assert rare["plain"] == make_config(dataset="digits", model="mlp", epochs=10,
                                        imbalance=0.05)
    assert unweighted_twin(rare["weighted"]) == rare["plain"]
    assert rare["balanced"] == rare["plain"].model_copy(update={"imbalance": 1.0})


def test_the_rare_story_queues_its_plain_run_once(home: Path):
    store = Store(home)
    record, queued = S.ensure_story(store, "rare")
    assert queued and store.counts() == {"queued": 3}  # the weighted run's twin is in line


def test_the_robust_story_queues_its_plain_run_once(home: Path):
    store = Store(home)
    record, queued = S.ensure_story(store, "robust")
    assert queued and store.counts() == {"queued": 2}  # no third run: the twin is in line
    plain = store.get(record.runs["standard"])
    assert plain.config == plain_twin(store.get(record.runs["adversarial"]).config)


def on_text(story: S.Story) -> bool:
    """Text stories train a tiny BERT: tests/test_text_stories.py runs them smaller."""
    return any(dataset_info(s.values["dataset"]).kind == "text" for s in story.steps)


@pytest.mark.parametrize("key", [k for k, story in S.STORIES.items() if not on_text(story)])
def test_each_story_trains_and_its_walkthrough_quotes_its_runs(home: Path, key, one_thread,
                                                               monkeypatch):
    if key in ("attacker", "robust"):  # only these tell what the attacks found
        monkeypatch.setenv("PLAYGROUND_AUDITS", "on")
    store = Store(home)
    story = S.STORIES[key]
    record, queued = S.ensure_story(store, key, epochs=2)  # the same setups, fewer epochs
    assert queued and set(record.runs) == {s.role for s in story.steps}
    runs = S.story_runs(store, record)
    assert S.story_state(runs) == "active" and S.walkthrough(story, store, record) is None
    train_queued(store)

    runs = S.story_runs(store, record)
    assert S.story_state(runs) == "finished"
    for step in story.steps:
        run = runs[step.role]
        assert run.config.epochs == 2
        expected = dict(step.values, epochs=2, seed=0)
        if step.teacher:  # learns from the run of its teacher step
            expected["distill_from"] = record.runs[step.teacher]
            assert run.metrics["teacher_run_id"] == record.runs[step.teacher]
        for setting, role in step.refs:  # starts from the run of an earlier step
            expected[setting] = record.runs[role]
        assert run.config == make_config(**expected)
    walk = S.walkthrough(story, store, record)
    text = " ".join([walk.headline, *walk.paragraphs]) + walk.table.to_string()
    for step in story.steps:  # every run's own test accuracy is quoted
        accuracy = S.deployed(runs[step.role])[1] if key == "shrink" else \
            runs[step.role].metrics["accuracy"]
        assert percent(accuracy) in text, (step.role, text)
    assert walk.chart.to_dict()  # a valid Vega-Lite spec
    if key == "privacy":
        for role in ("some", "strong"):
            assert f"ε = {runs[role].metrics['epsilon']:.1f}" in text
    if key == "teacher":
        assert runs["student"].metrics["baseline_run_id"] == record.runs["alone"]
    if key == "attacker":
        assert f"ε = {runs['private'].metrics['epsilon']:.1f}" in text
        for role in ("exposed", "private"):
            right = S.attacker_right(runs[role].metrics["privacy_attack"])
            assert f"right {percent(right)} of the time" in text
    if key == "reuse":  # nothing queued twice: the scratch step is the head starts' twin
        assert store.counts() == {"finished": len(story.steps)}
        for role in ("transfer", "frozen"):
            t = runs[role].metrics["transfer"]
            assert t["source_run_id"] == record.runs["source"] and t["head_replaced"]
            assert t["baseline_run_id"] == record.runs["scratch"]
    if key == "fair":  # each run's approval-rate gap, from its own fairlearn audit
        for role in ("plain", "parity", "odds"):
            gap = runs[role].metrics["fairness"]["demographic_parity_difference"]
            assert f"{gap * 100:.1f} pts" in text, role
    if key == "robust":  # the plain step is the one adversarial training compared with
        adversarial = runs["adversarial"].metrics["adversarial_training"]
        assert adversarial["baseline_run_id"] == record.runs["standard"]
        for role in ("standard", "adversarial"):
            assert percent(runs[role].metrics["robustness"]["pgd"]["accuracy"]) in text
    if key == "rare":  # the plain step is the twin class weights compared with
        assert runs["weighted"].metrics["class_weights"]["baseline_run_id"] == \
            record.runs["plain"]
        for role in ("plain", "weighted"):
            assert f"finds only {percent(runs['plain'].metrics['rare_recall'])}" in text
            assert percent(runs[role].metrics["rare_recall"]) in text
        assert percent(S.lopsided_accuracy(runs["plain"].metrics)) in text
        assert list(walk.chart.data["recall"][:10]) == runs["plain"].metrics["recall_by_class"]


# -- the walkthrough follows the numbers -------------------------------------------------------


def fake(role: str, **metrics) -> Run:
    step = next(s for st in S.STORIES.values() for s in st.steps if s.role == role)
    return Run(id=role, status="finished", config=make_config(**dict(
        step.values, **({"distill_from": "t"} if step.teacher else {}),
        **{k: "t" for k, _ in step.refs})), created=0.0,
        metrics=metrics)


def private(acc, eps, noise):
    return dict(accuracy=acc, epsilon=eps, noise_multiplier=noise, epsilon_meaning="m")


def test_privacy_walkthrough_reports_the_price_it_was_given():
    story = S.STORIES["privacy"]
    runs = {"none": fake("none", accuracy=0.95), "some": fake("some", **private(0.90, 8, 0.6)),
            "strong": fake("strong", **private(0.80, 1.2, 1.5))}
    walk = story.explain(story, runs, {})
    assert walk.headline.startswith("Privacy noise cost 15.0 points of accuracy at ε = 1.2")
    assert "5.0 points below no noise" in walk.paragraphs[1]
    # Same story, numbers where noise cost nothing: the text says so instead.
    runs["some"] = fake("some", **private(0.96, 8, 0.6))
    runs["strong"] = fake("strong", **private(0.95, 1.2, 1.5))
    walk = story.explain(story, runs, {})
    assert walk.headline == "This time privacy noise cost no accuracy at all."
    assert "1.0 points above no noise" in walk.paragraphs[1]


def test_overfitting_walkthrough_finds_where_validation_loss_turned():
    story = S.STORIES["overfit"]
    rising = [0.9, 0.5, 0.3, 0.35, 0.5]  # best at epoch 3, then climbs
    falling = [0.9, 0.6, 0.4, 0.3, 0.25]
    epochs = {role: [{"epoch": i + 1, "val_loss": v, "train_accuracy": t, "val_accuracy": 0.9}
                     for i, (v, t) in enumerate(zip(losses, [0.9, 0.95, 1, 1, 1],
                                                    strict=True))]
              for role, losses in (("plain", rising), ("with_dropout", falling))}
    runs = {"plain": fake("plain", accuracy=0.9),
            "with_dropout": fake("with_dropout", accuracy=0.92)}
    walk = story.explain(story, runs, epochs)
    text = " ".join(walk.paragraphs)
    assert "lowest at epoch 3 (0.300) and then climbs to 0.500" in text
    assert "10.0 points more than on the validation pictures" in text
    assert walk.headline.endswith("ends 0.250 lower.")


# The two attacks' walkthroughs, from the numbers such runs gave on this machine.

ROC_EXPOSED = [[0.0, 0.0], [0.0, 0.0278], [0.0833, 0.2407], [0.2315, 0.4722],
               [0.4537, 0.6944], [0.75, 0.8981], [1.0, 1.0]]
ROC_PRIVATE = [[0.0, 0.0], [0.0556, 0.0833], [0.2037, 0.3148], [0.5, 0.5741],
               [0.8056, 0.8519], [1.0, 1.0]]


def attack(auc, advantage, tpr, roc, bound=None):
    out = dict(auc=auc, advantage=advantage, tpr_at_1pct_fpr=tpr, roc=roc, records=216,
               attack="ART MembershipInferenceBlackBox (loss, random forest)")
    return out if bound is None else dict(out, dp_bound=bound)


def attacker_runs(private_advantage=0.1111, holds=True):
    bound = dict(epsilon=0.998, delta=0.00463, holds=holds)
    return {
        "exposed": fake("exposed", accuracy=0.925, train_seconds=14.8,
                        privacy_attack=attack(0.6464, 0.2407, 0.0278, ROC_EXPOSED)),
        "private": fake("private", accuracy=0.4167, train_seconds=54.7, epsilon=0.998,
                        delta=0.00463, noise_multiplier=8.36,
                        privacy_attack=attack(0.5529, private_advantage, 0.0, ROC_PRIVATE,
                                              bound)),
    }


def test_the_most_often_any_attacker_can_be_right_under_epsilon():
    # With δ = 0 the classic bound: e^ε / (1 + e^ε), 73.1% at ε = 1.
    assert S.most_right(1.0, 0.0) == pytest.approx(math.e / (1 + math.e), abs=1e-4)
    assert S.most_right(1.0, 0.01) > S.most_right(1.0, 0.0)
    assert S.most_right(8.0, 1e-5) > 0.99  # a large ε promises next to nothing


def test_attacker_walkthrough_reports_the_attack_against_epsilons_promise():
    story = S.STORIES["attacker"]
    epochs = {"exposed": [{"epoch": 1, "train_accuracy": 0.8, "val_accuracy": 0.8},
                          {"epoch": 2, "train_accuracy": 1.0, "val_accuracy": 0.925}]}
    walk = story.explain(story, attacker_runs(), epochs)
    assert walk.headline == ("Privacy noise cut the attacker from 62.0% right to 55.6% (a "
                             "coin toss is 50%), and cost 50.8 points of accuracy.")
    text = " ".join(walk.paragraphs)
    assert "100.0% of its own training pictures right, 7.5 points more" in text
    assert "right 62.0% of the time; a coin toss is 50%" in text
    assert "AUC, the usual score for such attacks, is 0.65" in text
    assert "(DP-SGD at ε = 1.0) the attacker was right 55.6% of the time (AUC 0.55)" in text
    assert "no attacker can be right more than 73.2% of the time" in text
    assert "stayed below everywhere" in text
    assert "picked out 2.8% of the training pictures without noise and 0.0% with it" in text
    assert walk.table.loc["No privacy noise", "attacker right"] == "62.0%"
    assert walk.table.loc["Privacy noise, ε = 1", "ε (privacy budget)"] == "1.0"
    # One chart: both attacks' curves, ε's ceiling (as privacy_attack_chart draws it) and
    # the coin toss.
    data = walk.chart.data
    lines = set(data["line"])
    assert {"coin toss", "attack on the run without noise (62.0% right)",
            "attack on the private run (55.6% right)"} < lines
    ceiling = data[data["line"].str.startswith("the most any attack")]
    assert len(ceiling) == 101 and ceiling["tpr"].max() == 1.0
    assert len(data[data["line"] == "attack on the run without noise (62.0% right)"]) == \
        len(ROC_EXPOSED)
    assert walk.chart.to_dict()

    # The numbers decide the words: noise that did not help, a ceiling that was crossed.
    walk = story.explain(story, attacker_runs(private_advantage=0.2407, holds=False), {})
    assert walk.headline.startswith("This time privacy noise did not make the attacker "
                                    "guess worse (62.0% right without it, 62.0% with it)")
    assert "went over the ceiling, which should not happen" in " ".join(walk.paragraphs)
    assert "own training pictures" not in " ".join(walk.paragraphs)  # no epochs given


def robustness(clean, fgsm, pgd):
    return dict(strength=0.1, examples=200, moves="pixel", clean_accuracy=clean,
                fgsm={"accuracy": fgsm}, pgd={"accuracy": pgd, "steps": 8},
                attack="ART FastGradientMethod and ProjectedGradientDescent")


def robust_runs(seconds=(25.8, 36.0), accuracy=(0.9889, 0.9833), pgd=(0.56, 0.86)):
    return {
        "standard": fake("standard", accuracy=accuracy[0], test_examples=360,
                         train_seconds=seconds[0],
                         robustness=robustness(0.985, 0.65, pgd[0])),
        "adversarial": fake("adversarial", accuracy=accuracy[1], test_examples=360,
                            train_seconds=seconds[1],
                            adversarial_training={"strength": 0.1, "attack_seconds": 8.2},
                            robustness=robustness(0.99, 0.89, pgd[1])),
    }


def test_robust_walkthrough_weighs_attacked_accuracy_against_its_price():
    story = S.STORIES["robust"]
    walk = story.explain(story, robust_runs(), {})
    assert walk.headline == ("Adversarial training kept 86.0% of attacked digits right "
                             "instead of 56.0%, for 1.4× the training time and 0.6 points of "
                             "ordinary accuracy.")
    text = " ".join(walk.paragraphs)
    assert "at most 0.1 on a scale from blank paper (0) to full ink (1)" in text
    assert "PGD takes 8 smaller steps" in text
    assert ("Trained normally, the network reads 98.5% of 200 test digits as they are, 65.0% "
            "after FGSM and 56.0% after PGD.") in text
    assert "it reads 99.0% of 200 test digits as they are, 89.0% after FGSM and 86.0%" in text
    assert "it reads 98.3% against 98.9% (0.6 points fewer)" in text
    assert "training took 36 s against 26 s, 1.4× as long; 8 s of it went into attacking" in text
    assert "open runs standard and adversarial on the Explain page" in text
    assert list(walk.table["PGD 0.1"]) == ["56.0%", "86.0%"]
    # Grouped bars: untouched, FGSM and PGD for each run.
    bars = walk.chart.data
    assert list(bars["accuracy"]) == [0.985, 0.65, 0.56, 0.99, 0.89, 0.86]
    assert set(bars["attack"]) == {"untouched", "FGSM attack", "PGD attack"}
    assert walk.chart.to_dict()

    # Faster this time (a busy machine) and no accuracy lost: nothing is claimed as paid.
    walk = story.explain(story, robust_runs(seconds=(26.0, 18.0), accuracy=(0.989, 0.994)),
                         {})
    assert walk.headline.endswith("instead of 56.0%, at no visible cost this time.")
    assert "(timings vary with whatever else the machine is doing)" in " ".join(
        walk.paragraphs)
    walk = story.explain(story, robust_runs(pgd=(0.56, 0.558)), {})
    assert walk.headline.startswith("This time adversarial training did not hold up better")


# -- queued once per server --------------------------------------------------------------------


def test_many_visitors_at_once_queue_the_home_story_once(home: Path):
    store = Store(home)
    n_steps = len(S.STORIES[S.DEFAULT_STORY].steps)
    barrier = threading.Barrier(12)
    results = []

    def visit():
        barrier.wait(30)
        results.append(S.ensure_story(store, S.DEFAULT_STORY))

    threads = [threading.Thread(target=visit) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(queued for _, queued in results) == 1
    assert store.counts() == {"queued": n_steps}
    record = S.load_record(home, S.DEFAULT_STORY)
    # Visitors who came while it was being queued get it (or, for a moment, nothing yet).
    assert all(r is None or r.runs == record.runs for r, _ in results)
    # Later visitors get the same runs; nothing more is queued.
    assert S.ensure_story(store, S.DEFAULT_STORY) == (record, False)
    assert store.counts() == {"queued": n_steps}


def test_a_story_is_queued_again_when_its_runs_are_gone_or_asked_for(home: Path):
    store = Store(home)
    first, _ = S.ensure_story(store, "overfit", epochs=1)
    store.delete(first.runs["plain"])
    second, queued = S.ensure_story(store, "overfit", epochs=1)
    assert queued and set(second.runs.values()).isdisjoint(first.runs.values())
    again, queued = S.ensure_story(store, "overfit", again=True, epochs=1)
    assert queued and again.seed == second.seed + 1
    assert store.get(again.runs["plain"]).config.seed == again.seed
    # Per workshop: its own record, its runs carry the workshop and who started them.
    open_workspace(home, "room")
    ana, _ = join_workspace(home, "room", "ana")
    ws, queued = S.ensure_story(store, "overfit", actor=ana, epochs=1)
    assert queued and S.load_record(home, "overfit") == again
    assert {(store.get(i).workspace, store.get(i).owner, store.get(i).owner_id)
            for i in ws.runs.values()} == {("room", "ana", ana.person)}


def test_a_record_from_before_a_story_changed_its_steps_is_queued_afresh(home: Path):
    """A record whose roles are not the story's steps any more (the story file was edited
    since) can't be walked through: it counts as no record, and the story is queued again."""
    store = Store(home)
    first, _ = S.ensure_story(store, "overfit", epochs=1)
    path = home / "stories" / "___overfit.json"
    stale = json.loads(path.read_text())
    stale["runs"] = {"plain": first.runs["plain"], "dropout": first.runs["with_dropout"]}
    path.write_text(json.dumps(stale))
    assert S.load_record(home, "overfit") is None
    again, queued = S.ensure_story(store, "overfit", epochs=1)
    assert queued and set(again.runs) == {"plain", "with_dropout"}
    assert S.load_record(home, "overfit") == again
    assert S.load_record(home, "no_such_story") is None


# -- the pages (AppTest; PLAYGROUND_WORKERS=0, so runs wait until trained here) ---------------

APP = Path(__file__).resolve().parent.parent / "app.py"


def run_app(page: str | None = None):
    """The app at `page`, or at its default page (Home) when None."""
    if page:
        return open_page(page)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_queues_its_story_once_then_shows_the_walkthrough(app_home: Path, one_thread):
    at = run_app()  # the default page: no input at all
    story = S.STORIES[S.DEFAULT_STORY]
    assert at.title[0].value == "Trade-off Playground"
    assert story.title in [h.value for h in at.header]
    store = Store(app_home)
    assert store.counts() == {"queued": len(story.steps)}
    run_app()  # a second visitor: nothing more is queued
    assert store.counts() == {"queued": len(story.steps)}
    train_queued(store)
    at = run_app()
    record = S.load_record(app_home, S.DEFAULT_STORY)
    walk = S.walkthrough(story, store, record)
    assert walk.headline in " ".join(s.value for s in at.info)
    assert walk.paragraphs[0] in [m.value for m in at.markdown]
    assert len(at.get("vega_lite_chart")) == 1
    assert store.counts() == {"finished": len(story.steps)}


def test_stories_page_runs_the_chosen_story(app_home: Path):
    at = run_app("pages/stories.py")
    assert at.title[0].value == "Stories"
    assert Store(app_home).counts() == {}  # listing stories queues nothing
    at.button(key="stories_open_overfit").click().run()
    assert S.STORIES["overfit"].title in [h.value for h in at.header]
    at.button(key="stories_run").click().run()
    runs = Store(app_home).list_runs()
    assert sorted(r.config.techniques.get("dropout", {}).get("rate", 0) for r in runs) == [
        0, 0.5]
    assert at.query_params["story"] == "overfit"


# -- a story is one file ---------------------------------------------------------------------

ROOT = APP.parent

PLUGIN = '''"""Wider on the moons: a narrow network and a wide one (a test's story)."""
from __future__ import annotations

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, register
from playground.experiments.stories.prose import acc, accuracy_walkthrough, change, points

MOONS = dict(dataset="moons", model="mlp", epochs=1)


def explain(story, runs, epochs):
    gain = points(acc(runs["narrow"]), acc(runs["wide"]))
    return accuracy_walkthrough(story.steps, runs, f"Width {change(gain)} on the moons.",
                                [f"The narrow one reads {percent(acc(runs['narrow']))}."])


STORY = register(Story(
    "moons", "Wider on the moons", "Does a wider network read the moons better?",
    "Two networks learn the two moons, one narrow and one wide with dropout.",
    (Step("narrow", "Narrow", dict(MOONS, width=8)),
     Step("wide", "Wide, with dropout", dict(MOONS, width=64, dropout=0.2))),
    explain, order=15))
'''

CHECKS = '''
import json, os
from streamlit.testing.v1 import AppTest

from playground.experiments import stories as S
from playground.runs.store import Store
from playground.runs.worker import execute

found = {"listed": list(S.STORIES)[:3]}
at = AppTest.from_file("app.py", default_timeout=120).switch_page("pages/stories.py").run()
at.button(key="stories_open_moons").click().run()
found["header"] = [h.value for h in at.header]
at.button(key="stories_run").click().run()
store = Store(os.environ["PLAYGROUND_HOME"])
found["queued"] = store.counts()
while (run := store.claim(os.getpid())) is not None:
    found.setdefault("trained", []).append(execute(store, run))
record = S.load_record(store.home, "moons")
runs = S.story_runs(store, record)
found["configs"] = {role: [r.config.width, r.config.techniques] for role, r in runs.items()}
found["accuracy"] = {role: r.metrics["accuracy"] for role, r in runs.items()}
walk = S.walkthrough(S.STORIES["moons"], store, record)
found["headline"] = walk.headline
found["table"] = walk.table.to_dict()
at = AppTest.from_file("app.py", default_timeout=120)
at.query_params["story"] = "moons"
at.switch_page("pages/stories.py").run()
found["page"] = [i.value for i in at.info]
found["exceptions"] = [str(e.value) for e in at.exception]
print(json.dumps(found))
'''


def test_a_story_added_as_one_file_is_listed_and_runs(tmp_path: Path):
    """Drop one module into the stories folder of a copy of the project and, with no other
    change, it is listed in its declared place, the Stories page opens and queues it, its
    runs train and its walkthrough is shown."""
    copy = tmp_path / "project"
    for part in ("playground", "models", "components", "pages", ".streamlit"):
        shutil.copytree(ROOT / part, copy / part,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "app.py", copy / "app.py")
    (copy / "playground/experiments/stories/moons.py").write_text(PLUGIN)
    env = dict(os.environ, PLAYGROUND_HOME=str(tmp_path / "home"), PLAYGROUND_WORKERS="0",
               PYTHONPATH=str(copy))
    done = subprocess.run([sys.executable, "-c", CHECKS], cwd=copy, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["exceptions"] == []
    assert found["listed"] == ["privacy", "moons", "shrink"]  # its order, 15: after 10
    assert "Wider on the moons" in found["header"]
    assert found["queued"] == {"queued": 2} and found["trained"] == ["finished", "finished"]
    assert found["configs"] == {"narrow": [8, {}], "wide": [64, {"dropout": {"rate": 0.2}}]}
    # The walkthrough quotes the runs' own numbers, and the page shows it.
    accuracy = found["accuracy"]
    assert found["table"]["accuracy"] == {"Narrow": percent(accuracy["narrow"]),
                                          "Wide, with dropout": percent(accuracy["wide"])}
    assert found["headline"].endswith("on the moons.")
    assert any(found["headline"] in text for text in found["page"]), found["page"]


# -- luck, measured on the story's own runs ----------------------------------------------------


@pytest.fixture(scope="module")
def privacy_runs(tmp_path_factory):
    """The privacy story trained for real (fewer epochs), and its plain run again with another
    seed: the only difference between those two is luck."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    store = Store(tmp_path_factory.mktemp("story_luck") / "home")
    record = S.queue_story(store, S.STORIES["privacy"], epochs=3)
    plain = S.STORIES["privacy"].step("none").values
    reseeded = store.enqueue(make_config(**dict(plain, epochs=3, seed=1)))
    train_queued(store)
    torch.set_num_threads(before)
    return store, record, store.get(reseeded)


def test_strong_privacy_noise_is_beyond_luck_in_the_story(privacy_runs):
    store, ids, _ = privacy_runs
    story = S.STORIES["privacy"]
    record = S.StoryRecord("privacy", ids, 0.0)
    runs = S.story_runs(store, record)
    measured = luck.compare(store, runs["none"], runs["strong"])
    # The reference: McNemar's test on the same test digits, through the luck module.
    assert measured.paired and measured.beyond and measured.diff < 0, measured.verdict()
    low, high = sorted((abs(measured.low), abs(measured.high)))
    said = f"beyond luck (95 % interval {low * 100:.1f} to {high * 100:.1f} points)"
    walk = S.walkthrough(story, store, record)
    assert said in walk.headline, walk.headline
    strong = next(p for p in walk.paragraphs if p.startswith(story.step("strong").label))
    assert f"{-measured.diff * 100:.1f} points below no noise, {said}" in strong
    # Measured once per pair: asking again gives the remembered answer.
    both = S.StoryRuns(runs, store)
    assert both.luck("none", "strong") is both.luck("none", "strong")


def test_a_story_whose_two_runs_differ_only_by_seed_says_within_luck(privacy_runs):
    store, ids, reseeded = privacy_runs
    plain = store.get(ids["none"])
    assert plain.config.model_copy(update={"seed": 1}) == reseeded.config
    measured = luck.compare(store, plain, reseeded)
    assert measured.comparable and not measured.beyond, measured.verdict()
    # The augment story's comparison, told with two runs that differ only by their seed.
    story = S.STORIES["augment"]
    runs = S.StoryRuns({"scarce": plain, "augmented": reseeded, "full": plain}, store)
    epochs = {role: store.epochs(r.id) for role, r in runs.items()}
    walk = story.explain(story, runs, epochs)
    assert "within luck: the two are equally accurate" in walk.headline, walk.headline
    assert "beyond luck" not in " ".join([walk.headline, *walk.paragraphs])
    # Made-up runs with no store behind them say nothing about luck rather than guess.
    assert "luck" not in story.explain(story, dict(runs), epochs).headline
