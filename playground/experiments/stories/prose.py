"""What several walkthroughs share: short phrases, the table and chart shapes, and the
readings of a run they quote (its accuracy, its shipped size, how often an attacker was
right). Public, so a story module imports only public names."""
from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from playground.common.formatting import percent
from playground.experiments.stories.base import Step, StoryRuns, Walkthrough
from playground.results import luck as luck_test
from playground.results.luck import Luck
from playground.results.narrative import gap
from playground.results.shipped import shipped
from playground.runs.store import Run
from playground.training.artifacts import load_predictions
from playground.training.audits import OFF_NOTE
from playground.training.audits.membership import dp_tpr_bound

# -- readings of a run ----------------------------------------------------------------------


def acc(run: Run) -> float:
    """The run's test accuracy (a share)."""
    return float(run.metrics["accuracy"])


def points(a: float, b: float) -> float:
    """Difference b - a in percentage points."""
    return (b - a) * 100


def memorised(es: list[dict]) -> float:
    """Training minus validation accuracy at the end, in points (how much it memorised)."""
    share = gap(es)
    return float("nan") if share is None else share * 100


def deployed(run: Run) -> tuple[float, float]:
    """(bytes, accuracy) of the model one would ship; a pruned one counts only the weights
    left, since zeros compress away."""
    s = shipped(run)
    return float(s.smallest_bytes), float(s.accuracy)


def attacker_right(privacy_attack: dict[str, Any]) -> float:
    """How often the membership attacker guessed right at its best threshold, on as many
    training records as others (so a coin toss is 0.5)."""
    return 0.5 + privacy_attack["advantage"] / 2


def most_right(epsilon: float, delta: float) -> float:
    """The most often any attacker can be right (same number of members and non-members)
    against an (ε, δ)-private training: the ε ceiling's farthest point from a coin toss."""
    grid = np.linspace(0.0, 1.0, 10_001)
    return float(0.5 + np.max(dp_tpr_bound(grid, epsilon, delta) - grid) / 2)


def lopsided_accuracy(metrics: dict[str, Any]) -> float:
    """The accuracy a run would show on a test set as lopsided as its training data: each
    class's recall weighted by its share of the training examples."""
    counts = np.asarray(metrics["train_class_counts"], dtype=float)
    return float(np.dot(counts, metrics["recall_by_class"]) / counts.sum())


# -- luck -----------------------------------------------------------------------------------


def luck_of(runs: dict[str, Run], a: str, b: str) -> Luck | None:
    """Role b's run against role a's on their test answers; None where it was not measured
    (runs made up without a store)."""
    return runs.luck(a, b) if isinstance(runs, StoryRuns) else None


def within_luck(luck: Luck | None) -> bool:
    """Measured, and chance alone gives a difference like it."""
    return luck is not None and luck.comparable and not luck.beyond


def luck_said(luck: Luck | None, same: str = "the two are equally accurate") -> str:
    """The verdict to follow an accuracy difference: ', beyond luck (95 % interval 11.0 to
    19.0 points)', ', within luck: the two are equally accurate' (`same` says what is equal
    where the difference is about some examples only), or '' (not measured)."""
    if luck is None or not luck.comparable:
        return ""
    if luck.beyond:
        low, high = sorted((abs(luck.low), abs(luck.high)))
        return f", beyond luck (95 % interval {low * 100:.1f} to {high * 100:.1f} points)"
    return f", within luck: {same}"


_ANSWERS: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}


