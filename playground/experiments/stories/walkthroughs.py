"""Each story's walkthrough, written from its own runs' results."""
from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from playground.common.formatting import human_bytes, percent
from playground.experiments.stories.base import Story, Walkthrough
from playground.results.narrative import gap
from playground.results.shipped import shipped
from playground.runs.store import Run

# -- small helpers for sentences ----------------------------------------------------------


def points(a: float, b: float) -> float:
    """Difference b - a in percentage points."""
    return (b - a) * 100


def _change(diff: float, up: str = "gained", down: str = "lost") -> str:
    if abs(diff) < 0.05:
        return "changed nothing"
    return f"{up if diff > 0 else down} {abs(diff):.1f} points"


def _acc(run: Run) -> float:
    return float(run.metrics["accuracy"])


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows).set_index("run")


def _bars(rows: list[dict[str, Any]], value: str, title: str, fmt: str = ".1%",
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
    bars = base.mark_bar(color="#2f6fb0")
    text = base.mark_text(align="left", dx=4, fontSize=13).encode(
        text=alt.Text(f"{value}:Q", format=fmt))
    return (bars + text).properties(height=40 * len(df) + 40)


def _curves(epochs: dict[str, list[dict]], labels: dict[str, str], key: str,
            title: str) -> alt.Chart:
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


def _privacy(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    base = runs["none"]
    rows = [{"run": story.step("none").label, "accuracy": _acc(base), "ε (privacy budget)": "∞"}]
    lines = [f"Without privacy noise the model read {percent(_acc(base))} of the test digits "
             "correctly. Its training data has no protection: in principle, the model can "
             "give away whether one person's example was used."]
    costs = []
    for role in ("some", "strong"):
        run, step = runs[role], story.step(role)
        m = run.metrics
        cost = points(_acc(run), _acc(base))
        costs.append(cost)
        rows.append({"run": step.label, "accuracy": _acc(run),
                     "ε (privacy budget)": f"{m['epsilon']:.1f}"})
        lines.append(
            f"{step.label} (noise multiplier {m['noise_multiplier']:g}): accuracy "
            f"{percent(_acc(run))}, " + (f"{cost:.1f} points below no noise" if cost >= 0.05 else
                                     f"{-cost:.1f} points above no noise" if cost <= -0.05
                                     else "the same as no noise")
            + f", for a privacy budget of ε = {m['epsilon']:.1f}: {m['epsilon_meaning']}.")
    strong = runs["strong"].metrics["epsilon"]
    if costs[1] > costs[0] and costs[1] > 0:
        headline = (f"Privacy cost {costs[1]:.1f} points of accuracy at ε = {strong:.1f}: "
                    "the stronger the guarantee, the higher the price.")
    elif max(costs) > 0:
        headline = (f"Privacy cost up to {max(costs):.1f} points of accuracy here, though "
                    "more noise did not cost more this time.")
    else:
        headline = "This time privacy noise cost no accuracy at all."
    lines.append("Smaller ε means stronger privacy. ε is counted by Opacus' accountant while "
                 "training, so the guarantee is real, not an estimate from the result. The "
                 "usual ways to pay less for it: more data, more epochs, or a simpler model.")
    chart = _bars([{"run": f"{r['run']} (ε {r['ε (privacy budget)']})", "accuracy":
                    r["accuracy"]} for r in rows], "accuracy", "test accuracy")
    table = _table([{**r, "accuracy": percent(r["accuracy"])} for r in rows])
    return Walkthrough(headline, lines, table, chart)


def deployed(run: Run) -> tuple[float, float]:
    """(bytes, accuracy) of the model one would ship; a pruned one counts only the weights
    left, since zeros compress away."""
    s = shipped(run)
    return float(s.smallest_bytes), float(s.accuracy)


def _shrink(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    big_size, big_acc = deployed(runs["original"])
    rows, lines = [], []
    for step in story.steps:
        size, acc = deployed(runs[step.role])
        rows.append({"run": step.label, "size": size, "accuracy": acc,
                     "share of original size": size / big_size})
    lines.append(f"The original network stores {human_bytes(big_size, 'KB')} of weights and reads "
                 f"{percent(big_acc)} of the test digits correctly.")
    q = runs["int8"].metrics["quantized"]
    if "size_bytes" in q:
        lines.append(
            f"Quantization to 8-bit integers: {human_bytes(q['size_bytes'], 'KB')} "
            f"({q['size_bytes'] / big_size:.0%} of the size), accuracy {percent(q['accuracy'])} "
            f"({_change(points(big_acc, q['accuracy']))}); "
            f"{q['changed_predictions']} of {runs['int8'].metrics['test_examples']} answers "
            "changed. Each weight is stored in 1 byte instead of 4.")
    else:
        lines.append(f"Quantization was skipped on this machine: {q.get('skipped')}.")
    m = runs["pruned"].metrics
    size, acc = deployed(runs["pruned"])
    lines.append(
        f"Pruning set {m['sparsity']:.0%} of the weights to exactly zero, and the model "
        f"still reads {percent(acc)} ({_change(points(big_acc, acc))}). Stored in a compressed "
        f"format only the remaining {human_bytes(size, 'KB')} would need space; the file here "
        "keeps the zeros, so the saving needs a sparse format or a compressor to show up on disk.")
    student, alone = runs["student"].metrics, runs["alone"]
    s_size, s_acc = deployed(runs["student"])
    lines.append(
        "A student network with 16 instead of 128 neurons per layer is "
        f"{human_bytes(s_size, 'KB')} "
        f"({s_size / big_size:.0%} of the size). Learning from the original as its teacher "
        f"it reads {percent(s_acc)}; the same small network trained alone reads "
        f"{percent(_acc(alone))}, so the teacher "
        f"{_change(points(_acc(alone), s_acc), 'added', 'cost')}"
        f". The student agrees with its teacher on {student['teacher_agreement']:.0%} of "
        "the test digits.")
    best = min((r for r in rows if r["accuracy"] >= big_acc - 0.01 and r["run"] !=
                story.step("original").label), key=lambda r: r["size"], default=None)
    headline = (f"{best['run']} kept accuracy within a point of the original at "
                f"{best['share of original size']:.0%} of its size." if best else
                "Every way of shrinking cost more than a point of accuracy this time.")
    lines.append("On a phone, size is download and memory, and 8-bit arithmetic is also "
                 "faster; the price, if any, is a few answers that change.")
    chart = _bars([{"run": r["run"], "kilobytes": r["size"] / 1024,
                    "accuracy": percent(r["accuracy"])} for r in rows], "kilobytes",
                  "size to ship (KB)", fmt=",.1f", note="accuracy")
    table = _table([{"run": r["run"], "size": human_bytes(r["size"], "KB"),
                     "accuracy": percent(r["accuracy"]),
                     "share of original size": f"{r['share of original size']:.0%}"}
                    for r in rows])
    return Walkthrough(headline, lines, table, chart)


def _teacher(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    t, alone, student = runs["teacher"], runs["alone"], runs["student"]
    tm, sm = t.metrics, student.metrics
    gain = points(_acc(alone), _acc(student))
    ratio = tm["params"] / max(1, sm["params"])
    lines = [
        f"The teacher, an image network with {tm['params']:,} learned numbers, reads "
        f"{percent(_acc(t))} of the test digits correctly.",
        f"The student is a small network with {sm['params']:,} learned numbers, "
        f"{ratio:.0f}× fewer. Trained alone on the labels it reads {percent(_acc(alone))}.",
        f"Trained on the labels plus the teacher's softened answers (which wrong digits "
        f"look plausible, e.g. a 7 that resembles a 1) it reads {percent(_acc(student))} and "
        f"agrees with the teacher on {sm['teacher_agreement']:.0%} of the test digits.",
    ]
    if gain >= 0.05:
        headline = f"The teacher made the student {gain:.1f} points more accurate."
    elif gain <= -0.05:
        headline = (f"This time the teacher cost the student {-gain:.1f} points: "
                    "distillation does not always pay.")
        lines.append("Distillation helps most when the student is not too small to copy "
                     "the teacher and trains long enough to follow its softened answers; on "
                     "easy data the labels already say nearly everything.")
    else:
        headline = "The teacher made no difference to the student this time."
    gap = points(_acc(student), _acc(t))
    lines.append(f"Either way the student is {ratio:.0f}× smaller than the teacher and "
                 f"{gap:.1f} points behind it: that is the trade a phone app makes.")
    rows = [{"run": story.step(r).label, "accuracy": _acc(runs[r]),
             "parameters": runs[r].metrics["params"]} for r in ("teacher", "alone", "student")]
    chart = _bars(rows, "accuracy", "test accuracy", note="parameters")
    table = _table([{**r, "accuracy": percent(r["accuracy"]), "parameters": f"{r['parameters']:,}"}
                    for r in rows])
    return Walkthrough(headline, lines, table, chart)


def _gap(es: list[dict]) -> float:
    """Training minus validation accuracy at the end, in points (how much it memorised)."""
    share = gap(es)
    return float("nan") if share is None else share * 100


def _augment(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    scarce, aug, full = runs["scarce"], runs["augmented"], runs["full"]
    gain = points(_acc(scarce), _acc(aug))
    lost = points(_acc(scarce), _acc(full))
    n_scarce = story.step("scarce").values["train_fraction"]
    lines = [
        f"With only {n_scarce:.0%} of the training pictures the network reads "
        f"{percent(_acc(scarce))} of the test digits; with all of them, {percent(_acc(full))}. "
        f"Scarce data cost {lost:.1f} points.",
        f"With augmentation (every step shows slightly turned, shifted and noisy copies of "
        f"the same few pictures) it reads {percent(_acc(aug))}: augmentation "
        f"{_change(gain)}" + (f", {gain / lost:.0%} of what the missing data cost."
                              if gain > 0 and lost > 0 else "."),
        f"On the training pictures the plain model ends {_gap(epochs['scarce']):.1f} points "
        f"above its validation score (it memorises); with augmentation the gap is "
        f"{_gap(epochs['augmented']):.1f} points.",
    ]
    headline = (f"Augmentation won back {gain:.1f} points when data was scarce."
                if gain >= 0.05 else
                "Augmentation did not help this time: with so few pictures, results vary "
                "from seed to seed.")
    rows = [{"run": s.label, "accuracy": _acc(runs[s.role])} for s in story.steps]
    return Walkthrough(headline, lines, _table([{**r, "accuracy": percent(r["accuracy"])}
                                                for r in rows]),
                       _bars(rows, "accuracy", "test accuracy"))


def _overfit(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    lines, rows = [], []
    best = {}
    for step in story.steps:
        es = epochs[step.role]
        losses = [e["val_loss"] for e in es]
        k = losses.index(min(losses))
        best[step.role] = (k + 1, losses[k], losses[-1])
        rows.append({"run": step.label, "test accuracy": percent(_acc(runs[step.role])),
                     "training accuracy": percent(es[-1]["train_accuracy"]),
                     "validation accuracy": percent(es[-1]["val_accuracy"]),
                     "best validation loss": f"{losses[k]:.3f} (epoch {k + 1})",
                     "final validation loss": f"{losses[-1]:.3f}"})
    e0, l0, f0 = best["plain"]
    e1, l1, f1 = best["dropout"]
    n = story.step("plain").values["epochs"]
    lines.append(
        f"Without dropout the big network gets {percent(epochs['plain'][-1]['train_accuracy'])} "
        f"of its training pictures right, {_gap(epochs['plain']):.1f} points more than "
        f"on the validation pictures it never trains on.")
    if f0 > l0 * 1.05:
        lines.append(f"Its validation loss is lowest at epoch {e0} ({l0:.3f}) and then climbs "
                     f"to {f0:.3f} by epoch {n}: from there on it memorises the training "
                     "pictures instead of learning digits. That is overfitting.")
    else:
        lines.append(f"Its validation loss stays near its best ({l0:.3f} at epoch {e0}), so "
                     "it barely overfitted this time.")
    lines.append(
        f"With dropout (half the neurons switched off at random each step) the gap is "
        f"{_gap(epochs['dropout']):.1f} points and the validation loss is lowest at epoch "
        f"{e1} ({l1:.3f}), ending at {f1:.3f}.")
    headline = ("Dropout kept the network learning longer: its validation loss ends "
                f"{f0 - f1:.3f} lower." if f1 < f0 else
                "Dropout did not lower the validation loss this time.")
    lines.append(f"Test accuracy: {percent(_acc(runs['plain']))} without dropout, "
                 f"{percent(_acc(runs['dropout']))} with it. Falling validation loss means the "
                 "model is also more honest about how sure it is.")
    labels = {s.role: s.label for s in story.steps}
    chart = _curves(epochs, labels, "val_loss", "validation loss (lower is better)")
    return Walkthrough(headline, lines, _table(rows), chart)
