"""When spam is rare: a spam filter learns from the SMS messages as they are (about one in
eight is spam), then again with class weights; how much spam each finds (recall) against how
many of the messages it flags really are spam (precision)."""
from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from playground.common import escape
from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    kept_answers,
    luck_of,
    luck_said,
    luck_where,
    table,
)
from playground.runs.store import Run
from playground.training.techniques.class_weights import ClassWeights

# A small network over word counts: about a second an epoch on one core. Trained longer it
# finds nearly all the spam it ever will without help, and weights have little to show.
MESSAGES = dict(dataset="sms_spam", model="bow_net", width=64, depth=1, epochs=3)


def rare_class(metrics: dict[str, Any]) -> int:
    """The class with the fewest training examples (the spam)."""
    return int(np.argmin(metrics["train_class_counts"]))


def filter_counts(metrics: dict[str, Any], rare: int) -> dict[str, float]:
    """From the run's confusion matrix (rows: true class, columns: its answer): how many rare
    test examples there were, how many it found, flagged, missed and flagged by mistake."""
    cm = np.asarray(metrics["confusion_matrix"])
    real, found, flagged = int(cm[rare].sum()), int(cm[rare, rare]), int(cm[:, rare].sum())
    return {"real": real, "found": found, "flagged": flagged, "missed": real - found,
            "false_alarms": flagged - found, "others": int(cm.sum()) - real,
            "recall": found / real if real else float("nan"),
            "precision": found / flagged if flagged else float("nan")}


def _chart(rows: list[dict[str, Any]], runs: list[str]) -> alt.Chart:
    df = pd.DataFrame(rows)
    return alt.Chart(df, title="the spam filter's two numbers").encode(
        x=alt.X("measure:N", title=None, sort=list(dict.fromkeys(df["measure"])),
                axis=alt.Axis(labelAngle=0, labelFontSize=13, labelLimit=320)),
        xOffset=alt.XOffset("run:N", sort=runs),
        y=alt.Y("share:Q", title=None, axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", sort=runs, title=None,
                        legend=alt.Legend(orient="bottom", labelLimit=320),
                        scale=alt.Scale(range=["#c0392b", "#1f5fa8"])),
        tooltip=["run", "measure", alt.Tooltip("share:Q", format=".1%")],
    ).mark_bar().properties(height=260)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    plain, weighted = runs["unweighted"], runs["spam_weights"]
    rare = rare_class(plain.metrics)
    name = escape.md(plain.metrics["class_names"][rare])
    other = escape.md(plain.metrics["class_names"][1 - rare]) \
        if len(plain.metrics["class_names"]) == 2 else "other"
    train = plain.metrics["train_class_counts"]
    p, w = filter_counts(plain.metrics, rare), filter_counts(weighted.metrics, rare)
    weights = ClassWeights.report(weighted.metrics).get("weights") or []
    answers = kept_answers(runs, "unweighted")
    is_rare = answers[0] == rare if answers is not None else None
    # Paired on the same messages: the spam ones (found or not) and the others (let through
    # or flagged by mistake).
    found_luck = luck_where(runs, "unweighted", "spam_weights", is_rare) \
        if is_rare is not None else None
    alarm_luck = luck_where(runs, "unweighted", "spam_weights", ~is_rare) \
        if is_rare is not None else None
    lines = [
        f"{train[rare]:,} of the {sum(train):,} training messages are {name} "
        f"({train[rare] / sum(train):.0%}). A filter that lets every message through is "
        f"right about {percent(p['others'] / (p['others'] + p['real']))} of the test messages "
        "and catches nothing: accuracy alone says little when one class is rare.",
        f"Learning as is, the filter is right about {percent(acc(plain))} of the "
        f"{p['others'] + p['real']:,} test messages. It finds {p['found']} of the "
        f"{p['real']} {name} messages (recall {percent(p['recall'])}); of the "
        f"{p['flagged']} it flags, {p['found']} really are {name} (precision "
        f"{percent(p['precision'])}): {p['false_alarms']} {other} messages wrongly flagged.",
        (f"With class weights, a mistake on a {name} message counts "
         f"{max(weights) / min(weights):.1f}× as much as one on any other message while "
         "it learns. " if weights else "With class weights, mistakes on the rare class count "
                                    "more while it learns. ")
        + f"It finds {w['found']} of the {w['real']} (recall {percent(w['recall'])}, against "
          f"{percent(p['recall'])}){luck_said(found_luck, 'the two find it equally often')}, "
          f"and of the {w['flagged']} it flags {w['found']} really are (precision "
          f"{percent(w['precision'])}, against {percent(p['precision'])}): "
          f"{w['false_alarms']} of the {w['others']:,} {other} messages wrongly flagged "
          f"instead of {p['false_alarms']}"
          f"{luck_said(alarm_luck, 'the two let them through equally well')}.",
        f"All told it is right about {percent(acc(weighted))} of the messages, against "
        f"{percent(acc(plain))}{luck_said(luck_of(runs, 'unweighted', 'spam_weights'))}.",
        "Which number matters is a business choice, not a technical one: a missed spam "
        "message is a nuisance, a real message lost in the spam folder (a job offer, a "
        "doctor's reminder) can cost far more. Recall counts what the filter catches, "
        "precision how far its flags can be trusted; pushing one up usually pulls the "
        "other down.",
    ]
    more, fewer = w["found"] - p["found"], w["false_alarms"] - p["false_alarms"]
    if more > 0:
        headline = (f"Class weights caught {w['found']} of the {w['real']} {name} messages "
                    f"instead of {p['found']} (recall {percent(p['recall'])} → "
                    f"{percent(w['recall'])})"
                    f"{luck_said(found_luck, 'the two find it equally often')}, "
                    + (f"for {fewer} more {other} messages flagged by mistake."
                       if fewer > 0 else "with no more false alarms."))
    else:
        headline = (f"This time class weights did not catch more {name}: {w['found']} of "
                    f"{w['real']} found, against {p['found']} without them"
                    f"{luck_said(found_luck, 'the two find it equally often')}"
                    + (f"; and {fewer} more false alarms"
                       f"{luck_said(alarm_luck, 'no real difference there either')}."
                       if fewer > 0 else "."))
    rows, bars, order = [], [], []
    for role, counts in (("unweighted", p), ("spam_weights", w)):
        label = story.step(role).label
        order.append(label)
        rows.append({"run": label, "accuracy": percent(acc(runs[role])),
                     "spam found (recall)": percent(counts["recall"]),
                     "flags that were right (precision)": percent(counts["precision"]),
                     "missed": counts["missed"], "wrongly flagged": counts["false_alarms"]})
        bars += [{"run": label, "measure": "share of the rare class found (recall)",
                  "share": counts["recall"]},
                 {"run": label, "measure": "share of its flags that were right (precision)",
                  "share": counts["precision"]}]
    return Walkthrough(headline, lines, table(rows), _chart(bars, order))


STORY = register(Story(
    "spam", "When spam is rare",
    "My filter is 97 % accurate: does it catch the spam?",
    "A small network learns to tell spam text messages from real ones. Only about one "
    "message in eight is spam, so a filter can look accurate while missing much of it. It "
    "learns once as is and once with class weights, which make a missed spam message count "
    "more. Watch two numbers: how much of the spam it catches, and how many of the "
    "messages it flags really are spam.",
    # The unweighted run first: it is exactly the twin class weights compare with.
    (Step("unweighted", "Spam filter, no weights", MESSAGES),
     Step("spam_weights", "Spam filter, class weights",
          dict(MESSAGES, class_weights="balanced"))),
    explain, order=120))
