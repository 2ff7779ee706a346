"""Is it fair? A loan model trained on biased past decisions, then with per-group thresholds
for equal approval rates and for equal error rates."""
from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, Story, Walkthrough, register
from playground.experiments.stories.prose import (
    acc,
    luck_of,
    luck_said,
    points,
    table,
    within_luck,
)
from playground.runs.store import Run
from playground.training.audits import fairness as fairness_audit

# The generated loans, whose past decisions refused part of group B's deserving applicants.
LOANS = dict(dataset="loans", model="mlp", epochs=10)

ROLES = ("plain", "parity", "odds")


def _chart(rows: list[dict[str, Any]]) -> alt.Chart:
    """Grouped bars: each group's approval rate, one bar per run."""
    df = pd.DataFrame(rows)
    runs = list(dict.fromkeys(df["run"]))
    base = alt.Chart(df, title="share of each group approved (test applicants)").encode(
        y=alt.Y("group:N", title=None, axis=alt.Axis(labelFontSize=13)),
        yOffset=alt.YOffset("run:N", sort=runs),
        x=alt.X("approved:Q", title="approval rate", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", sort=runs, title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(range=["#c0392b", "#1f5fa8", "#2e8b57"])),
        tooltip=["run", "group", alt.Tooltip("approved:Q", format=".1%")],
    )
    text = base.mark_text(align="left", dx=4, fontSize=12).encode(
        text=alt.Text("approved:Q", format=".0%"))
    return (base.mark_bar() + text).properties(height=60 * df["group"].nunique() * 2 + 40)


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    f = {role: fairness_audit.report(runs[role].metrics) for role in ROLES}
    plain = f["plain"]
    by = plain["by_group"]
    low, high = sorted(by, key=lambda g: by[g]["selection_rate"])[::len(by) - 1]
    lines = [
        "The applicants' labels are past decisions that refused part of group B's "
        "deserving applicants (the Train page says how the data was made). A model learns "
        "whatever those decisions did, bias included.",
        f"Trained plainly, the model approves {percent(by[low]['selection_rate'])} of "
        f"{low} and {percent(by[high]['selection_rate'])} of {high}: a gap of "
        f"{points(by[low]['selection_rate'], by[high]['selection_rate']):.1f} points (the "
        "demographic-parity difference). Of the applicants the past decisions approved, it "
        f"approves {percent(by[low]['true_positive_rate'])} in {low} and "
        f"{percent(by[high]['true_positive_rate'])} in {high}.",
    ]
    for role, what in (("parity", "approved at the same rate"),
                       ("odds", "wrongly refused and wrongly approved at the same rates")):
        m = f[role]
        cost = points(acc(runs[role]), acc(runs["plain"]))
        lines.append(
            f"{story.step(role).label}: per-group thresholds, fitted on the validation "
            f"applicants so that each group is {what}. On the test applicants the "
            "approval-rate gap becomes "
            f"{m['demographic_parity_difference'] * 100:.1f} points and the error-rate gap "
            f"{(m['equalized_odds_difference'] or 0) * 100:.1f} points (from "
            f"{(plain['equalized_odds_difference'] or 0) * 100:.1f}); accuracy "
            f"{percent(acc(runs[role]))} against {percent(acc(runs['plain']))} "
            + (f"({cost:.1f} points lower" if cost >= 0.05 else
               f"({-cost:.1f} points higher" if cost <= -0.05 else "(the same")
            + f"{luck_said(luck_of(runs, 'plain', role))}).")
    lines.append("Accuracy here is agreement with the past decisions, which were biased: part "
                 "of what a fairer model \"loses\" is agreement with refusals that should not "
                 "have happened. A real lender would also check the law: thresholds per group "
                 "use each applicant's group when deciding, which some places forbid.")
    gap0 = plain["demographic_parity_difference"] * 100
    gap1 = f["parity"]["demographic_parity_difference"] * 100
    cost = points(acc(runs["parity"]), acc(runs["plain"]))
    luck = luck_of(runs, "plain", "parity")
    price = (f"and accuracy moved {abs(cost):.1f} points{luck_said(luck)}"
             if within_luck(luck) and abs(cost) >= 0.05 else
             f"for {cost:.1f} points of accuracy{luck_said(luck)}" if cost >= 0.05 else
             "and accuracy did not drop" if cost > -0.05 else
             f"and accuracy even rose {-cost:.1f} points{luck_said(luck)}")
    headline = (f"Equal approval rates took the gap between groups from {gap0:.1f} to "
                f"{gap1:.1f} points, {price}." if gap1 < gap0 else
                f"This time the thresholds did not narrow the approval gap ({gap0:.1f} → "
                f"{gap1:.1f} points).")
    bars, rows = [], []
    for role in ROLES:
        label, m = story.step(role).label, f[role]
        for group, v in m["by_group"].items():
            bars.append({"run": label, "group": group, "approved": v["selection_rate"]})
        rows.append({"run": label, "test accuracy": percent(acc(runs[role])),
                     **{f"approved, {g}": percent(v["selection_rate"])
                        for g, v in m["by_group"].items()},
                     "approval-rate gap": f"{m['demographic_parity_difference'] * 100:.1f} pts",
                     "error-rate gap": f"{(m['equalized_odds_difference'] or 0) * 100:.1f} pts"})
    return Walkthrough(headline, lines, table(rows), _chart(bars))


STORY = register(Story(
    "fair", "Is it fair?",
    "Does my model treat one group of people worse than another?",
    "A network learns to approve loans from past decisions. The applicants are "
    "generated: whether they would repay depends on income, debt, years employed and "
    "the amount, the same way for group A and group B, but the past decisions refused "
    "part of group B's good applicants anyway. Trained plainly, does the model repeat "
    "that? Two more copies get fairness post-processing: a decision threshold per group, "
    "set so the groups are approved at the same rate (demographic parity) or wrongly "
    "refused at the same rate (equalized odds). What does each fix cost, and what does "
    "it buy?",
    (Step("plain", "Trained plainly", LOANS),
     Step("parity", "Equal approval rates", dict(LOANS, fairness="demographic_parity")),
     Step("odds", "Equal error rates", dict(LOANS, fairness="equalized_odds"))),
    explain, order=90))
