"""A finished run's story: what happened, in plain words next to the numbers.

Pure functions over runs and their per-epoch values (no Streamlit); the run card, the CLI's
`show` and the tests use the same sentences. Where a "baseline" exists (a finished run with
the same settings, minus some of this run's techniques), the story says what those
techniques bought and cost against it.
"""
from __future__ import annotations

from typing import Any, Sequence

from playground.common.formatting import human_bytes, percent, points
from playground.training.techniques.base import TECHNIQUES

GAP_OVERFIT = 0.05  # train minus validation accuracy from which we call it memorising
SAME = 0.005  # accuracy differences below half a point are "about the same"
HARDER_BATCHES = ("augmentation", "dropout", "dp")  # make training batches harder on purpose
# Applied after training to a copy: the run's own (float) accuracy is its baseline's, so a
# comparison would say nothing; its own sentence tells size, speed and accuracy.
AFTER_TRAINING_ONLY = ("quantization",)


def _title(name: str) -> str:
    return TECHNIQUES.get(name).title if name in TECHNIQUES else name.replace("_", " ")


def _titles(names: Sequence[str]) -> str:
    words = [_title(n).lower() if n != "dp" else "privacy noise" for n in names]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _same_settings(a, b) -> bool:
    """What must match for two runs to be comparable: everything but techniques and device.
    (Field by field: this runs for every pair of cards on a page that polls every second.)"""
    return all(getattr(a, f) == getattr(b, f) for f in type(a).model_fields
               if f not in ("techniques", "device"))


def find_baseline(run, runs: Sequence) -> Any | None:
    """The closest finished run with this run's settings and a strict subset of its
    techniques (with the same settings for the ones they share): the fewest techniques
    missing wins, then the newest. None when there is none."""
    mine = run.config.techniques
    if not mine:
        return None
    best, best_key = None, None
    for other in runs:
        if other.id == run.id or other.status != "finished":
            continue
        theirs = other.config.techniques
        if not set(theirs) < set(mine) or any(theirs[k] != mine[k] for k in theirs):
            continue
        if not _same_settings(other.config, run.config):
            continue
        key = (len(theirs), other.created)
        if best_key is None or key > best_key:
            best, best_key = other, key
    return best


def _last(epochs: Sequence[dict], key: str) -> float | None:
    values = [e[key] for e in epochs if e.get(key) is not None]
    return values[-1] if values else None


def gap(epochs: Sequence[dict]) -> float | None:
    """Training minus validation accuracy at the end (how much it memorised), as a share."""
    train, val = _last(epochs, "train_accuracy"), _last(epochs, "val_accuracy")
    return None if train is None or val is None else train - val


def headline(m: dict[str, Any]) -> list[str]:
    acc, n = m["accuracy"], m.get("test_examples") or 0
    out = [f"It got {percent(acc)} of the {n:,} test examples right (examples it never saw "
           "while training)."]
    cm = m.get("confusion_matrix")
    if cm and n:
        majority = max(sum(row) for row in cm) / n
        line = f"Always guessing the most common class would score {percent(majority)}"
        if acc <= majority + 0.02:
            line += (", so it has not learned a useful pattern yet: try more epochs or a "
                     "larger learning rate.")
        else:
            line += "."
        out.append(line)
    f1 = m.get("f1_macro")
    if f1 is not None and acc - f1 > 0.1:
        out.append(f"Its macro F1 is only {f1:.2f}: it does much worse on some classes than "
                   "on others (the confusion matrix shows which).")
    return out


def fit(epochs: Sequence[dict], techniques: dict) -> list[str]:
    """Overfitting (train vs validation gap) and whether it was still learning."""
    memorised = gap(epochs)
    if memorised is None:
        return []
    train, val = _last(epochs, "train_accuracy"), _last(epochs, "val_accuracy")
    if memorised >= GAP_OVERFIT:
        out = [f"It scored {percent(train)} on the examples it trained on but {percent(val)} "
               f"on new ones (validation): a gap of {points(memorised)}, a sign of overfitting. It "
               "memorised training examples instead of learning patterns that carry over; "
               "dropout, data augmentation, weight decay or early stopping narrow the gap."]
    elif memorised <= -GAP_OVERFIT and any(t in techniques for t in HARDER_BATCHES):
        harder = _titles([t for t in HARDER_BATCHES if t in techniques])
        out = [f"It scored higher on new examples ({percent(val)}) than on its training batches "
               f"({percent(train)}), which {harder} makes harder on purpose: no sign of "
               "overfitting."]
    else:
        out = [f"Training and validation accuracy ended close ({percent(train)} vs "
               f"{percent(val)}): no sign of overfitting."]
    vals = [e["val_accuracy"] for e in epochs if e.get("val_accuracy") is not None]
    if len(vals) >= 3 and vals[-1] - vals[-3] > 0.03 and "early_stopping" not in techniques:
        out.append("Validation accuracy was still rising at the last epoch: more epochs "
                   "would likely help.")
    return out