def kept_answers(runs: dict[str, Run], role: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(true class, the run's answer) for each of role's test examples, in the test split's
    order, as kept when it finished; None where they cannot be read (runs made up without a
    store, or the file is gone). Read once per finished run: it never changes."""
    store = runs.store if isinstance(runs, StoryRuns) else None
    run = runs.get(role)
    if store is None or run is None or run.status != "finished":
        return None
    key = (str(store.home), run.id)
    if key not in _ANSWERS:
        try:
            kept = load_predictions(store, run.id)
        except (OSError, ValueError):
            return None
        _ANSWERS[key] = (kept["y_true"].astype(np.int64), kept["y_pred"].astype(np.int64))
        while len(_ANSWERS) > 256:  # a few stories' runs, many times over
            _ANSWERS.pop(next(iter(_ANSWERS)))
    return _ANSWERS[key]


def luck_where(runs: dict[str, Run], a: str, b: str, keep: np.ndarray) -> Luck | None:
    """Role b's run against role a's on the test examples where `keep` is true only (the
    same examples for both: McNemar's test and the paired interval); None where the answers
    were not kept, the two were not scored on the same examples, or `keep` is empty."""
    ours, theirs = kept_answers(runs, a), kept_answers(runs, b)
    keep = np.asarray(keep, bool)
    if (ours is None or theirs is None or not keep.any() or len(keep) != len(ours[0])
            or not np.array_equal(ours[0], theirs[0])):
        return None
    truth = ours[0][keep]
    return luck_test.paired(runs[a].id, runs[b].id, ours[1][keep] == truth,
                            theirs[1][keep] == truth)


# -- phrases ----------------------------------------------------------------------------------


def change(diff: float, up: str = "gained", down: str = "lost") -> str:
    """A difference in points as words: 'gained 2.0 points', 'changed nothing'."""
    if abs(diff) < 0.05:
        return "changed nothing"
    return f"{up if diff > 0 else down} {abs(diff):.1f} points"


def listing(names: list[str]) -> str:
    """'5', '5 and 6', '5, 6 and 7'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# -- tables and charts ------------------------------------------------------------------------


def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A walkthrough's table: one row per run, indexed by the run's label."""
    return pd.DataFrame(rows).set_index("run")


def bars(rows: list[dict[str, Any]], value: str, title: str, fmt: str = ".1%",
         note: str | None = None) -> alt.Chart:
    """Horizontal bars of one number per run, the value written at each bar's end."""
    df = pd.DataFrame(rows)
    order = list(df["run"])
    base = alt.Chart(df, title=title).encode(
        y=alt.Y("run:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
        x=alt.X(f"{value}:Q", title=title, axis=alt.Axis(format=fmt),
                scale=alt.Scale(zero=True)),
        tooltip=["run", alt.Tooltip(f"{value}:Q", format=fmt)]
        + ([note] if note else []),
    )
    drawn = base.mark_bar(color="#2f6fb0")
    text = base.mark_text(align="left", dx=4, fontSize=13).encode(
        text=alt.Text(f"{value}:Q", format=fmt))
    return (drawn + text).properties(height=40 * len(df) + 40)


def curves(epochs: dict[str, list[dict]], labels: dict[str, str], key: str,
           title: str) -> alt.Chart:
    """One line per run of an epoch value (e.g. validation loss), on a log scale."""
    rows = [{"run": labels[role], "epoch": e["epoch"], "value": e[key]}
            for role, es in epochs.items() for e in es if e.get(key) is not None]
    df = pd.DataFrame(rows, columns=["run", "epoch", "value"])
    # Log scale: the late, small differences matter, not the big drop of the first epochs.
    return alt.Chart(df).mark_line(point=True).encode(
        x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1)),
        y=alt.Y("value:Q", title=title, scale=alt.Scale(type="log", nice=False)),
        color=alt.Color("run:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(range=["#c0392b", "#1f5fa8"])),
        tooltip=["run", "epoch", alt.Tooltip("value:Q", format=".3f")],
    ).properties(height=240)


def accuracy_walkthrough(steps: tuple[Step, ...], runs: dict[str, Run], headline: str,
                         lines: list[str]) -> Walkthrough:
    """A walkthrough whose table and chart are each step's test accuracy."""
    rows = [{"run": s.label, "accuracy": acc(runs[s.role])} for s in steps]
    return Walkthrough(headline, lines, table([{**r, "accuracy": percent(r["accuracy"])}
                                               for r in rows]),
                       bars(rows, "accuracy", "test accuracy"))


def not_attacked(runs: dict[str, Run], key: str) -> Walkthrough | None:
    """The attack stories have nothing to tell about runs that were not attacked: a short
    walkthrough saying so when a run lacks `key` in its metrics, else None."""
    if all(key in run.metrics for run in runs.values()):
        return None
    rows = [{"run": role, "test accuracy": percent(acc(run))} for role, run in runs.items()]
    return Walkthrough("These runs were not attacked, so this story has nothing to show.",
                       [OFF_NOTE + " Start the app without that setting and run the story "
                        "again."], table(rows),
                       bars([{"run": role, "accuracy": acc(run)}
                             for role, run in runs.items()], "accuracy", "Test accuracy"))
