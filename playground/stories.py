"""Stories: one-click guided experiments. Each queues a few small runs and, once they have
finished, walks through what their real numbers show.

A story is data (its runs as flat settings) plus a `walkthrough` that reads the finished
runs' metrics and epochs and writes sentences from them; nothing in a walkthrough is
canned except the framing. Which runs belong to a story's latest showing is kept in a
small JSON record per story (and workshop) under PLAYGROUND_HOME/stories, so the Home page
queues its story once per server, not once per visitor.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import altair as alt
import pandas as pd

from playground.config import make_config
from playground.store import Run, Store


@dataclass(frozen=True)
class Step:
    """One run of a story."""

    role: str  # stable key, e.g. "baseline"
    label: str  # what the reader sees, e.g. "No privacy noise"
    values: dict[str, Any]  # flat make_config settings
    teacher: str | None = None  # role of an earlier step to distil from


@dataclass
class Walkthrough:
    headline: str
    paragraphs: list[str]
    table: pd.DataFrame
    chart: alt.Chart


@dataclass(frozen=True)
class Story:
    key: str
    title: str
    question: str  # the founder's question it answers
    intro: str
    steps: tuple[Step, ...]
    explain: Callable[["Story", dict[str, Run], dict[str, list[dict]]], Walkthrough]

    def step(self, role: str) -> Step:
        return next(s for s in self.steps if s.role == role)


# -- small helpers for sentences ----------------------------------------------------------


def pct(x: float) -> str:
    return f"{x:.1%}"


def points(a: float, b: float) -> float:
    """Difference b - a in percentage points."""
    return (b - a) * 100


def kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB"


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


# -- the stories ---------------------------------------------------------------------------

PRIVACY_BASE = dict(dataset="digits", model="mlp", epochs=10, lr=0.01)


def _privacy(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    base = runs["none"]
    rows = [{"run": story.step("none").label, "accuracy": _acc(base), "ε (privacy budget)": "∞"}]
    lines = [f"Without privacy noise the model read {pct(_acc(base))} of the test digits "
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
            f"{pct(_acc(run))}, " + (f"{cost:.1f} points below no noise" if cost >= 0.05 else
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
    table = _table([{**r, "accuracy": pct(r["accuracy"])} for r in rows])
    return Walkthrough(headline, lines, table, chart)


SHRINK_BASE = dict(dataset="digits", model="mlp", width=128, depth=2, epochs=10, lr=0.01)
SMALL = dict(SHRINK_BASE, width=16)


def deployed(run: Run) -> tuple[float, float]:
    """(bytes, accuracy) of the model one would ship: quantized if it was."""
    m = run.metrics
    q = m.get("quantized") or {}
    if "size_bytes" in q:
        return float(q["size_bytes"]), float(q["accuracy"])
    if "sparsity" in m:  # zeros compress away: count only the weights that are left
        return float(m["size_bytes"]) * (1 - float(m["sparsity"])), _acc(run)
    return float(m["size_bytes"]), _acc(run)


def _shrink(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    big_size, big_acc = deployed(runs["original"])
    rows, lines = [], []
    for step in story.steps:
        size, acc = deployed(runs[step.role])
        rows.append({"run": step.label, "size": size, "accuracy": acc,
                     "share of original size": size / big_size})
    lines.append(f"The original network stores {kb(big_size)} of weights and reads "
                 f"{pct(big_acc)} of the test digits correctly.")
    q = runs["int8"].metrics["quantized"]
    if "size_bytes" in q:
        lines.append(
            f"Quantization to 8-bit integers: {kb(q['size_bytes'])} "
            f"({q['size_bytes'] / big_size:.0%} of the size), accuracy {pct(q['accuracy'])} "
            f"({_change(points(big_acc, q['accuracy']))}); "
            f"{q['changed_predictions']} of {runs['int8'].metrics['test_examples']} answers "
            "changed. Each weight is stored in 1 byte instead of 4.")
    else:
        lines.append(f"Quantization was skipped on this machine: {q.get('skipped')}.")
    m = runs["pruned"].metrics
    size, acc = deployed(runs["pruned"])
    lines.append(
        f"Pruning set {m['sparsity']:.0%} of the weights to exactly zero, and the model "
        f"still reads {pct(acc)} ({_change(points(big_acc, acc))}). Stored in a compressed "
        f"format only the remaining {kb(size)} would need space; the file here keeps the "
        "zeros, so the saving needs a sparse format or a compressor to show up on disk.")
    student, alone = runs["student"].metrics, runs["alone"]
    s_size, s_acc = deployed(runs["student"])
    lines.append(
        f"A student network with 16 instead of 128 neurons per layer is {kb(s_size)} "
        f"({s_size / big_size:.0%} of the size). Learning from the original as its teacher "
        f"it reads {pct(s_acc)}; the same small network trained alone reads "
        f"{pct(_acc(alone))}, so the teacher {_change(points(_acc(alone), s_acc), 'added', 'cost')}"
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
                    "accuracy": pct(r["accuracy"])} for r in rows], "kilobytes",
                  "size to ship (KB)", fmt=",.1f", note="accuracy")
    table = _table([{"run": r["run"], "size": kb(r["size"]), "accuracy": pct(r["accuracy"]),
                     "share of original size": f"{r['share of original size']:.0%}"}
                    for r in rows])
    return Walkthrough(headline, lines, table, chart)


TEACHER = dict(dataset="digits", model="cnn", epochs=15, lr=0.01)
STUDENT = dict(dataset="digits", model="mlp", width=16, depth=1, epochs=30, lr=0.01)
DISTILL = dict(distill_temperature=4.0, distill_weight=0.7)


def _teacher(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    t, alone, student = runs["teacher"], runs["alone"], runs["student"]
    tm, sm = t.metrics, student.metrics
    gain = points(_acc(alone), _acc(student))
    ratio = tm["params"] / max(1, sm["params"])
    lines = [
        f"The teacher, an image network with {tm['params']:,} learned numbers, reads "
        f"{pct(_acc(t))} of the test digits correctly.",
        f"The student is a small network with {sm['params']:,} learned numbers, "
        f"{ratio:.0f}× fewer. Trained alone on the labels it reads {pct(_acc(alone))}.",
        f"Trained on the labels plus the teacher's softened answers (which wrong digits "
        f"look plausible, e.g. a 7 that resembles a 1) it reads {pct(_acc(student))} and "
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
    table = _table([{**r, "accuracy": pct(r["accuracy"]), "parameters": f"{r['parameters']:,}"}
                    for r in rows])
    return Walkthrough(headline, lines, table, chart)


SCARCE = dict(dataset="digits", model="cnn", epochs=40, lr=0.003, batch_size=32,
              train_fraction=0.15)


def _gap(es: list[dict]) -> float:
    """Training minus validation accuracy at the end, in points (how much it memorised)."""
    return points(es[-1]["val_accuracy"], es[-1]["train_accuracy"]) if es else float("nan")


def _augment(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    scarce, aug, full = runs["scarce"], runs["augmented"], runs["full"]
    gain = points(_acc(scarce), _acc(aug))
    lost = points(_acc(scarce), _acc(full))
    n_scarce = story.step("scarce").values["train_fraction"]
    lines = [
        f"With only {n_scarce:.0%} of the training pictures the network reads "
        f"{pct(_acc(scarce))} of the test digits; with all of them, {pct(_acc(full))}. "
        f"Scarce data cost {lost:.1f} points.",
        f"With augmentation (every step shows slightly turned, shifted and noisy copies of "
        f"the same few pictures) it reads {pct(_acc(aug))}: augmentation "
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
    return Walkthrough(headline, lines, _table([{**r, "accuracy": pct(r["accuracy"])}
                                                for r in rows]),
                       _bars(rows, "accuracy", "test accuracy"))


OVERFIT = dict(dataset="digits", model="mlp", width=256, depth=3, epochs=60, lr=0.003,
               train_fraction=0.2)


def _overfit(story: Story, runs: dict[str, Run], epochs) -> Walkthrough:
    lines, rows = [], []
    best = {}
    for step in story.steps:
        es = epochs[step.role]
        losses = [e["val_loss"] for e in es]
        k = losses.index(min(losses))
        best[step.role] = (k + 1, losses[k], losses[-1])
        rows.append({"run": step.label, "test accuracy": pct(_acc(runs[step.role])),
                     "training accuracy": pct(es[-1]["train_accuracy"]),
                     "validation accuracy": pct(es[-1]["val_accuracy"]),
                     "best validation loss": f"{losses[k]:.3f} (epoch {k + 1})",
                     "final validation loss": f"{losses[-1]:.3f}"})
    e0, l0, f0 = best["plain"]
    e1, l1, f1 = best["dropout"]
    n = story.step("plain").values["epochs"]
    lines.append(
        f"Without dropout the big network gets {pct(epochs['plain'][-1]['train_accuracy'])} "
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
    lines.append(f"Test accuracy: {pct(_acc(runs['plain']))} without dropout, "
                 f"{pct(_acc(runs['dropout']))} with it. Falling validation loss means the "
                 "model is also more honest about how sure it is.")
    labels = {s.role: s.label for s in story.steps}
    chart = _curves(epochs, labels, "val_loss", "validation loss (lower is better)")
    return Walkthrough(headline, lines, _table(rows), chart)


STORIES: dict[str, Story] = {s.key: s for s in (
    Story(
        "privacy", "Privacy costs accuracy",
        "What does protecting people's data cost me in accuracy?",
        "Three copies of the same small network learn to read handwritten digits: one "
        "normally, two with DP-SGD, which clips each example's influence and adds noise so "
        "that no single person's data can be told from the model. More noise buys a smaller "
        "privacy budget ε (stronger privacy). What does it cost?",
        (Step("none", "No privacy noise", PRIVACY_BASE),
         Step("some", "Some noise", dict(PRIVACY_BASE, dp_noise=0.6)),
         Step("strong", "Strong noise", dict(PRIVACY_BASE, dp_noise=1.5))),
        _privacy),
    Story(
        "shrink", "Shrink it for a phone",
        "How small can my model get before it gets worse?",
        "One network learns to read digits, then three ways of making it smaller compete: "
        "quantization (store each weight in 8 bits instead of 32), pruning (set most weights "
        "to zero) and distillation (train a much smaller student to copy it).",
        (Step("original", "Original network", SHRINK_BASE),
         Step("int8", "Quantized to 8 bits", dict(SHRINK_BASE, quantize="int8")),
         Step("pruned", "Pruned (80% zeros)", dict(SHRINK_BASE, prune=0.8)),
         Step("alone", "Small network alone", SMALL),
         Step("student", "Small student of the original", dict(SMALL, distill_weight=0.7),
              teacher="original")),
        _shrink),
    Story(
        "teacher", "A big teacher makes a small student smarter",
        "Can a small, cheap model learn from a big one?",
        "A big image network (the teacher) learns first. Then a tiny network learns twice: "
        "once from the labels alone, once also from the teacher's answers, which say not "
        "just 'this is a 7' but 'it looks a bit like a 1'. The queue makes the student wait "
        "for its teacher.",
        (Step("teacher", "Big teacher", TEACHER),
         Step("alone", "Small student alone", STUDENT),
         Step("student", "Small student with the teacher", dict(STUDENT, **DISTILL),
              teacher="teacher")),
        _teacher),
    Story(
        "augment", "Augment when data is scarce",
        "I only have a little data. Can I make more of it?",
        "An image network learns digits from only 15% of the training pictures (about 16 "
        "per digit), once as is and once with augmentation, which shows it slightly turned, "
        "shifted and noisy copies at every step. A third run with all the pictures shows "
        "what the missing data cost.",
        (Step("scarce", "15% of the data", SCARCE),
         Step("augmented", "15% of the data, augmented", dict(SCARCE, augment=0.5)),
         Step("full", "All the data", dict(SCARCE, train_fraction=1.0))),
        _augment),
    Story(
        "overfit", "Overfitting and dropout",
        "Why does my model look great in training and worse on new data?",
        "A big network (3 layers of 256 neurons) trains for 60 epochs on 20% of the digits: "
        "far more capacity than data, so it starts memorising. A second copy uses dropout, "
        "which switches off half its neurons at random at every step so it cannot rely on "
        "any one of them. Watch the validation loss: the score on pictures it never trains on.",
        (Step("plain", "No dropout", OVERFIT),
         Step("dropout", "Dropout 0.5", dict(OVERFIT, dropout=0.5))),
        _overfit),
)}

DEFAULT_STORY = "privacy"


# -- queueing a story and finding its runs again --------------------------------------------


def queue_story(store: Store, story: Story, *, seed: int = 0, workspace: str | None = None,
                owner: str | None = None, epochs: int | None = None) -> dict[str, str]:
    """Queue every step in order (a teacher before its student); return role -> run id.
    `epochs` overrides every step's epochs (quick checks of the same setup)."""
    ids: dict[str, str] = {}
    for step in story.steps:
        values = dict(step.values, seed=seed)
        if epochs is not None:
            values["epochs"] = epochs
        if step.teacher:
            values["distill_from"] = ids[step.teacher]
        config = make_config(**values)
        ids[step.role] = store.enqueue(config, workspace=workspace, owner=owner)
    return ids


