"""The text stories: each one's runs are set up as its text says, train for real (smaller
than the story's own settings: a one-layer BERT for one epoch on 30 % of the sentences), and
the walkthrough quotes numbers recomputed here from the runs' kept test answers, with
scikit-learn and the luck module as the references."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from sklearn.metrics import precision_score, recall_score

from playground.common.formatting import human_bytes, percent
from playground.data.views import run_data
from playground.experiments import stories as S
from playground.experiments.stories.order import negated
from playground.experiments.stories.prose import luck_said
from playground.experiments.workshop import open_workspace, submission_problems
from playground.results import luck
from playground.runs.queue import submit
from playground.runs.store import Run, Store
from playground.runs.worker import execute
from playground.training.artifacts import load_predictions, load_run
from playground.training.config import ConfigError, make_config
from playground.training.techniques.class_weights import unweighted_twin
from playground.training.techniques.distillation import student_alone
from playground.training.techniques.quantization import QUANTIZED_ACCURACY, QUANTIZED_SIZE

# Per model, what the test changes: the same data, models and techniques, less training.
SMALLER = {"bert": dict(width=32, depth=1, epochs=1, train_fraction=0.3),
           "bow": dict(epochs=2), "bow_net": dict(epochs=1, train_fraction=0.5)}
TEXT_STORIES = ("word_order", "spam", "phone")


def configs(story: S.Story) -> dict:
    return {s.role: make_config(**dict(s.values, **({"distill_from": "x"} if s.teacher
                                                   else {}))) for s in story.steps}


def refusal(story: S.Story) -> str | None:
    """Why this build refuses one of the story's runs (a technique not yet working on text),
    or None."""
    try:
        configs(story)
    except ConfigError as problem:
        return str(problem)
    return None


def test_each_text_story_changes_only_what_it_is_about():
    order = S.STORIES["word_order"]
    words, bert = (order.step(r).values for r in ("word_counts", "tiny_bert"))
    assert words["dataset"] == bert["dataset"] == "reviews"
    assert (words["model"], bert["model"]) == ("bow", "bert")
    # Workshop-sized: a 2-layer BERT of width 64, a few epochs.
    assert bert["width"] == 64 and bert["depth"] == 2 and bert["epochs"] <= 5
    if refusal(S.STORIES["spam"]) is None:
        spam = configs(S.STORIES["spam"])
        assert spam["unweighted"].dataset == "sms_spam"
        assert unweighted_twin(spam["spam_weights"]) == spam["unweighted"]
    if refusal(S.STORIES["phone"]) is None:
        phone = configs(S.STORIES["phone"])
        # The student-alone step is exactly the twin distillation compares with.
        assert student_alone(phone["small_student"]) == phone["small_alone"]
        assert phone["big_bert"].model == "bert" and phone["small_student"].model == "bow"
        assert phone["big_bert"].model_copy(update={"techniques": {}}) == make_config(**bert)
    assert S.STORIES["phone"].step("small_student").teacher == "big_bert"


def test_every_text_story_run_fits_a_workshops_default_limits(home):
    """A participant can start each story in a workshop as it comes: every run within the
    default caps on epochs × examples and on work (a story queues past no one's caps)."""
    room, _ = open_workspace(home, "room")
    for key in TEXT_STORIES:
        if refusal(S.STORIES[key]):
            continue
        for role, config in configs(S.STORIES[key]).items():
            assert submission_problems(room, "ana", config, 0) == [], (key, role)


def test_negation_words_are_found_as_words():
    assert all(map(negated, ["Not good at all.", "I didn't like it", "i dont recommend it",
                             "Never again!", "Nothing special.", "It wasn’t worth it"]))
    assert not any(map(negated, ["Good food.", "I know what I like", "Another one", "notable"]))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Every text story this build can run, queued through the one entry (so each
    technique's twin is the story's own step) and trained here, smaller."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    home = tmp_path_factory.mktemp("text_stories") / "home"
    patch = pytest.MonkeyPatch()
    patch.setenv("PLAYGROUND_HOME", str(home))  # the tokenizer is shared through it
    store = Store(home)
    records = {}
    for key in TEXT_STORIES:
        story = S.STORIES[key]
        if refusal(story):
            continue
        ids: dict[str, str] = {}
        for step in story.steps:
            values = dict(step.values, seed=0, **SMALLER[step.values["model"]])
            if step.teacher:
                values["distill_from"] = ids[step.teacher]
            ids[step.role] = submit(store, make_config(**values)).run_id
        records[key] = S.StoryRecord(key, ids, 0.0)
    while (run := store.claim(os.getpid())) is not None:
        assert execute(store, run) == "finished", store.get(run.id).error
    torch.set_num_threads(before)
    # Nothing trained twice: every twin a technique asked for is one of the story's steps.
    assert store.counts() == {"finished": sum(len(r.runs) for r in records.values())}
    yield store, records
    patch.undo()


def story_of(trained, key: str):
    store, records = trained
    if key not in records:
        pytest.skip(f"this build refuses a run of the story: {refusal(S.STORIES[key])}")
    record = records[key]
    walk = S.walkthrough(S.STORIES[key], store, record)
    assert walk is not None and walk.chart.to_dict()  # a valid Vega-Lite spec
    runs = S.story_runs(store, record)
    text = " ".join([walk.headline, *walk.paragraphs]) + walk.table.to_string()
    return store, runs, walk, text


def right_answers(store: Store, run) -> tuple[np.ndarray, np.ndarray]:
    kept = load_predictions(store, run.id)
    return kept["y_true"], kept["y_pred"]


def test_word_order_walkthrough_measures_the_negated_sentences(trained):
    store, runs, walk, text = story_of(trained, "word_order")
    counts, bert = runs["word_counts"], runs["tiny_bert"]
    for run in (counts, bert):
        assert percent(run.metrics["accuracy"]) in text
    sentences = run_data(bert.config).texts[2]
    neg = np.array([negated(s) for s in sentences])
    assert 0 < neg.sum() < len(neg)
    assert f"{neg.sum()} of the test sentences hold a negation word" in text
    right = {}
    for role, run in runs.items():
        y_true, y_pred = right_answers(store, run)
        assert len(y_true) == len(sentences)
        right[role] = y_true == y_pred
        # Each run's accuracy on the negated sentences, from its own kept answers.
        assert percent(right[role][neg].mean()) in text
        assert percent(right[role][~neg].mean()) in text
    # The verdict on the negated sentences is McNemar's, through the luck module.
    measured = luck.paired(counts.id, bert.id, right["word_counts"][neg], right["tiny_bert"][neg])
    assert luck_said(measured, "the two read them equally well") in text
    assert (f"the tiny BERT got {measured.only_b} negated sentences right that word counts "
            f"got wrong, and word counts {measured.only_a}") in text
    assert list(walk.table.columns[:3]) == ["accuracy", "with a negation", "without one"]


def test_spam_walkthrough_reports_recall_and_precision(trained):
    store, runs, walk, text = story_of(trained, "spam")
    plain, weighted = runs["unweighted"], runs["spam_weights"]
    assert weighted.metrics["class_weights"]["baseline_run_id"] == plain.id
    spam = plain.metrics["class_names"].index("spam")
    for run in (plain, weighted):
        y_true, y_pred = right_answers(store, run)
        # scikit-learn's recall and precision of the spam class, from the kept answers.
        recall = recall_score(y_true, y_pred, pos_label=spam)
        precision = precision_score(y_true, y_pred, pos_label=spam, zero_division=0)
        assert f"recall {percent(recall)}" in text
        assert percent(precision) in text
        assert percent(run.metrics["accuracy"]) in text
        flagged = int((y_pred == spam).sum())
        assert f"of the {flagged} it flags" in text
    y_true, plain_pred = right_answers(store, plain)
    weighted_pred = right_answers(store, weighted)[1]
    is_spam = y_true == spam
    found = luck.paired(plain.id, weighted.id, plain_pred[is_spam] == spam,
                        weighted_pred[is_spam] == spam)
    assert luck_said(found, "the two find it equally often") in text
    assert list(walk.chart.data["share"][:1]) == [recall_score(y_true, plain_pred,
                                                               pos_label=spam)]


def test_phone_walkthrough_weighs_size_speed_and_accuracy(trained):
    store, runs, walk, text = story_of(trained, "phone")
    bert, alone, student = runs["big_bert"], runs["small_alone"], runs["small_student"]
    assert student.metrics["teacher_run_id"] == bert.id
    assert student.metrics["baseline_run_id"] == alone.id
    for run in (bert, alone, student):
        assert percent(run.metrics["accuracy"]) in text
        assert human_bytes(run.metrics["size_bytes"], "KB") in text
    if QUANTIZED_SIZE.value(bert.metrics) is not None:
        assert human_bytes(QUANTIZED_SIZE.value(bert.metrics), "KB") in text
        assert percent(QUANTIZED_ACCURACY.value(bert.metrics)) in text
        # The word table in 32 bits, as the trained model really has it.
        words = load_run(store, bert.id).model.embedding_layer.weight
        assert human_bytes(words.numel() * words.element_size(), "KB") in text
    assert walk.table.loc["Word counter taught by the BERT", "share of the BERT's size"] == \
        f"{student.metrics['size_bytes'] / bert.metrics['size_bytes']:.0%}"



# -- the walkthrough follows the numbers (made-up runs, no store: nothing said about luck) --


def made_up(role: str, values: dict, **metrics) -> Run:
    return Run(id=role, status="finished", config=make_config(**values), created=0.0,
               metrics=dict(class_names=["legitimate", "spam"], **metrics))


def test_spam_walkthrough_says_what_the_weights_bought_and_cost():
    story = S.STORIES["spam"]
    plain = story.step("unweighted").values  # both made up from it: nothing reads the rest
    runs = {"unweighted": made_up("unweighted", plain, accuracy=0.975,
                                  confusion_matrix=[[960, 6], [22, 127]],
                                  train_class_counts=[2896, 448]),
            "spam_weights": made_up("spam_weights", plain, accuracy=0.975,
                                    confusion_matrix=[[950, 16], [12, 137]],
                                    train_class_counts=[2896, 448],
                                    class_weights={"weights": [0.58, 3.73]})}
    walk = story.explain(story, runs, {})
    assert walk.headline == ("Class weights caught 137 of the 149 spam messages instead of "
                             "127 (recall 85.2% → 91.9%), for 10 more legitimate messages "
                             "flagged by mistake.")
    text = " ".join(walk.paragraphs)
    assert "of the 133 it flags, 127 really are spam (precision 95.5%)" in text
    assert "of the 153 it flags 137 really are (precision 89.5%, against 95.5%)" in text
    assert "counts 6.4× as much" in text
    assert "right about 86.6% of the test messages and catches nothing" in text
    assert list(walk.table["wrongly flagged"]) == [6, 16]
    assert "luck" not in walk.headline
    # Weights that found less: the verdict says so.
    runs["spam_weights"].metrics["confusion_matrix"] = [[955, 11], [25, 124]]
    walk = story.explain(story, runs, {})
    assert walk.headline == ("This time class weights did not catch more spam: 124 of 149 "
                             "found, against 127 without them; and 5 more false alarms.")


def test_phone_walkthrough_without_an_8_bit_copy_says_why():
    story = S.STORIES["phone"]
    bert, words = (S.STORIES["word_order"].step(r).values for r in ("tiny_bert", "word_counts"))
    runs = {"big_bert": made_up("big_bert", bert, accuracy=0.78, size_bytes=1_071_096,
                                latency_ms=12.0, params=266_626, test_examples=600,
                                quantized={"mode": "int8", "skipped": "no int8 engine here"}),
            "small_student": made_up("small_student", words, accuracy=0.75, size_bytes=24_152,
                                     latency_ms=0.03, teacher_agreement=0.81),
            "small_alone": made_up("small_alone", words, accuracy=0.73, size_bytes=24_152,
                                   latency_ms=0.03)}
    walk = story.explain(story, runs, {})
    assert walk.headline == ("The word counter taught by the BERT is 2% of the BERT's size and "
                             "answers 400× faster, reading 75.0% against 78.0%.")
    text = " ".join(walk.paragraphs)
    assert "The 8-bit copy was not made on this machine: no int8 engine here." in text
    assert "reads 75.0% (lost 3.0 points against the BERT)" in text
    assert "alone reads 73.0%, so the teacher added 2.0 points" in text
    assert list(walk.table.index) == ["Tiny BERT", "Word counter taught by the BERT",
                                      "Word counter alone"]
