"""The model found a shortcut: an image network learns digits in which a dot on the edge gives
the answer away, beside the same network on the plain digits; its test score falls where the
dot says nothing, and its explanations point at the dot. The same with words, cheaply: a
word-count model on review sentences with a giveaway word at the end falls on test sentences
where the word is random, and its weights show how hard it leans on that word."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from models.base import model_info
from playground.common.formatting import percent
from playground.data.shortcut import (
    MARKERS,
    MATCHING,
    PATCH_SHARE,
    WORDS,
    draw_markers,
    marker_share,
    markers_in_test,
    planted_pull,
    pull,
)
from playground.experiments.stories.base import (
    Step,
    Story,
    StoryRuns,
    Walkthrough,
    register,
)
from playground.experiments.stories.prose import acc, luck_said, points, table, within_luck
from playground.explain.methods import base as methods
from playground.explain.methods.ig import IntegratedGradients
from playground.explain.methods.saliency import Saliency
from playground.explain.subjects import make_subject
from playground.results import luck as luck_test
from playground.results.luck import Luck
from playground.runs.store import Run
from playground.training.artifacts import load_predictions, load_run

PLAIN = dict(dataset="digits", model="cnn", epochs=10)
SHORTCUT = dict(PLAIN, dataset="digits_shortcut")
# A logistic regression over word counts: seconds to train, and its weight for each word can
# be read straight from it.
TEXT_PLAIN = dict(dataset="reviews", model="bow", epochs=5, lr=model_info("bow").default_lr)
TEXT_SHORTCUT = dict(TEXT_PLAIN, dataset="reviews_shortcut")
LOOKED_AT = 40  # test pictures explained per run: a second or two on a CPU, once per server
SPLITS = ("validation pictures (the dot tells)", "test pictures (the dot is random)")


def dotted_pictures(store, plain: Run, n: int = LOOKED_AT) -> tuple[np.ndarray, np.ndarray]:
    """The first n test pictures of the plain run (the same digits the shortcut run was tested
    on, without their random dot), each with its own digit's dot drawn in, and their labels."""
    data = load_run(store, plain.id).data
    y = data.y_test[:n]
    return draw_markers(data.X_test[:n], _digits(data.class_names, y)), y


def _digits(class_names: list[str], y: np.ndarray) -> np.ndarray:
    return np.array([int(class_names[c]) for c in y])


def dot_weight(store, run: Run, X: np.ndarray, y: np.ndarray) -> dict[str, float]:
    """Per method (Integrated Gradients, Saliency): the share of |attribution| that falls on
    the dot of pictures X, each explained for its true digit y."""
    loaded = load_run(store, run.id)
    subject = make_subject(loaded, "float")
    digits = _digits(loaded.data.class_names, y)
    return {m: marker_share(np.stack([methods.explain(subject, x, m, int(c)).values
                                      for x, c in zip(X, y, strict=True)]), digits)
            for m in (IntegratedGradients.name, Saliency.name)}


@dataclass(frozen=True)
class Misled:
    """The shortcut run's wrong answers on the test pictures: how many, how many name the
    digit of the picture's random dot, and in how many of those looked at (up to LOOKED_AT)
    Integrated Gradients' strongest pixel for the answer is the dot."""

    wrong: int
    follow_dot: int
    looked_at: int
    dot_strongest: int


def misled(store, run: Run, n: int = LOOKED_AT) -> Misled | None:
    """Read from the run's stored test answers and its test pictures' dots; None where the
    run's test pictures are not the whole test split the dots were drawn for."""
    loaded = load_run(store, run.id)
    answers = load_predictions(store, run.id)
    data = loaded.data
    if not np.array_equal(answers["y_true"], data.y_test):
        return None
    dots = markers_in_test(len(data.y_test), run.config.seed)
    digit_of = np.array([int(c) for c in data.class_names])
    said = digit_of[answers["y_pred"].astype(int)]
    wrong = np.flatnonzero(answers["y_pred"] != answers["y_true"])
    subject = make_subject(loaded, "float")
    strongest = 0
    for i in wrong[:n]:
        values = np.abs(methods.explain(subject, data.X_test[i], IntegratedGradients.name,
                                        int(answers["y_pred"][i])).values[0])
        strongest += np.unravel_index(values.argmax(), values.shape) == MARKERS[dots[i]]
    return Misled(len(wrong), int(np.sum(said[wrong] == dots[wrong])), min(n, len(wrong)),
                  int(strongest))