@dataclass
class StoryRecord:
    """Which runs show a story's latest result (per server, or per workshop)."""

    story: str
    runs: dict[str, str]
    queued_at: float
    workspace: str | None = None
    owner: str | None = None
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def _record_path(home: Path, story: str, workspace: str | None) -> Path:
    return Path(home) / "stories" / f"{workspace or '_'}__{story}.json"


def load_record(home: Path, story: str, workspace: str | None = None) -> StoryRecord | None:
    path = _record_path(home, story, workspace)
    try:
        return StoryRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _save_record(home: Path, record: StoryRecord) -> None:
    path = _record_path(home, record.story, record.workspace)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record.__dict__))
    os.replace(tmp, path)  # readers see the old record or the new one, never half


def story_runs(store: Store, record: StoryRecord) -> dict[str, Run | None]:
    return {role: store.get(run_id) for role, run_id in record.runs.items()}


BROKEN = ("failed", "cancelled", "interrupted")


def story_state(runs: dict[str, Run | None]) -> str:
    """'finished', 'active' (queued or training), or 'broken' (a run is gone or failed)."""
    if any(r is None or r.status in BROKEN for r in runs.values()):
        return "broken"
    if all(r.status == "finished" for r in runs.values()):
        return "finished"
    return "active"


LOCK_STALE_S = 60.0


