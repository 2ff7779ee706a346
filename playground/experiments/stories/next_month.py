"""Will it still work next month? An image network trained as is and with augmentation, both
scored on their test digits turned, noisy, blurred, faded and moved (the shifted test sets
every run is scored on): what robustness costs in ordinary accuracy."""
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
)
from playground.results import shift_charts, shift_words
from playground.runs.store import Run
from playground.training import shift as S
from playground.training.audits import shift as shift_audit

NEXT = dict(dataset="digits", model="cnn", epochs=15)
STRENGTH = 1.0  # augmentation's turns reach ±15°, its shifts ±12 %: the strongest setting
TOLD = ("rotation", "noise")  # the two shifts the story is about; the others in the table


def _middle(run: Run, key: str) -> float | None:
    return (shift_audit.report(run.metrics) or {}).get(key, {}).get(str(S.MIDDLE))


def _unmeasured(runs: dict[str, Run]) -> Walkthrough:
    rows = [{"run": role, "test accuracy": percent(acc(run))} for role, run in runs.items()]
    return Walkthrough("These runs were not scored on shifted test sets, so this story has "
                       "nothing to show.", ["Train them again with this version of the "
                                            "playground."], table(rows),
                       bars([{"run": role, "accuracy": acc(run)} for role, run in runs.items()],
                            "accuracy", "Test accuracy"))


def explain(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    plain, aug = runs["plain"], runs["augmented"]
    if any(shift_audit.report(r.metrics) is None for r in (plain, aug)):
        return _unmeasured(runs)
    clean = points(acc(plain), acc(aug))
    clean_luck = luck_of(runs, "plain", "augmented")
    lines = [
        "Next month's pictures will not look exactly like this month's: a camera held at an "
        "angle, a dirtier lens, fainter ink. Both networks were scored on their own test "
        "digits and on copies changed a little, at three strengths.",
    ]
    gains = {}
    for key in TOLD:
        before, now = shift_words.cost(plain.metrics, key), shift_words.cost(aug.metrics, key)
        luck = shift_words.luck_under(plain, aug, key)
        gains[key] = (luck, points(_middle(plain, key), _middle(aug, key)))
        lines.append(
            f"{shift_words.phrase(plain, key).capitalize()} costs the plain network "
            f"{before * 100:.1f} points ({percent(acc(plain))} → "
            f"{percent(_middle(plain, key))}); the augmented one, {now * 100:.1f} points "
            f"({percent(acc(aug))} → {percent(_middle(aug, key))})"
            f"{shift_words.verdict(luck)}.")
    under = shift_audit.SHIFT_ACCURACY
    lines.append(
        f"Over all five changes at their middle strength (turned, noisy, blurred, faded, "
        f"moved) the plain network keeps {percent(under.value(plain.metrics))} right, the "
        f"augmented one {percent(under.value(aug.metrics))}.")
    lines.append(
        "The price: on the test digits as they are, augmentation "
        + (f"{'gained' if clean > 0 else 'lost'} {abs(clean):.1f} points"
           if abs(clean) >= 0.05 else "changed nothing")
        + f" ({percent(acc(plain))} → {percent(acc(aug))}){luck_said(clean_luck)}.")
    lines.append("Augmentation only teaches the changes it shows: turns and small moves it "
                 "trained on hold up best; a change it never saw (fading) may not.")
    rot_luck, rot_gain = gains["rotation"]
    turned = S.find("rotation").levels[S.MIDDLE - 1]
    if rot_luck is not None and rot_luck.beyond and rot_gain > 0:
        paid = clean <= -0.05 and (clean_luck is None or clean_luck.beyond)
        headline = (f"Augmentation kept {percent(_middle(aug, 'rotation'))} of digits turned "
                    f"by {turned} right instead of {percent(_middle(plain, 'rotation'))}, "
                    + (f"for {-clean:.1f} points of ordinary accuracy." if paid else
                       "at no cost in ordinary accuracy beyond luck."))
    else:
        headline = (f"This time augmentation did not hold up measurably better on digits "
                    f"turned by {turned}: {percent(_middle(aug, 'rotation'))} right against "
                    f"{percent(_middle(plain, 'rotation'))}.")
    rows, drawn = [], []
    for role in ("plain", "augmented"):
        run, label = runs[role], story.step(role).label
        drawn += shift_charts.rows(run.metrics, label, TOLD)
        rows.append({"run": label, "test accuracy": percent(acc(run)),
                     **{S.find(k).label.lower() + " (" + S.find(k).levels[S.MIDDLE - 1] + ")":
                        percent(v[str(S.MIDDLE)])
                        for k, v in shift_audit.report(run.metrics).items() if S.find(k)},
                     under.label.lower(): percent(under.value(run.metrics))})
    return Walkthrough(headline, lines, table(rows), shift_charts.severity_chart(drawn))


STORY = register(Story(
    "next_month", "Will it still work next month?",
    "My model works today. Will it still work when the pictures change a little?",
    "An image network learns to read digits twice: as they are, and with augmentation, "
    "which shows it slightly turned, shifted and noisy copies at every step. Both are then "
    "tested on their test digits turned, speckled, blurred, faded and moved, at three "
    "strengths each. Does robustness cost ordinary accuracy?",
    (Step("plain", "Trained as is", NEXT),
     Step("augmented", "Trained with augmentation", dict(NEXT, augment=STRENGTH))),
    explain, order=75))
