"""Does privacy stop an attacker? A network that memorised its training pictures, and the
same with privacy noise at ε = 1, both under a real membership attack."""
from __future__ import annotations

import altair as alt
import pandas as pd

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    attacker_right,
    luck_of,
    luck_said,
    memorised,
    most_right,
    not_attacked,
    points,
    table,
    within_luck,
)
from playground.results.tradeoff_charts import privacy_attack_chart
from playground.runs.store import Run
from playground.training.techniques.dp import DELTA, EPSILON

# Big enough to memorise a fifth of the digits, so an attacker has something to find (the
# learning rate stays the CLI's default).
EXPOSED = dict(dataset="digits", model="mlp", width=256, depth=3, epochs=60,
               train_fraction=0.2)


def _price(cost: float, luck=None) -> str:
    """Accuracy points lost (positive) or won, as the end of a sentence, with whether the
    difference is bigger than luck when it was measured."""
    if within_luck(luck) and abs(cost) >= 0.05:
        return f"no accuracy beyond luck (a {abs(cost):.1f}-point gap{luck_said(luck)})"
    if cost >= 0.05:
        return f"{cost:.1f} points of accuracy{luck_said(luck)}"
    if cost <= -0.05:
        return f"no accuracy (it even read {-cost:.1f} points more{luck_said(luck)})"
    return "no accuracy"


