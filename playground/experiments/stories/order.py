"""Does word order matter? Word counts (a bag of words) against a tiny BERT, which reads the
sentence in order, on the review sentences: overall and on the sentences with a negation."""
from __future__ import annotations

import re
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from playground.common import escape
from playground.common.formatting import percent
from playground.data.views import run_data
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    kept_answers,
    luck_of,
    luck_said,
    luck_where,
    points,
    table,
)
from playground.runs.store import Run

REVIEWS = dict(dataset="reviews")
# Logistic regression over word counts: a second or two.
COUNTS = dict(REVIEWS, model="bow", epochs=10, lr=0.05)
# The tiny BERT from scratch: 2 layers of 64, about 6 s an epoch on one core of a busy
# 2-core machine; 3 epochs reach what 5 do (about 77 %), and the default learning rate of 0.01
# makes it answer one class for every sentence.
BERT = dict(REVIEWS, model="bert", width=64, depth=2, epochs=3, lr=0.001)

# Words that turn a sentence around; "n't" covers don't, isn't, wasn't, ... and the forms
# written without the apostrophe are common in reviews.
NEGATIONS = frozenset({
    "not", "no", "never", "nothing", "nobody", "none", "neither", "nor", "nowhere", "cannot",
    "without", "hardly", "barely", "dont", "didnt", "doesnt", "isnt", "wasnt", "werent",
    "arent", "wont", "cant", "couldnt", "wouldnt", "shouldnt", "havent", "hasnt", "hadnt"})
_WORD = re.compile(r"[a-z]+(?:['’][a-z]+)?")


def negated(sentence: str) -> bool:
    """Whether a sentence holds a negation word (not, no, never, n't, ...)."""
    for word in _WORD.findall(str(sentence).lower()):
        if word in NEGATIONS or word.endswith(("n't", "n’t")):
            return True
    return False


def sentences_tested(run: Run) -> np.ndarray:
    """The run's test sentences, in the order its test answers were kept."""
    return np.asarray(run_data(run.config).texts[2], dtype=object)


def _share(right: np.ndarray, keep: np.ndarray) -> float:
    return float(right[keep].mean()) if keep.any() else float("nan")


def _reading(runs: dict[str, Run]) -> dict[str, Any] | None:
    """Both runs' right answers on the sentences with and without a negation; None where the
    test answers were not kept (runs made up without a store)."""
    counts, bert = kept_answers(runs, "word_counts"), kept_answers(runs, "tiny_bert")
    if counts is None or bert is None or not np.array_equal(counts[0], bert[0]):
        return None
    sentences = sentences_tested(runs["tiny_bert"])
    if len(sentences) != len(counts[0]):
        return None
    neg = np.array([negated(s) for s in sentences], bool)
    right = {"word_counts": counts[1] == counts[0], "tiny_bert": bert[1] == bert[0]}
    # The shortest negated sentence BERT got right and word counts got wrong: one example
    # to read (and the other way round, which happens too).
    def example(good: str, bad: str) -> str | None:
        found = [s for s, n, g, b in zip(sentences, neg, right[good], right[bad], strict=True)
                 if n and g and not b]
        return min(found, key=len) if found else None
    return {"neg": neg, "right": right, "sentences": sentences,
            "bert_only": example("tiny_bert", "word_counts"),
            "counts_only": example("word_counts", "tiny_bert")}