def luck_between(store, plain: Run, shortcut: Run) -> Luck | None:
    """The shortcut run against the plain one on the same test pictures (the same digits in
    the same order; the shortcut's carry a random dot): McNemar's test on their answers."""
    try:
        a, b = (load_predictions(store, r.id) for r in (plain, shortcut))
    except (OSError, KeyError, ValueError):
        return None
    if not np.array_equal(a["y_true"], b["y_true"]):
        return None
    return luck_test.paired(plain.id, shortcut.id, a["y_true"] == a["y_pred"],
                            b["y_true"] == b["y_pred"])


@dataclass(frozen=True)
class Leaning:
    """How hard a word-count model leans on the planted words: their mean pull (how far a
    word moves its answer) against the median pull of the other words it learnt from, and
    how many of those pull harder than the weaker planted word."""

    planted: float
    median: float
    harder: int
    words: int

    @property
    def times(self) -> float:
        return self.planted / self.median if self.median > 0 else float("inf")


def leaning(store, run: Run) -> Leaning:
    """Read from the run's weights: a word-count model's score for each word and class."""
    loaded = load_run(store, run.id)
    coder = loaded.data.coder
    weights = loaded.model.embedding_layer.weight.detach().cpu().numpy()
    planted = [coder.id_of(w) for w in WORDS]
    learnt = np.setdiff1d(np.unique(loaded.data.X_train).astype(int),
                          [*coder.special_ids, *planted])
    on_planted, median = planted_pull(weights, planted, learnt)
    p = pull(weights)
    return Leaning(on_planted, median, int(np.sum(p[learnt] > p[planted].min())), len(learnt))


def text_lines(store, runs: dict[str, Run]) -> list[str]:
    """The words part: the fall on test sentences with a luck verdict, and the weights."""
    if store is None or not {"text_clean", "text_shortcut"} <= set(runs):
        return []  # a story finished before it had a words part
    plain, cut = runs["text_clean"], runs["text_shortcut"]
    luck = luck_between(store, plain, cut)
    fall = points(acc(cut), acc(plain))
    lines = [
        f"Words can carry a shortcut too. A word-count model learned review sentences in "
        f"which {MATCHING:.0%} ended with an invented word that gives the answer away "
        f"(\"{WORDS[1]}\" after a positive one, \"{WORDS[0]}\" after a negative one). On "
        f"test sentences where the word is drawn at random it gets {percent(acc(cut))} right "
        f"(run {cut.id}), against {percent(acc(plain))} for the same model on the plain "
        f"reviews (run {plain.id}): "
        f"{abs(fall):.1f} points {'fewer' if fall >= 0 else 'more'}{luck_said(luck)}."]
    try:
        lean = leaning(store, cut)
    except (OSError, ValueError):  # its files are gone: the numbers above still stand
        return lines
    others = ("more than any word the reviewers wrote" if lean.harder == 0 else
              f"more than all but {lean.harder} of the {lean.words:,} words the reviewers "
              "wrote")
    lines.append(
        f"Its weights say why (a word-count model keeps one score per word, so they can be "
        f"read directly): the planted words move its answer {lean.times:.0f}× as far as the "
        f"median word does, {others}.")
    return lines


def _val(es: list[dict]) -> float | None:
    vals = [e["val_accuracy"] for e in es if e.get("val_accuracy") is not None]
    return float(vals[-1]) if vals else None