def _comparison(run, baseline, epochs, baseline_epochs) -> tuple[list[str], float, list[str]]:
    """Sentences comparing with the baseline, the accuracy difference, the techniques missing
    from the baseline."""
    m, b = run.metrics, baseline.metrics
    extra = [t for t in run.config.techniques if t not in baseline.config.techniques]
    diff = m["accuracy"] - b["accuracy"]
    effect = ("left accuracy about the same" if abs(diff) < SAME else
              f"{'cost' if diff < 0 else 'added'} {points(diff)} of accuracy")
    against = (f"({percent(b['accuracy'])} → {percent(m['accuracy'])}, against run {baseline.id}: "
               f"the same settings without {'it' if len(extra) == 1 else 'them'})")
    sentence = f"{_titles(extra).capitalize()} {effect} {against}"
    out = []
    if extra == ["dp"] and "epsilon" in m:
        sentence += f" and bought a privacy budget of {_epsilon(m)}."
    else:
        sentence += "."
    out.append(sentence)
    t, tb = m.get("train_seconds"), b.get("train_seconds")
    if t and tb and t / tb > 1.5 and t - tb > 1:  # small differences are timing noise
        out.append(f"Training took {t / tb:.1f}× as long ({t:.1f} s vs {tb:.1f} s).")
    regularisers = [x for x in extra if x in ("dropout", "augmentation", "weight_decay")]
    own, base_gap = gap(epochs), gap(baseline_epochs)
    if regularisers and own is not None and base_gap is not None:
        less = "less" if own < base_gap else "more"
        out.append(f"With {_titles(regularisers)}, training accuracy ended {_side(own)} "
                   f"validation accuracy; without, {_side(base_gap)}: {less} sign of "
                   "memorising.")
    return out, diff, extra


def _side(diff: float) -> str:
    return f"{points(diff)} {'above' if diff >= 0 else 'below'}"


def _epsilon(m: dict[str, Any]) -> str:
    return (f"ε = {m['epsilon']:.2f} (δ = {m['delta']:.1g}), meaning "
            f"{m.get('epsilon_meaning', 'see the glossary')}")


