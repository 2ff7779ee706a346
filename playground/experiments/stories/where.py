"""Where does it fail? The same loans learnt by a network and by a straight line; each run's
error cohorts (playground.results.cohorts) say which applicants it gets wrong most often,
and the two runs' shared mistakes say whether the model or the data is to blame."""
from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, StoryRuns, Walkthrough, register
from playground.experiments.stories.prose import acc, table
from playground.results import cohorts as C
from playground.runs.store import Run
from playground.training.artifacts import load_predictions
from playground.training.audits import fairness as fairness_audit

LOANS = dict(dataset="loans", epochs=10)
ROLES = ("network", "line")


def _found(runs: dict[str, Run]) -> dict[str, C.ErrorCohorts] | None:
    """Each run's cohorts, kept with the run after the first time; None without a store
    (runs made up in a test)."""
    store = runs.store if isinstance(runs, StoryRuns) else None
    if store is None:
        return None
    try:
        return {role: C.cached(store, runs[role])[0] for role in ROLES}
    except ValueError:  # a run's test answers are gone
        return None


def _shared(runs: StoryRuns) -> float | None:
    """Of the network's mistakes, the share the straight line made too."""
    try:
        a, b = (load_predictions(runs.store, runs[r].id) for r in ROLES)
    except (OSError, ValueError, KeyError):
        return None
    wrong_a, wrong_b = a["y_pred"] != a["y_true"], b["y_pred"] != b["y_true"]
    return float((wrong_a & wrong_b).sum() / max(1, wrong_a.sum()))


def _by_group(run: Run) -> str:
    """"group A 14.0% wrong, group B 31.0% wrong" from the run's fairness audit."""
    f = fairness_audit.report(run.metrics) or {}
    by = f.get("by_group") or {}
    return ", ".join(f"{g} {percent(1 - v['accuracy'])} wrong" for g, v in by.items())


def _chart(rows: list[dict[str, Any]]) -> alt.Chart:
    """Grouped bars: the share wrong in each applicant group and overall, one bar per run
    (the tree's narrower groups have long descriptions: they are in the table)."""
    df = pd.DataFrame(rows)
    runs = list(dict.fromkeys(df["run"]))
    base = alt.Chart(df, title="share of test applicants each run gets wrong").encode(
        y=alt.Y("where:N", title=None, sort=list(dict.fromkeys(df["where"])),
                axis=alt.Axis(labelFontSize=13)),
        yOffset=alt.YOffset("run:N", sort=runs),
        x=alt.X("wrong:Q", title="share wrong", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 0.6])),
        color=alt.Color("run:N", sort=runs, title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(range=["#c0392b", "#1f5fa8"])),
        tooltip=["run", "where", alt.Tooltip("wrong:Q", format=".1%"), "examples"])
    text = base.mark_text(align="left", dx=4, fontSize=12).encode(
        text=alt.Text("wrong:Q", format=".0%"))
    return (base.mark_bar() + text).properties(height=60 * df["where"].nunique() + 40)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    found = _found(runs)
    lines = [
        "The applicants' labels are past decisions, and those refused part of group B's "
        "applicants who would have repaid, at random. No model can predict a coin toss, so "
        "wherever such applicants are, some mistakes are bound to gather.",
        "Each run's test applicants are split in two: a small decision tree learns, on one "
        "half, to tell the applicants the run got wrong from the rest, using their columns; "
        "each of its leaves is a group in words. The share wrong in each group is counted "
        "on the other half, which the tree never saw, so a group does not look worse just "
        "because the search picked it.",
    ]
    rows, bars = [], []
    for role in ROLES:
        run, label = runs[role], story.step(role).label
        groups = _by_group(run)
        row = {"run": label, "test accuracy": percent(acc(run))}
        if found is None:
            lines.append(f"{label}: {percent(acc(run))} right on the test applicants"
                         + (f" ({groups})." if groups else "."))
            rows.append(row)
            continue
        f = found[role]
        worst = f.worst
        lines.append(f"{label}: {percent(acc(run))} right. {f.verdict}")
        row |= {"wrong overall": percent(f.overall),
                "worst group": worst.words if worst else "none",
                "wrong there": percent(worst.rate) if worst else "",
                "applicants there": worst.size if worst else 0,
                "more than luck": ("yes" if worst.beyond_luck else "no") if worst else ""}
        rows.append(row)
        bars += [{"run": label, "where": "everyone", "wrong": f.overall,
                  "examples": f.n_test}]
        bars += [{"run": label, "where": c.words, "wrong": c.rate, "examples": c.size}
                 for c in sorted(f.groups, key=lambda c: c.words)]
    shared = _shared(runs) if found is not None else None
    if shared is not None:
        lines.append(f"Of the applicants the network got wrong, the straight line got "
                     f"{percent(shared)} wrong too: two very different models stumble over "
                     "largely the same people, so the mistakes live in the data (here, the "
                     "past refusals), not in one model's quirks. A bigger model will not fix "
                     "them; better labels would.")
    lines.append("Open a group from a run's card on the Runs page (Where it fails) to look "
                 "at its applicants one by one in Explain.")
    f = found["network"] if found is not None else None
    w = None if f is None else next(
        (c for c in [*f.cohorts, *f.groups] if c.beyond_luck), f.worst)
    if w is not None:
        headline = (f"The network is wrong most often for {w.words}: {percent(w.rate)} "
                    f"against {percent(f.overall)} overall"
                    + (", more than luck." if w.beyond_luck else
                       ", though not by more than luck on so few applicants."))
    else:
        headline = (f"The network gets {percent(acc(runs['network']))} of the test "
                    f"applicants right, the straight line {percent(acc(runs['line']))}.")
    chart = _chart(bars) if bars else alt.Chart(pd.DataFrame(
        {"run": [r["run"] for r in rows], "accuracy": [acc(runs[r]) for r in ROLES]})
    ).mark_bar().encode(y="run:N", x=alt.X("accuracy:Q", axis=alt.Axis(format=".0%")))
    return Walkthrough(headline, lines, table(rows), chart)


STORY = register(Story(
    "where", "Where does it fail?",
    "Which customers does my model get wrong, and is that the model's fault?",
    "A model that is right four times in five is not wrong at random: its mistakes gather "
    "in some groups of people. A network and a straight-line model (logistic regression) "
    "learn to approve loans from past decisions that refused part of group B's good "
    "applicants. For each, a small decision tree finds the groups of applicants it gets "
    "wrong most often, described by their columns, and checks each on applicants the "
    "search never saw. Do the two models fail in the same places?",
    (Step("network", "Neural network", dict(LOANS, model="mlp")),
     Step("line", "Straight line", dict(LOANS, model="logreg"))),
    explain, order=95))