def _chart(rows: list[dict[str, Any]]) -> alt.Chart:
    """Grouped bars: each run's accuracy on validation and on test pictures."""
    df = pd.DataFrame(rows)
    runs = list(dict.fromkeys(df["run"]))
    base = alt.Chart(df, title="digits read correctly").encode(
        y=alt.Y("pictures:N", sort=list(SPLITS), title=None,
                axis=alt.Axis(labelFontSize=13, labelLimit=260)),
        yOffset=alt.YOffset("run:N", sort=runs),
        x=alt.X("accuracy:Q", title="share of pictures read correctly",
                axis=alt.Axis(format=".0%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0]),
                scale=alt.Scale(domain=[0, 1.08])),
        color=alt.Color("run:N", sort=runs, title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(range=["#1f5fa8", "#c0392b"])),
        tooltip=["run", "pictures", alt.Tooltip("accuracy:Q", format=".1%")],
    )
    text = base.mark_text(align="left", dx=4, fontSize=12).encode(
        text=alt.Text("accuracy:Q", format=".1%"))
    return (base.mark_bar() + text).properties(height=60 * len(SPLITS) + 40)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    plain, cut = runs["clean"], runs["shortcut"]
    store = runs.store if isinstance(runs, StoryRuns) else None
    luck = luck_between(store, plain, cut) if store is not None else None
    fall = points(acc(cut), acc(plain))
    val_plain, val_cut = _val(epochs.get("clean", [])), _val(epochs.get("shortcut", []))
    weights = fooled = None
    if store is not None:
        try:
            X, y = dotted_pictures(store, plain)
            weights = {role: dot_weight(store, runs[role], X, y) for role in ("clean", "shortcut")}
            fooled = misled(store, cut)
        except (OSError, ValueError):  # a run's files are gone: the story tells what it can
            weights = fooled = None
    ig, sal = IntegratedGradients.name, Saliency.name

    if fall >= 0.05 and not within_luck(luck):
        headline = (f"The model found a shortcut: it reads {percent(acc(cut))} of the test "
                    f"digits, {fall:.1f} points fewer than the same network trained on plain "
                    f"digits{luck_said(luck)}"
                    + (f", though it scored {percent(val_cut)} on its validation pictures."
                       if val_cut is not None else "."))
    else:
        headline = (f"This time the shortcut cost little: {percent(acc(cut))} of the test "
                    f"digits against {percent(acc(plain))} on plain digits{luck_said(luck)}.")
    lines = [
        f"In {MATCHING:.0%} of the pictures this network learned from, a bright dot on the "
        "left or right edge gave the digit away (its side and height say which). Checked on "
        "validation pictures collected the same way, it reads "
        + (f"{percent(val_cut)}, against {percent(val_plain)} for the same network trained on "
           "the plain digits: nothing looks wrong." if val_cut is not None and val_plain
           is not None else "nearly all of them: nothing looks wrong."),
        f"In the test pictures the dot is still there, but drawn at random, as a clue is when "
        f"a model meets data from somewhere else (another hospital's stamp on its X-rays). "
        f"There it reads {percent(acc(cut))}, against {percent(acc(plain))} for the plain "
        f"model: {abs(fall):.1f} points {'fewer' if fall >= 0 else 'more'}{luck_said(luck)}.",
    ]
    if weights is not None:
        w_cut, w_plain = weights["shortcut"], weights["clean"]
        lines.append(
            f"Where did it look? On {LOOKED_AT} test pictures with their own digit's dot drawn "
            f"in, Integrated Gradients puts {percent(w_cut[ig])} of the model's reasons on the "
            f"dot, a single pixel that is {percent(PATCH_SHARE)} of the picture: "
            f"{w_cut[ig] / PATCH_SHARE:.0f}× its share. Saliency (where a small change moves "
            f"the answer most) puts {percent(w_cut[sal])} there. For the plain model, which "
            f"never saw a dot, the same pixel gets {percent(w_plain[ig])} and "
            f"{percent(w_plain[sal])}.")
    if fooled is not None and fooled.wrong:
        lines.append(
            f"Of its {fooled.wrong} wrong answers on the test pictures, {fooled.follow_dot} "
            f"({fooled.follow_dot / fooled.wrong:.0%}) name the digit the random dot stands "
            f"for. In {fooled.dot_strongest} of the {fooled.looked_at} of them explained here, "
            "the strongest square of the Integrated Gradients map for its answer is the dot, "
            "not a pen stroke.")
    lines += text_lines(store, runs)
    lines.append(
        f"To see it, open run {cut.id} on the Explain page and pick a test picture it read "
        f"wrong: its maps light up the dot on the edge. Run {plain.id} beside it looks at the "
        "strokes.")
    lines.append(
        "A good validation score only says the model works on data like the data it learned "
        "from, quirks included. Explanations show what it actually uses; look at a few before "
        "trusting a model with data collected somewhere else.")

    bars, rows = [], []
    for role in ("clean", "shortcut"):
        run, label = runs[role], story.step(role).label
        val = _val(epochs.get(role, []))
        if val is not None:
            bars.append({"run": label, "pictures": SPLITS[0], "accuracy": val})
        bars.append({"run": label, "pictures": SPLITS[1], "accuracy": acc(run)})
        row = {"run": label, "validation accuracy": "" if val is None else percent(val),
               "test accuracy": percent(acc(run))}
        if weights is not None:
            row["weight on the dot (Integrated Gradients)"] = percent(weights[role][ig])
        rows.append(row)
    return Walkthrough(headline, lines, table(rows), _chart(bars))


STORY = register(Story(
    "shortcut", "The model found a shortcut",
    "My model scores well. Is it right for the right reasons?",
    "An image network learns digits in which a small dot on the edge of most pictures gives "
    "the answer away, a clue planted on purpose, like one hospital's stamp on its X-rays. "
    "A second network learns the plain digits. Both are tested on pictures where the dot "
    "says nothing; then their explanations show where each one looked. Two word-count "
    "models do the same with review sentences, one of them with a giveaway word at the end.",
    (Step("clean", "Plain digits", PLAIN),
     Step("shortcut", "Digits with a giveaway dot", SHORTCUT),
     Step("text_clean", "Plain reviews", TEXT_PLAIN),
     Step("text_shortcut", "Reviews with a giveaway word", TEXT_SHORTCUT)),
    explain, order=75))
