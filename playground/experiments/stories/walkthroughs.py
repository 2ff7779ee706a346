"""Each story's walkthrough, written from its own runs' results."""
from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from playground.common.formatting import human_bytes, percent
from playground.experiments.stories.base import Story, Walkthrough
from playground.results.narrative import gap
from playground.results.shipped import shipped
from playground.results.tradeoff_charts import privacy_attack_chart
from playground.runs.store import Run
from playground.training.audits import OFF_NOTE
from playground.training.audits.membership import dp_tpr_bound

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


def _reuse(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    source, scratch, transfer, frozen = (runs[r] for r in ("source", "scratch", "transfer",
                                                              "frozen"))
    share = story.step("scratch").values["train_fraction"]
    gain = points(_acc(scratch), _acc(transfer))
    frozen_gain = points(_acc(scratch), _acc(frozen))
    ft = frozen.metrics["transfer"]
    lines = [
        f"Learning the digits 0 to 4 from all their examples, the first network reads "
        f"{percent(_acc(source))} of their test pictures.",
        f"From scratch, with only {share:.0%} of the examples of 5 to 9, a new network "
        f"reads {percent(_acc(scratch))} of theirs.",
        f"Starting from the first network's weights (a fresh last layer for the new digits) "
        f"it reads {percent(_acc(transfer))}: the head start {_change(gain)}.",
        f"With every layer but the last frozen, only {ft['trainable_params']:,} of "
        f"{frozen.metrics['params']:,} learned numbers train, and it reads "
        f"{percent(_acc(frozen))} ({_change(frozen_gain)} against scratch).",
    ]
    if gain >= 0.05:
        headline = (f"The head start made the network {gain:.1f} points more accurate on new "
                    f"digits learned from {share:.0%} of the data.")
    elif gain <= -0.05:
        headline = (f"This time the head start cost {-gain:.1f} points: what the network "
                    "learned about 0 to 4 did not carry over to 5 to 9.")
        lines.append("Transfer pays when the first task taught patterns the new one needs. "
                     "On these tiny 8×8 pictures a network that only ever had to tell 0 to 4 "
                     "apart keeps patterns made for those digits, and the few examples of 5 "
                     "to 9 are not enough to unlearn them; fresh random weights are a better "
                     "start. This is called negative transfer; the usual remedy is a first "
                     "model trained on many more kinds of pictures.")
    else:
        headline = "The head start made no difference this time."
    t0 = source.metrics.get("train_seconds")
    t1, t2 = transfer.metrics.get("train_seconds"), scratch.metrics.get("train_seconds")
    if None not in (t0, t1, t2):
        lines.append(f"The price of the head start: the first network trained for "
                     f"{t0:.1f} s; the new one then took {t1:.1f} s, against {t2:.1f} s from "
                     "scratch.")
    rows = [{"run": s.label, "accuracy": _acc(runs[s.role])} for s in story.steps]
    return Walkthrough(headline, lines, _table([{**r, "accuracy": percent(r["accuracy"])}
                                                for r in rows]),
                       _bars(rows, "accuracy", "test accuracy"))


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


# -- the two attacks ------------------------------------------------------------------------


def attacker_right(privacy_attack: dict[str, Any]) -> float:
    """How often the membership attacker guessed right at its best threshold, on as many
    training records as others (so a coin toss is 0.5)."""
    return 0.5 + privacy_attack["advantage"] / 2


def most_right(epsilon: float, delta: float) -> float:
    """The most often any attacker can be right (same number of members and non-members)
    against an (ε, δ)-private training: the ε ceiling's farthest point from a coin toss."""
    grid = np.linspace(0.0, 1.0, 10_001)
    return float(0.5 + np.max(dp_tpr_bound(grid, epsilon, delta) - grid) / 2)


def _price(cost: float) -> str:
    """Accuracy points lost (positive) or won, as the end of a sentence."""
    if cost >= 0.05:
        return f"{cost:.1f} points of accuracy"
    if cost <= -0.05:
        return f"no accuracy (it even read {-cost:.1f} points more)"
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


def _not_attacked(runs: dict[str, Run], key: str) -> Walkthrough | None:
    """The attack stories have nothing to tell about runs that were not attacked."""
    if all(key in run.metrics for run in runs.values()):
        return None
    rows = [{"run": role, "test accuracy": percent(_acc(run))} for role, run in runs.items()]
    return Walkthrough("These runs were not attacked, so this story has nothing to show.",
                       [OFF_NOTE + " Start the app without that setting and run the story "
                        "again."], _table(rows),
                       _bars([{"run": role, "accuracy": _acc(run)}
                              for role, run in runs.items()], "accuracy", "Test accuracy"))


def _attacker(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    if (off := _not_attacked(runs, "privacy_attack")) is not None:
        return off
    plain, private = runs["exposed"], runs["private"]
    pa0, pa1 = plain.metrics["privacy_attack"], private.metrics["privacy_attack"]
    right0, right1 = attacker_right(pa0), attacker_right(pa1)
    m = private.metrics
    bound = pa1.get("dp_bound") or {"epsilon": m["epsilon"], "delta": m["delta"], "holds": None}
    eps, delta = bound["epsilon"], bound["delta"]
    cost = points(_acc(private), _acc(plain))
    step0 = story.step("exposed")
    lines = [
        "The attacker holds the finished model and a picture, and guesses whether that "
        "picture was in the training data from how the model answers it: models tend to be "
        f"surest about what they trained on. It was tried on {pa0['records']} pictures, half "
        f"of them from the training data and half never seen. The attack: {pa0['attack']}.",
    ]
    memorised = ""
    if epochs.get("exposed"):
        last = epochs["exposed"][-1]
        memorised = (f" It gets {percent(last['train_accuracy'])} of its own training "
                     f"pictures right, {_gap(epochs['exposed']):.1f} points more than pictures "
                     "it never trains on: it remembers them.")
    lines.append(
        f"Without privacy noise the network reads {percent(_acc(plain))} of the test digits "
        f"after {step0.values['epochs']} epochs on {step0.values['train_fraction']:.0%} of the "
        f"training pictures.{memorised} The attacker was right {percent(right0)} of the time; "
        f"a coin toss is 50%. (Its AUC, the usual score for such attacks, is "
        f"{pa0['auc']:.2f}; a coin toss scores 0.50.)")
    lines.append(
        f"With privacy noise (DP-SGD at ε = {eps:.1f}) the attacker was right "
        f"{percent(right1)} of the time (AUC {pa1['auc']:.2f}). The network reads "
        f"{percent(_acc(private))} of the test digits: privacy cost {_price(cost)}.")
    promise = (f"ε = {eps:.1f} is a promise about every possible attack, not only this one: "
               f"with δ = {delta:.2g}, no attacker can be right more than "
               f"{percent(most_right(eps, delta))} of the time on records like these.")
    if bound["holds"] is True:
        promise += (" The chart draws that ceiling and the attack on the private run: it "
                    "stayed below everywhere. The gap between them is how cautious the "
                    "promise is; it also covers attacks nobody has invented yet. The run "
                    "without noise has no ceiling at all.")
    elif bound["holds"] is False:
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
                    f"{percent(right1)} (a coin toss is 50%), and cost {_price(cost)}.")
    else:
        headline = (f"This time privacy noise did not make the attacker guess worse "
                    f"({percent(right0)} right without it, {percent(right1)} with it); it "
                    f"cost {_price(cost)}.")
    rows = []
    for role, pa, eps_text in (("exposed", pa0, "∞ (no promise)"), ("private", pa1,
                                                                    f"{eps:.1f}")):
        rows.append({"run": story.step(role).label,
                     "test accuracy": percent(_acc(runs[role])),
                     "attacker right": percent(attacker_right(pa)),
                     "attack AUC": f"{pa['auc']:.2f}",
                     "found at 1% false alarms": percent(pa["tpr_at_1pct_fpr"]),
                     "ε (privacy budget)": eps_text})
    chart = _two_attacks((f"attack on the run without noise ({percent(right0)} right)",
                          pa0["roc"]),
                         (f"attack on the private run ({percent(right1)} right)", pa1["roc"]),
                         eps, delta)
    return Walkthrough(headline, lines, _table(rows), chart)


ATTACKS = ("untouched", "FGSM attack", "PGD attack")


def _robust_chart(rows: list[dict[str, Any]]) -> alt.Chart:
    """Grouped bars: accuracy untouched, under FGSM and under PGD, one bar per run."""
    df = pd.DataFrame(rows)
    runs = list(dict.fromkeys(df["run"]))
    base = alt.Chart(df, title="test digits read correctly, untouched and attacked").encode(
        y=alt.Y("attack:N", sort=list(ATTACKS), title=None,
                axis=alt.Axis(labelFontSize=13, labelLimit=200)),
        yOffset=alt.YOffset("run:N", sort=runs),
        x=alt.X("accuracy:Q", title="share of test digits read correctly",
                axis=alt.Axis(format=".0%", values=[0, 0.2, 0.4, 0.6, 0.8, 1.0]),
                scale=alt.Scale(domain=[0, 1.08])),  # room for the labels, no 105% tick
        color=alt.Color("run:N", sort=runs, title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(range=["#c0392b", "#1f5fa8"])),
        tooltip=["run", "attack", alt.Tooltip("accuracy:Q", format=".1%")],
    )
    bars = base.mark_bar()
    text = base.mark_text(align="left", dx=4, fontSize=12).encode(
        text=alt.Text("accuracy:Q", format=".1%"))
    return (bars + text).properties(height=60 * len(ATTACKS) + 40)


def _robust(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    if (off := _not_attacked(runs, "robustness")) is not None:
        return off
    plain, hard = runs["standard"], runs["adversarial"]
    r0, r1 = plain.metrics["robustness"], hard.metrics["robustness"]
    s, n = r0["strength"], r0["examples"]
    trained_at = hard.metrics.get("adversarial_training", {}).get(
        "strength", story.step("adversarial").values["adversarial_training"])

    def scores(r: dict[str, Any]) -> str:
        return (f"{percent(r['clean_accuracy'])} of {n} test digits as they are, "
                f"{percent(r['fgsm']['accuracy'])} after FGSM and "
                f"{percent(r['pgd']['accuracy'])} after PGD")

    lines = [
        f"The attacker may move each pixel by at most {s:g} on a scale from blank paper (0) "
        f"to full ink (1): a change a person hardly notices. FGSM takes one step in the "
        "direction that fools the model most; PGD takes "
        f"{r0['pgd'].get('steps', 'several')} smaller steps and checks after each, so it is "
        "the stronger attacker and its number is the one to trust.",
        f"Trained normally, the network reads {scores(r0)}.",
        f"Adversarially trained (on copies of its training pictures attacked at strength "
        f"{trained_at:g} at every step), it reads {scores(r1)}.",
    ]
    t0, t1 = plain.metrics["train_seconds"], hard.metrics["train_seconds"]
    ratio = t1 / max(t0, 1e-9)
    spent = hard.metrics.get("adversarial_training", {}).get("attack_seconds")
    clean = points(_acc(plain), _acc(hard))
    lines.append(
        f"The price: on all {plain.metrics.get('test_examples', 'the')} test digits it reads "
        f"{percent(_acc(hard))} against {percent(_acc(plain))} ("
        + (f"{abs(clean):.1f} points {'more' if clean > 0 else 'fewer'}" if abs(clean) >= 0.05
           else "the same") + "), and training took "
        f"{t1:.0f} s against {t0:.0f} s"
        + (f", {ratio:.1f}× as long" if ratio >= 1.05 else
           " (timings vary with whatever else the machine is doing)")
        + (f"; {spent:.0f} s of it went into attacking its own training pictures, one extra "
           "pass through the network per step." if spent is not None else "."))
    lines.append(f"To see one attacked digit beside the original, with each run's answer, "
                 f"open runs {plain.id} and {hard.id} on the Explain page and switch on "
                 "\"Attack this example\".")
    lines.append("Worth it when someone has a reason to fool the model (fraud checks, content "
                 "filters, screening uploaded documents or photos); for a model nobody "
                 "attacks, it is training time spent for nothing.")
    gain = points(r0["pgd"]["accuracy"], r1["pgd"]["accuracy"])
    paid = ([f"{ratio:.1f}× the training time"] if ratio >= 1.05 else []) + (
        [f"{-clean:.1f} points of ordinary accuracy"] if clean <= -0.05 else [])
    price = f"for {' and '.join(paid)}" if paid else "at no visible cost this time"
    if gain >= 0.5:
        headline = (f"Adversarial training kept {percent(r1['pgd']['accuracy'])} of attacked "
                    f"digits right instead of {percent(r0['pgd']['accuracy'])}, {price}.")
    else:
        headline = (f"This time adversarial training did not hold up better under attack: "
                    f"{percent(r1['pgd']['accuracy'])} right after PGD against "
                    f"{percent(r0['pgd']['accuracy'])} without it.")
    bars, rows = [], []
    for role in ("standard", "adversarial"):
        run, label = runs[role], story.step(role).label
        r = run.metrics["robustness"]
        for attack, acc in zip(ATTACKS, (r["clean_accuracy"], r["fgsm"]["accuracy"],
                                         r["pgd"]["accuracy"]), strict=True):
            bars.append({"run": label, "attack": attack, "accuracy": acc})
        rows.append({"run": label, "test accuracy": percent(_acc(run)),
                     f"untouched ({n})": percent(r["clean_accuracy"]),
                     f"FGSM {s:g}": percent(r["fgsm"]["accuracy"]),
                     f"PGD {s:g}": percent(r["pgd"]["accuracy"]),
                     "training time": f"{run.metrics['train_seconds']:.0f} s"})
    return Walkthrough(headline, lines, _table(rows), _robust_chart(bars))


# -- Is it fair? -----------------------------------------------------------------------------

FAIR_ROLES = ("plain", "parity", "odds")


def _fair_chart(rows: list[dict[str, Any]]) -> alt.Chart:
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


def _fair(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    f = {role: runs[role].metrics["fairness"] for role in FAIR_ROLES}
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
        cost = points(_acc(runs[role]), _acc(runs["plain"]))
        lines.append(
            f"{story.step(role).label}: per-group thresholds, fitted on the validation "
            f"applicants so that each group is {what}. On the test applicants the "
            "approval-rate gap becomes "
            f"{m['demographic_parity_difference'] * 100:.1f} points and the error-rate gap "
            f"{(m['equalized_odds_difference'] or 0) * 100:.1f} points (from "
            f"{(plain['equalized_odds_difference'] or 0) * 100:.1f}); accuracy "
            f"{percent(_acc(runs[role]))} against {percent(_acc(runs['plain']))} "
            + (f"({cost:.1f} points lower)." if cost >= 0.05 else
               f"({-cost:.1f} points higher)." if cost <= -0.05 else "(the same)."))
    lines.append("Accuracy here is agreement with the past decisions, which were biased: part "
                 "of what a fairer model \"loses\" is agreement with refusals that should not "
                 "have happened. A real lender would also check the law: thresholds per group "
                 "use each applicant's group when deciding, which some places forbid.")
    gap0 = plain["demographic_parity_difference"] * 100
    gap1 = f["parity"]["demographic_parity_difference"] * 100
    cost = points(_acc(runs["parity"]), _acc(runs["plain"]))
    price = (f"for {cost:.1f} points of accuracy" if cost >= 0.05 else
             "and accuracy did not drop" if cost > -0.05 else
             f"and accuracy even rose {-cost:.1f} points")
    headline = (f"Equal approval rates took the gap between groups from {gap0:.1f} to "
                f"{gap1:.1f} points, {price}." if gap1 < gap0 else
                f"This time the thresholds did not narrow the approval gap ({gap0:.1f} → "
                f"{gap1:.1f} points).")
    bars, rows = [], []
    for role in FAIR_ROLES:
        label, m = story.step(role).label, f[role]
        for group, v in m["by_group"].items():
            bars.append({"run": label, "group": group, "approved": v["selection_rate"]})
        rows.append({"run": label, "test accuracy": percent(_acc(runs[role])),
                     **{f"approved, {g}": percent(v["selection_rate"])
                        for g, v in m["by_group"].items()},
                     "approval-rate gap": f"{m['demographic_parity_difference'] * 100:.1f} pts",
                     "error-rate gap": f"{(m['equalized_odds_difference'] or 0) * 100:.1f} pts"})
    return Walkthrough(headline, lines, _table(rows), _fair_chart(bars))
# -- when one class is rare ----------------------------------------------------------------


def _recall_of(run: Run, names: list[str]) -> float:
    """Mean recall of these classes in a run (by name)."""
    m = run.metrics
    return float(np.mean([m["recall_by_class"][m["class_names"].index(n)] for n in names]))


def lopsided_accuracy(metrics: dict[str, Any]) -> float:
    """The accuracy a run would show on a test set as lopsided as its training data: each
    class's recall weighted by its share of the training examples."""
    counts = np.asarray(metrics["train_class_counts"], dtype=float)
    return float(np.dot(counts, metrics["recall_by_class"]) / counts.sum())


def _recall_chart(rows: list[dict[str, Any]], runs: list[str]) -> alt.Chart:
    """Grouped bars: each class's recall, one bar per run."""
    df = pd.DataFrame(rows)
    base = alt.Chart(df, title="share of each digit's test examples found (recall)").encode(
        x=alt.X("class:N", title="digit (rare ones marked *)", sort=list(
            dict.fromkeys(df["class"])), axis=alt.Axis(labelAngle=0, labelFontSize=13)),
        xOffset=alt.XOffset("run:N", sort=runs),
        y=alt.Y("recall:Q", title="found (recall)", axis=alt.Axis(format=".0%"),
                scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("run:N", sort=runs, title=None,
                        legend=alt.Legend(orient="bottom", labelLimit=320),
                        scale=alt.Scale(range=["#c0392b", "#1f5fa8", "#9aa5b1"])),
        tooltip=["run", "class", alt.Tooltip("recall:Q", format=".1%")],
    )
    return base.mark_bar().properties(height=280)


def _listing(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _rare(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    plain, weighted, full = runs["plain"], runs["weighted"], runs["balanced"]
    rare = list(plain.metrics["rare_classes"])
    common = [n for n in plain.metrics["class_names"] if n not in rare]
    counts = plain.metrics["train_class_counts"]
    names = plain.metrics["class_names"]
    few = min(counts[names.index(n)] for n in rare)
    many = max(counts[names.index(n)] for n in common)
    found = {role: _recall_of(runs[role], rare) for role in ("plain", "weighted", "balanced")}
    kept = {role: _recall_of(runs[role], common) for role in ("plain", "weighted", "balanced")}
    recall = plain.metrics["recall_by_class"]
    worst = min(range(len(recall)), key=lambda c: recall[c])
    share = story.step("plain").values["imbalance"]
    weights = weighted.metrics.get("class_weights", {}).get("weights") or []
    lines = [
        f"With every digit as common as it is, the network reads {percent(_acc(full))} of the "
        f"test digits and finds {percent(found['balanced'])} of the digits {_listing(rare)}.",
        f"Then the digits {_listing(rare)} keep only {share:.0%} of their training examples "
        f"(about {few} each, against up to {many} for the others); validation and test keep "
        f"all of theirs. Accuracy drops to {percent(_acc(plain))}, but that hides the real "
        f"damage: the network finds only {percent(found['plain'])} of the rare digits, and "
        f"{percent(recall[worst])} of the {names[worst]}s.",
        f"In real data the test examples would be as lopsided as the training ones, and "
        f"accuracy would look better still: scored on such a test set, the same network "
        f"would get {percent(lopsided_accuracy(plain.metrics))} right while missing most "
        "rare cases. That is why a fraud model's 98 % accuracy can mean little.",
        (f"With class weights, a mistake on a rare digit counts about "
         f"{max(weights):.0f}× as much as one on a common digit while it learns. "
         if weights else "With class weights, mistakes on rare digits count more. ")
        + f"It then finds {percent(found['weighted'])} of the rare digits (against "
          f"{percent(found['plain'])}), and reads {percent(_acc(weighted))} of all test "
          f"digits; the common digits are found {percent(kept['weighted'])} of the time "
          f"(against {percent(kept['plain'])}).",
        "Weights add no work to training (one pass over the same examples; here "
        f"{weighted.metrics['train_seconds']:.1f} s against "
        f"{plain.metrics['train_seconds']:.1f} s, as busy as the machine was), but they "
        "can't invent what the few examples don't show: the run with all the data still "
        f"finds {percent(found['balanced'])} of those digits.",
    ]
    gain = points(found["plain"], found["weighted"])
    if gain >= 0.5:
        headline = (f"Class weights found {percent(found['weighted'])} of the rare digits "
                    f"instead of {percent(found['plain'])} (accuracy: "
                    f"{percent(_acc(plain))} → {percent(_acc(weighted))}), at no extra "
                    "training cost.")
    else:
        headline = (f"This time class weights did not help the rare digits: "
                    f"{percent(found['weighted'])} found, against {percent(found['plain'])} "
                    "without them.")
    rows, bars, order = [], [], []
    for role in ("plain", "weighted", "balanced"):
        run, label = runs[role], story.step(role).label
        order.append(label)
        rows.append({"run": label, "accuracy": percent(_acc(run)),
                     "rare digits found": percent(found[role]),
                     "common digits found": percent(kept[role]),
                     "training time": f"{run.metrics['train_seconds']:.1f} s"})
        for name, r in zip(run.metrics["class_names"], run.metrics["recall_by_class"],
                           strict=True):
            bars.append({"run": label, "class": f"{name}*" if name in rare else name,
                         "recall": r})
    return Walkthrough(headline, lines, _table(rows), _recall_chart(bars, order))