def technique_lines(run, baseline=None, dp_told: bool = False) -> list[str]:
    m, techniques, config = run.metrics, run.config.techniques, run.config
    out: list[str] = []
    if "dp" in techniques and "epsilon" in m and not dp_told:
        out.append(f"Privacy noise bought a privacy budget of {_epsilon(m)}.")
    out += [m[note] for note in ("dp_note", "augmentation_note") if m.get(note)]
    q = m.get("quantized")
    if q and "skipped" in q:
        out.append(f"Quantization to {q['mode']} was skipped: {q['skipped']}.")
    elif q:
        ratio = q["size_bytes"] / max(1, q["float_size_bytes"])
        speed = m["latency_ms"] / max(1e-9, q["latency_ms"])
        faster = (f"{speed:.1f}× faster" if speed >= 1.1 else
                  f"{1 / speed:.1f}× slower" if speed <= 0.9 else "about as fast")
        moved = q["accuracy"] - m["accuracy"]
        acc = ("accuracy stayed at " + percent(q["accuracy"]) if abs(moved) < SAME else
               f"accuracy went from {percent(m['accuracy'])} to {percent(q['accuracy'])}")
        out.append(
            f"Stored as {q['mode']}, the model shrank from "
            f"{human_bytes(q['float_size_bytes'], 'KB')} to {human_bytes(q['size_bytes'], 'KB')} "
            f"({ratio:.0%} of its size) and predicts one example "
            f"{faster} ({q['latency_ms']:.3f} ms vs {m['latency_ms']:.3f} ms); {acc} "
            f"({q['changed_predictions']} of {m['test_examples']:,} test predictions changed).")
    if "sparsity" in m and "pruning" in m:
        p = m["pruning"]
        line = (f"Pruning set {m['sparsity']:.0%} of the weights to exactly zero. Validation "
                f"accuracy went from {percent(p['val_accuracy_before'])} to "
                f"{percent(p['val_accuracy_pruned'])} right after pruning")
        if p.get("fine_tune_epochs"):
            line += (f", and to {percent(m['val_accuracy'])} after {p['fine_tune_epochs']} "
                     "epochs of fine-tuning")
        out.append(line + ". The saved file keeps its size: the zeros pay off once it is "
                          "compressed or on hardware that skips them.")
    if "teacher_agreement" in m:
        line = (f"The student agrees with its teacher (run {m['teacher_run_id']}, "
                f"{percent(m['teacher_accuracy'])}) on {m['teacher_agreement']:.0%} of the test "
                "examples.")
        twin = baseline if baseline is not None and set(techniques) - set(
            baseline.config.techniques) == {"distillation"} else None
        if twin is None and m.get("baseline_accuracy") is not None:
            diff = m["accuracy"] - m["baseline_accuracy"]
            line += (f" Trained alone (run {m['baseline_run_id']}) it scored "
                     f"{percent(m['baseline_accuracy'])}: the teacher "
                     f"{'added' if diff >= 0 else 'cost'} {points(diff)}.")
        elif twin is None:
            line += " Its twin trained without the teacher has not finished yet."
        out.append(line)
    if "early_stopping" in techniques and "best_epoch" in m:
        stopped = m.get("stopped_epoch")
        if stopped:
            out.append(f"Early stopping ended training at epoch {stopped} of {config.epochs} "
                       f"and went back to the weights of epoch {m['best_epoch']}, saving "
                       f"{config.epochs - stopped} epochs.")
        else:
            out.append("Early stopping never triggered: validation loss kept improving; the "
                       f"weights of epoch {m['best_epoch']} were kept.")
    if mp := m.get("mixed_precision"):
        out.append(f"It trained in {mp['dtype']} mixed precision on {mp['device']}: 16-bit "
                   "arithmetic with 32-bit weights, which mostly buys speed.")
    if "final_lr" in m:
        out.append(f"The learning rate was lowered smoothly from {config.lr:g} to "
                   f"{m['final_lr']:.1g} by the last step.")
    if "mean_abs_weight" in m:
        out.append(f"Weight decay pulled the weights towards zero: their average size is "
                   f"{m['mean_abs_weight']:.3f}.")
    return out


def story(run, epochs: Sequence[dict] = (), baseline=None,
          baseline_epochs: Sequence[dict] = ()) -> list[str]:
    """Plain sentences on what a finished run did; [] for runs that have not finished."""
    if run.status != "finished" or "accuracy" not in run.metrics:
        return []
    out = headline(run.metrics)
    if run.config.train_fraction < 1:
        out.append(f"It trained on only {run.config.train_fraction:.0%} of the training "
                   "examples.")
    out += fit(epochs, run.config.techniques)
    dp_told = False
    extra = [t for t in run.config.techniques if baseline is not None
             and t not in baseline.config.techniques]
    if extra and not set(extra) <= set(AFTER_TRAINING_ONLY):
        compared, _, extra = _comparison(run, baseline, epochs, baseline_epochs)
        out += compared
        dp_told = extra == ["dp"]
    out += technique_lines(run, baseline, dp_told)
    return out


def run_story(store, run, epochs: Sequence[dict] | None = None,
              finished: Sequence | None = None) -> list[str]:
    """`story` with the baseline looked up in the store (or among `finished` runs)."""
    if run.status != "finished":
        return []
    if epochs is None:
        epochs = store.epochs(run.id)
    if finished is None:
        finished = store.list_runs(statuses=("finished",)) if run.config.techniques else []
    baseline = find_baseline(run, finished)
    baseline_epochs = store.epochs(baseline.id) if baseline is not None else ()
    return story(run, epochs, baseline, baseline_epochs)