def _chart(rows: list[dict[str, Any]], runs: list[str]) -> alt.Chart:
    """Grouped bars: each run's accuracy on all test sentences, on those with a negation and
    on the rest."""
    df = pd.DataFrame(rows)
    groups = list(dict.fromkeys(df["sentences"]))
    return alt.Chart(df, title="share of test sentences read right").encode(
        x=alt.X("sentences:N", title=None, sort=groups,
                axis=alt.Axis(labelAngle=0, labelFontSize=13, labelLimit=260)),
        xOffset=alt.XOffset("run:N", sort=runs),
        y=alt.Y("accuracy:Q", title="accuracy", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", sort=runs, title=None,
                        legend=alt.Legend(orient="bottom", labelLimit=320),
                        scale=alt.Scale(range=["#9aa5b1", "#1f5fa8"])),
        tooltip=["run", "sentences", alt.Tooltip("accuracy:Q", format=".1%"),
                 alt.Tooltip("count:Q", title="sentences")],
    ).mark_bar().properties(height=280)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    counts, bert = runs["word_counts"], runs["tiny_bert"]
    labels = {role: story.step(role).label for role in ("word_counts", "tiny_bert")}
    overall = luck_of(runs, "word_counts", "tiny_bert")
    gain = points(acc(counts), acc(bert))
    trained_on = sum(bert.metrics.get("train_class_counts") or []) or None
    lines = [
        "Word counts add up what each word piece says, wherever it stands: to them \"not "
        "good, bad\" and \"not bad, good\" are the same sentence. The tiny BERT reads the "
        "pieces in order, each one looking at the others (attention), so it can learn that "
        "\"not\" turns the next word around. Both learn from scratch from the same "
        + (f"{trained_on:,} " if trained_on else "") + "labelled review sentences.",
        f"On all {counts.metrics['test_examples']:,} test sentences, word counts read "
        f"{percent(acc(counts))} right and the tiny BERT {percent(acc(bert))} "
        f"({points_words(gain)}){luck_said(overall)}.",
    ]
    reading = _reading(runs)
    rows = [{"run": labels[role], "sentences": "all test sentences", "accuracy": acc(runs[role]),
             "count": runs[role].metrics["test_examples"]}
            for role in ("word_counts", "tiny_bert")]
    neg_gain, neg_luck = None, None
    if reading is not None:
        neg, right = reading["neg"], reading["right"]
        on_neg = {role: _share(right[role], neg) for role in right}
        on_rest = {role: _share(right[role], ~neg) for role in right}
        neg_luck = luck_where(runs, "word_counts", "tiny_bert", neg)
        neg_gain = points(on_neg["word_counts"], on_neg["tiny_bert"])
        rest_gain = points(on_rest["word_counts"], on_rest["tiny_bert"])
        lines.append(
            f"{int(neg.sum())} of the test sentences hold a negation word (not, no, never, "
            f"n't, ...). On those, word counts read {percent(on_neg['word_counts'])} right and "
            f"the tiny BERT {percent(on_neg['tiny_bert'])} ({points_words(neg_gain)})"
            f"{luck_said(neg_luck, 'the two read them equally well')}; on the other "
            f"{int((~neg).sum())}, {percent(on_rest['word_counts'])} against "
            f"{percent(on_rest['tiny_bert'])} ({points_words(rest_gain)}).")
        if neg_luck is not None:
            lines.append(
                f"Sentence by sentence: the tiny BERT got {neg_luck.only_b} negated sentences "
                f"right that word counts got wrong, and word counts {neg_luck.only_a} that "
                "the tiny BERT got wrong."
                + (f" One it got and word counts missed: \"{escape.md(reading['bert_only'])}\""
                   if reading["bert_only"] else ""))
        for role in ("word_counts", "tiny_bert"):
            rows.append({"run": labels[role], "sentences": "with a negation",
                         "accuracy": on_neg[role], "count": int(neg.sum())})
            rows.append({"run": labels[role], "sentences": "without one",
                         "accuracy": on_rest[role], "count": int((~neg).sum())})
    # Order paid where the tiny BERT's lead on negated sentences is beyond luck and bigger
    # than its lead elsewhere.
    if neg_gain is not None and neg_gain > gain and neg_luck is not None and neg_luck.beyond:
        headline = (f"Word order paid where it should: on sentences with a negation the tiny "
                    f"BERT read {percent(on_neg['tiny_bert'])} right against "
                    f"{percent(on_neg['word_counts'])} for word counts"
                    f"{luck_said(neg_luck)}.")
    elif overall is not None and overall.comparable and overall.beyond and gain < 0:
        headline = (f"Word counts beat the tiny BERT: {percent(acc(counts))} against "
                    f"{percent(acc(bert))}{luck_said(overall)}. Reading word order takes "
                    "more than these few sentences to learn.")
    elif overall is not None and overall.comparable and overall.beyond:
        headline = (f"The tiny BERT read {percent(acc(bert))} of the test sentences right "
                    f"against {percent(acc(counts))} for word counts{luck_said(overall)}, "
                    "but no more so on the sentences with a negation.")
    else:
        headline = (f"Reading word order did not pay here: the tiny BERT read "
                    f"{percent(acc(bert))} right, word counts {percent(acc(counts))}"
                    f"{luck_said(overall)}")
        headline += (f"; on the sentences with a negation {percent(on_neg['tiny_bert'])} "
                     f"against {percent(on_neg['word_counts'])}"
                     f"{luck_said(neg_luck, 'no real difference either')}."
                     if reading is not None else ".")
    lines.append(
        "Why it can go either way: a BERT has far more to learn than a table of word scores "
        f"({bert.metrics['params']:,} learned numbers against {counts.metrics['params']:,}), "
        "and here it learns from a couple of thousand sentences. The BERTs that read "
        "negation well first read millions of unlabelled sentences (pretraining, the "
        "\"Pretrain, then fine-tune\" story) and only then learn the labels.")
    lines.append(
        f"The price of reading in order: {bert.metrics['train_seconds']:.0f} s of training "
        f"against {counts.metrics['train_seconds']:.1f} s, and "
        f"{bert.metrics['latency_ms']:.1f} ms against {counts.metrics['latency_ms']:.2f} ms to "
        "answer one sentence (as busy as the machine was).")
    shown = []
    for role in ("word_counts", "tiny_bert"):
        run = runs[role]
        row = {"run": labels[role], "accuracy": percent(acc(run))}
        if reading is not None:
            row["with a negation"] = percent(_share(reading["right"][role], reading["neg"]))
            row["without one"] = percent(_share(reading["right"][role], ~reading["neg"]))
        row.update({"learned numbers": f"{run.metrics['params']:,}",
                    "training time": f"{run.metrics['train_seconds']:.1f} s"})
        shown.append(row)
    return Walkthrough(headline, lines, table(shown),
                       _chart(rows, [labels["word_counts"], labels["tiny_bert"]]))


def points_words(diff: float) -> str:
    """'the tiny BERT 2.3 points ahead', 'the tiny BERT 1.0 points behind', 'level'."""
    if abs(diff) < 0.05:
        return "level"
    return f"the tiny BERT {abs(diff):.1f} points {'ahead' if diff > 0 else 'behind'}"


STORY = register(Story(
    "word_order", "Does word order matter?",
    "Do I need a language model, or do word counts do?",
    "Two models learn to tell positive review sentences from negative ones. One only "
    "counts words (a bag of words: the order is thrown away); a tiny BERT, the kind of "
    "model behind today's language models, reads the sentence in order. Sentences with "
    "\"not\" or \"never\" are where order should matter: \"not good\" is made of a good "
    "word. Both learn from scratch on the same sentences.",
    (Step("word_counts", "Word counts (order ignored)", COUNTS),
     Step("tiny_bert", "Tiny BERT (reads in order)", BERT)),
    explain, order=110))