def _two_attacks(exposed: tuple[str, list], private: tuple[str, list], epsilon: float,
                 delta: float) -> alt.Chart:
    """ε's ceiling with the attack on the private run (privacy_attack_chart), and the same
    attack on the run without noise drawn beside it."""
    chart = privacy_attack_chart(private[1], epsilon, delta).copy()
    df = chart.data.copy()
    df.loc[df["line"] == "this attack", "line"] = private[0]
    df = pd.concat([df, pd.DataFrame([{"fpr": f, "tpr": t, "line": exposed[0]}
                                      for f, t in exposed[1]])], ignore_index=True)
    ceiling = [x for x in df["line"].unique() if x not in (exposed[0], private[0], "coin toss")]
    chart.data = df
    return chart.encode(
        # The legend beside the plot: below it, a chart of fixed height squeezes the plot.
        color=alt.Color("line:N", title=None, legend=alt.Legend(orient="right", labelLimit=400),
                        scale=alt.Scale(domain=[exposed[0], private[0], *ceiling, "coin toss"],
                                        range=["#c0392b", "#1f5fa8", "#e08a1e", "#9a9a9a"])),
        strokeDash=alt.condition(alt.FieldOneOfPredicate("line", [exposed[0], private[0]]),
                                 alt.value([1, 0]), alt.value([5, 4])),
    ).properties(height=320)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    if (off := not_attacked(runs, "privacy_attack")) is not None:
        return off
    plain, private = runs["exposed"], runs["private"]
    pa0, pa1 = plain.metrics["privacy_attack"], private.metrics["privacy_attack"]
    right0, right1 = attacker_right(pa0), attacker_right(pa1)
    # The ε and δ the private run was trained to, and whether this attack stayed under the
    # ceiling they set (None: the audit did not check).
    eps, delta = EPSILON.value(private.metrics), DELTA.value(private.metrics)
    holds = (pa1.get("dp_bound") or {}).get("holds")
    cost = points(acc(private), acc(plain))
    luck = luck_of(runs, "exposed", "private")
    step0 = story.step("exposed")
    lines = [
        "The attacker holds the finished model and a picture, and guesses whether that "
        "picture was in the training data from how the model answers it: models tend to be "
        f"surest about what they trained on. It was tried on {pa0['records']} pictures, half "
        f"of them from the training data and half never seen. The attack: {pa0['attack']}.",
    ]
    remembers = ""
    if epochs.get("exposed"):
        last = epochs["exposed"][-1]
        remembers = (f" It gets {percent(last['train_accuracy'])} of its own training "
                     f"pictures right, {memorised(epochs['exposed']):.1f} points more than "
                     "pictures it never trains on: it remembers them.")
    lines.append(
        f"Without privacy noise the network reads {percent(acc(plain))} of the test digits "
        f"after {step0.values['epochs']} epochs on {step0.values['train_fraction']:.0%} of the "
        f"training pictures.{remembers} The attacker was right {percent(right0)} of the time; "
        f"a coin toss is 50%. (Its AUC, the usual score for such attacks, is "
        f"{pa0['auc']:.2f}; a coin toss scores 0.50.)")
    lines.append(
        f"With privacy noise (DP-SGD at ε = {eps:.1f}) the attacker was right "
        f"{percent(right1)} of the time (AUC {pa1['auc']:.2f}). The network reads "
        f"{percent(acc(private))} of the test digits: privacy cost {_price(cost, luck)}.")
    promise = (f"ε = {eps:.1f} is a promise about every possible attack, not only this one: "
               f"with δ = {delta:.2g}, no attacker can be right more than "
               f"{percent(most_right(eps, delta))} of the time on records like these.")
    if holds is True:
        promise += (" The chart draws that ceiling and the attack on the private run: it "
                    "stayed below everywhere. The gap between them is how cautious the "
                    "promise is; it also covers attacks nobody has invented yet. The run "
                    "without noise has no ceiling at all.")
    elif holds is False:
        promise += (" This attack went over the ceiling, which should not happen: please "
                    "report it.")
    lines.append(promise)
    lines.append(
        "Being right a little more often than a coin toss sounds harmless, but an attacker "
        "needs only a few sure hits: allowing 1 false alarm in 100, this attack picked out "
        f"{percent(pa0['tpr_at_1pct_fpr'])} of the training pictures without noise and "
        f"{percent(pa1['tpr_at_1pct_fpr'])} with it.")
    drop = points(right1, right0)
    if drop >= 0.5:
        headline = (f"Privacy noise cut the attacker from {percent(right0)} right to "
                    f"{percent(right1)} (a coin toss is 50%), and cost {_price(cost, luck)}.")
    else:
        headline = (f"This time privacy noise did not make the attacker guess worse "
                    f"({percent(right0)} right without it, {percent(right1)} with it); it "
                    f"cost {_price(cost, luck)}.")
    rows = []
    for role, pa, eps_text in (("exposed", pa0, "∞ (no promise)"), ("private", pa1,
                                                                    f"{eps:.1f}")):
        rows.append({"run": story.step(role).label,
                     "test accuracy": percent(acc(runs[role])),
                     "attacker right": percent(attacker_right(pa)),
                     "attack AUC": f"{pa['auc']:.2f}",
                     "found at 1% false alarms": percent(pa["tpr_at_1pct_fpr"]),
                     "ε (privacy budget)": eps_text})
    chart = _two_attacks((f"attack on the run without noise ({percent(right0)} right)",
                          pa0["roc"]),
                         (f"attack on the private run ({percent(right1)} right)", pa1["roc"]),
                         eps, delta)
    return Walkthrough(headline, lines, table(rows), chart)


STORY = register(Story(
    "attacker", "Does privacy stop an attacker?",
    "Could someone tell from my model that a customer's data was used to train it?",
    "An attacker who gets hold of a model wants to know whether one person's record "
    "was in its training data (a patient in a hospital's model, a customer in a bank's). "
    "A big network trains for 60 epochs on a fifth of the digits, long enough to "
    "memorise them; a second copy trains the same way with privacy noise (DP-SGD) at a "
    "privacy budget of ε = 1. Then a real attack tries to tell the pictures each one "
    "trained on from pictures it never saw. Does ε's promise hold, and what does it cost?",
    (Step("exposed", "No privacy noise", EXPOSED),
     Step("private", "Privacy noise, ε = 1", dict(EXPOSED, dp_epsilon=1.0))),
    explain, order=60))