def ensure_story(store: Store, key: str, *, workspace: str | None = None,
                 owner: str | None = None, again: bool = False, seed: int | None = None,
                 epochs: int | None = None) -> tuple[StoryRecord | None, bool]:
    """The story's current record, queueing its runs if there is none worth showing (or
    `again`). Returns (record, queued_now). Safe when many visitors arrive at once: one
    queues, the others get the record (or None for the moment while it is being written).
    """
    story = STORIES[key]
    home = store.home
    record = load_record(home, key, workspace)
    if record and not again and story_state(story_runs(store, record)) != "broken":
        return record, False
    path = _record_path(home, key, workspace)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.with_suffix(".lock")
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            if time.time() - lock.stat().st_mtime > LOCK_STALE_S:
                lock.unlink()  # left by a process that died mid-way; next call retries
        except OSError:
            pass
        return load_record(home, key, workspace), False
    try:
        fresh = load_record(home, key, workspace)
        if fresh and (not again and story_state(story_runs(store, fresh)) != "broken"
                      or again and record and fresh.queued_at != record.queued_at):
            return fresh, False  # someone else queued it while we waited for the lock
        if seed is None:
            seed = (fresh.seed + 1) if (again and fresh) else 0
        ids = queue_story(store, story, seed=seed, workspace=workspace, owner=owner,
                          epochs=epochs)
        record = StoryRecord(key, ids, time.time(), workspace, owner, seed)
        _save_record(home, record)
        return record, True
    finally:
        os.close(fd)
        lock.unlink(missing_ok=True)


def walkthrough(story: Story, store: Store, record: StoryRecord) -> Walkthrough | None:
    """The walkthrough of a finished story, computed from its runs; None until then."""
    runs = story_runs(store, record)
    if story_state(runs) != "finished":
        return None
    epochs: dict[str, list[dict]] = {role: [] for role in runs}
    by_id = {r.id: role for role, r in runs.items()}
    for e in store.epochs_for(list(by_id)):
        epochs[by_id[e["run_id"]]].append(e)
    return story.explain(story, runs, epochs)
