"""Privacy costs accuracy: the same network without privacy noise, then with some and with
strong DP-SGD noise."""
from __future__ import annotations

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    bars,
    luck_of,
    luck_said,
    points,
    table,
    within_luck,
)
from playground.runs.store import Run
from playground.training.techniques.dp import EPSILON, epsilon_meaning

PRIVACY_BASE = dict(dataset="digits", model="mlp", epochs=10, lr=0.01)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    base = runs["none"]
    rows = [{"run": story.step("none").label, "accuracy": acc(base), "ε (privacy budget)": "∞"}]
    lines = [f"Without privacy noise the model read {percent(acc(base))} of the test digits "
             "correctly. Its training data has no protection: in principle, the model can "
             "give away whether one person's example was used."]
    costs = []
    for role in ("some", "strong"):
        run, step = runs[role], story.step(role)
        m = run.metrics
        eps = EPSILON.value(m)
        cost = points(acc(run), acc(base))
        costs.append(cost)
        rows.append({"run": step.label, "accuracy": acc(run),
                     "ε (privacy budget)": f"{eps:.1f}"})
        lines.append(
            f"{step.label} (noise multiplier {m['noise_multiplier']:g}): accuracy "
            f"{percent(acc(run))}, " + (f"{cost:.1f} points below no noise" if cost >= 0.05 else
                                        f"{-cost:.1f} points above no noise" if cost <= -0.05
                                        else "the same as no noise")
            + luck_said(luck_of(runs, "none", role))
            + f", for a privacy budget of ε = {eps:.1f}: {epsilon_meaning(eps)}.")
    strong = EPSILON.value(runs["strong"].metrics)
    luck = luck_of(runs, "none", "strong")
    if within_luck(luck):
        headline = (f"Even at ε = {strong:.1f}, privacy noise cost no accuracy beyond luck: "
                    f"{abs(costs[1]):.1f} points{luck_said(luck)}.")
    elif costs[1] > costs[0] and costs[1] > 0:
        headline = (f"Privacy noise cost {costs[1]:.1f} points of accuracy at ε = {strong:.1f}"
                    f"{luck_said(luck)}: the stronger the guarantee, the higher the price.")
    elif max(costs) > 0:
        worst = luck_of(runs, "none", "some" if costs[0] >= costs[1] else "strong")
        headline = (f"Privacy noise cost up to {max(costs):.1f} points of accuracy here"
                    f"{luck_said(worst)}, though more noise did not cost more this time.")
    else:
        headline = "This time privacy noise cost no accuracy at all."
    lines.append("Smaller ε means stronger privacy. ε is counted by Opacus' accountant while "
                 "training, so the guarantee is real, not an estimate from the result. The "
                 "usual ways to pay less for it: more data, more epochs, or a simpler model.")
    chart = bars([{"run": f"{r['run']} (ε {r['ε (privacy budget)']})", "accuracy":
                   r["accuracy"]} for r in rows], "accuracy", "test accuracy")
    shown = table([{**r, "accuracy": percent(r["accuracy"])} for r in rows])
    return Walkthrough(headline, lines, shown, chart)


STORY = register(Story(
    "privacy", "Privacy costs accuracy",
    "What does protecting people's data cost me in accuracy?",
    "Three copies of the same small network learn to read handwritten digits: one "
    "normally, two with DP-SGD, which clips each example's influence and adds noise so "
    "that no single person's data can be told from the model. More noise buys a smaller "
    "privacy budget ε (stronger privacy). What does it cost?",
    (Step("none", "No privacy noise", PRIVACY_BASE),
     Step("some", "Some noise", dict(PRIVACY_BASE, dp_noise=0.6)),
     Step("strong", "Strong noise", dict(PRIVACY_BASE, dp_noise=1.5))),
    explain, order=10))
