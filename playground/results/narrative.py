"""A finished run's story: what happened, in plain words next to the numbers.

Pure functions over runs and their per-epoch values (no Streamlit); the run card, the CLI's
`show` and the tests use the same sentences. Where a "baseline" exists (a finished run with
the same settings, minus some of this run's techniques), the story says what those
techniques bought and cost against it.
"""
from __future__ import annotations

from typing import Any, Sequence

from playground.common.formatting import percent, points
from playground.results import luck as luck_test
from playground.results import shift_words
from playground.results.luck import Luck
from playground.training.audits import fairness, membership, robustness
from playground.training.capabilities import REBALANCES_CLASSES, STOPS_EARLY, Capability
from playground.training.techniques import TECHNIQUES, all_techniques
from playground.training.techniques.base import providers

GAP_OVERFIT = 0.05  # train minus validation accuracy from which we call it memorising
SAME = 0.005  # accuracy differences below half a point are "about the same"


def _with(flag: str, names) -> list[str]:
    """The techniques among `names` that say they have `flag` (e.g. harder_batches)."""
    return [n for n in names if n in TECHNIQUES and getattr(TECHNIQUES.get(n), flag, False)]


def _providing(capability: Capability, names) -> list[str]:
    """The techniques among `names` that provide `capability`."""
    return [cls.name for cls in providers(names, capability)]


def _titles(names: Sequence[str], last: str = "and") -> str:
    words = [TECHNIQUES.get(n).words() if n in TECHNIQUES else n.replace("_", " ")
             for n in names]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {last} " + words[-1]


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
    if "confusion_matrix" not in m and m.get("pretraining"):  # it guessed words, no classes
        share = m["pretraining"].get("mask_share", 0.15)
        return [f"It guessed {percent(acc)} of the hidden words in {n:,} sentences it never "
                f"saw while training ({percent(share)} of the word pieces hidden). It answers no "
                "question of its own: fine-tune it on labels with its run id in 'Transfer "
                "learning (start from a finished run)'."]
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


HIDDEN_CLASS = 0.25  # a class found this much less often than accuracy says is "hidden"


def class_lines(m: dict[str, Any], techniques: Sequence[str] = ()) -> list[str]:
    """Rare classes, and a class that accuracy hides: one the model mostly fails to find;
    with a word on the techniques that rebalance classes when the run used none."""
    recall, names = m.get("recall_by_class"), m.get("class_names")
    if not recall or not names or len(recall) != len(names):
        return []
    out = []
    counts = m.get("train_class_counts") or []
    if m.get("rare_classes"):
        out.append(f"Classes {', '.join(m['rare_classes'])} were made rare in its training "
                   "data (validation and test kept all of theirs); it found "
                   f"{percent(m['rare_recall'])} of their test examples on average.")
    worst = min(range(len(recall)), key=lambda c: (recall[c], c))
    if recall[worst] <= m["accuracy"] - HIDDEN_CLASS:
        line = (f"Accuracy is {m['accuracy']:.0%}, but the model finds only "
                f"{recall[worst]:.0%} of the test examples of class {names[worst]}")
        if len(counts) == len(names) and counts[worst] * 3 <= max(counts):
            line += (f": it saw only {counts[worst]} of them in training, against "
                     f"{max(counts)} of the most common class."
                     + _rebalance_hint(techniques))
        else:
            line += ": accuracy averages over all examples and hides a class it fails."
        out.append(line)
    return out


def _rebalance_hint(techniques: Sequence[str]) -> str:
    """' Class weights make a rare class count more ...' unless one of them was on."""
    helpers = _providing(REBALANCES_CLASSES, list(TECHNIQUES))
    if not helpers or _providing(REBALANCES_CLASSES, techniques):
        return ""
    words = _titles(helpers, "or")
    return f" {words[:1].upper() + words[1:]} make a rare class count more while the model learns."


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
               f"{_titles(_with('regularises', [c.name for c in all_techniques()]), 'or')} "
               "narrow the gap."]
    elif memorised <= -GAP_OVERFIT and _with("harder_batches", techniques):
        harder = _titles(_with("harder_batches", techniques))
        out = [f"It scored higher on new examples ({percent(val)}) than on its training batches "
               f"({percent(train)}), which {harder} makes harder on purpose: no sign of "
               "overfitting."]
    else:
        out = [f"Training and validation accuracy ended close ({percent(train)} vs "
               f"{percent(val)}): no sign of overfitting."]
    vals = [e["val_accuracy"] for e in epochs if e.get("val_accuracy") is not None]
    if len(vals) >= 3 and vals[-1] - vals[-3] > 0.03 and not _providing(STOPS_EARLY, techniques):
        out.append("Validation accuracy was still rising at the last epoch: more epochs "
                   "would likely help.")
    return out


def effect_words(diff: float, luck: Luck | None = None) -> str:
    """What a change did to accuracy, luck said out loud when it was measured: 'cost 2.7
    points of accuracy, beyond luck (95 % interval ...)' or 'left accuracy the same within
    luck (a 2.7-point difference that chance alone gives)'."""
    if luck is not None and luck.comparable and not luck.beyond:
        if abs(diff) < SAME:
            return "left accuracy about the same (within luck)"
        return (f"{'cost' if diff < 0 else 'added'} {points(diff)} of accuracy, within luck: "
                "equally accurate, a difference chance alone gives")
    if abs(diff) < SAME:
        return "left accuracy about the same"
    said = f"{'cost' if diff < 0 else 'added'} {points(diff)} of accuracy"
    if luck is not None and luck.beyond:
        lo, hi = sorted((abs(luck.low), abs(luck.high)))
        said += f", beyond luck (95 % interval {lo * 100:.1f} to {hi * 100:.1f} points)"
    return said


def _comparison(run, baseline, epochs, baseline_epochs,
                luck: Luck | None = None) -> tuple[list[str], float, list[str]]:
    """Sentences comparing with the baseline, the accuracy difference, the techniques missing
    from the baseline (`luck`: the baseline against this run, measured on their test answers)."""
    m, b = run.metrics, baseline.metrics
    extra = [t for t in run.config.techniques if t not in baseline.config.techniques]
    diff = m["accuracy"] - b["accuracy"]
    effect = effect_words(diff, luck)
    against = (f"({percent(b['accuracy'])} → {percent(m['accuracy'])}, against run {baseline.id}: "
               f"the same settings without {'it' if len(extra) == 1 else 'them'})")
    sentence = f"{_titles(extra).capitalize()} {effect} {against}"
    bought = TECHNIQUES.get(extra[0]).bought(m) if len(extra) == 1 else None
    out = [sentence + (f" and bought {bought}." if bought else ".")]
    t, tb = m.get("train_seconds"), b.get("train_seconds")
    if t and tb and t / tb > 1.5 and t - tb > 1:  # small differences are timing noise
        out.append(f"Training took {t / tb:.1f}× as long ({t:.1f} s vs {tb:.1f} s).")
    regularisers = _with("regularises", extra)
    own, base_gap = gap(epochs), gap(baseline_epochs)
    if regularisers and own is not None and base_gap is not None:
        less = "less" if own < base_gap else "more"
        out.append(f"With {_titles(regularisers)}, training accuracy ended {_side(own)} "
                   f"validation accuracy; without, {_side(base_gap)}: {less} sign of "
                   "memorising.")
    return out, diff, extra


def _side(diff: float) -> str:
    return f"{points(diff)} {'above' if diff >= 0 else 'below'}"


def technique_lines(run, baseline=None, told: Sequence[str] = ()) -> list[str]:
    """Each switched-on technique's own sentences, in the order of the loop (`told`: the
    techniques whose gain the comparison with the baseline already stated)."""
    return [line for cls in all_techniques() if cls.name in run.config.techniques
            for line in cls.story(run, baseline, cls.name in told)]


def story(run, epochs: Sequence[dict] = (), baseline=None,
          baseline_epochs: Sequence[dict] = (), luck: Luck | None = None) -> list[str]:
    """Plain sentences on what a finished run did; [] for runs that have not finished.
    `luck`: the baseline against this run on their test answers (`luck.compare`), so the
    comparison says whether the difference is bigger than luck."""
    if run.status != "finished" or "accuracy" not in run.metrics:
        return []
    out = headline(run.metrics) + class_lines(run.metrics, list(run.config.techniques))
    if run.config.train_fraction < 1:
        out.append(f"It trained on only {run.config.train_fraction:.0%} of the training "
                   "examples.")
    out += fit(epochs, run.config.techniques)
    told: list[str] = []
    extra = [t for t in run.config.techniques if baseline is not None
             and t not in baseline.config.techniques]
    # A technique applied to a copy after training (quantization) leaves the run's own
    # accuracy its baseline's: comparing would say nothing; its own sentence tells it all.
    if extra and set(extra) - set(_with("after_training_only", extra)):
        compared, _, extra = _comparison(run, baseline, epochs, baseline_epochs, luck)
        out += compared
        if len(extra) == 1 and TECHNIQUES.get(extra[0]).bought(run.metrics):
            told = extra
    out += technique_lines(run, baseline, told)
    out += attack_lines(run.metrics)
    changed = [t for t in run.config.techniques if baseline is not None
               and t not in baseline.config.techniques]
    out += shift_words.lines(run, baseline if changed else None,
                             _titles(changed) if changed else "")
    out += fairness_lines(run.metrics)
    return out


def _got(positive: str) -> str:
    return "was approved" if positive == "approved" else f"was predicted “{positive}”"


def fairness_lines(m: dict[str, Any]) -> list[str]:
    """The fairness audit in plain words: who got a yes how often, and who was wrongly
    refused; for more than two classes, accuracy group by group."""
    f = fairness.report(m)
    if not f or not f.get("by_group"):
        return []
    groups = sorted(f["by_group"].items(), key=lambda kv: kv[1].get("selection_rate") or 0)
    if f.get("demographic_parity_difference") is None:
        each = ", ".join(f"{g} {percent(v['accuracy'])}" for g, v in groups)
        return [f"Accuracy group by group ({f['sensitive']}): {each}."]
    positive = f.get("positive", "yes")
    (low, lo), (high, hi) = groups[0], groups[-1]
    rates = ", ".join(f"{g} {percent(v['selection_rate'])}" for g, v in groups[1:])
    out = [f"{low[:1].upper() + low[1:]} {_got(positive)} {percent(lo['selection_rate'])} of "
           f"the time, {rates}: a gap of {points(f['demographic_parity_difference'])} "
           "(the demographic-parity difference; 0 would be parity)."]
    if lo.get("true_positive_rate") is not None and hi.get("true_positive_rate") is not None:
        out.append(f"Of those the past decisions labelled “{positive}”, the model agreed for "
                   f"{percent(lo['true_positive_rate'])} in {low} and "
                   f"{percent(hi['true_positive_rate'])} in {high}; the largest gap in such "
                   f"error rates is {points(f['equalized_odds_difference'] or 0)} (the "
                   "equalized-odds difference).")
    return out


def attack_lines(m: dict[str, Any]) -> list[str]:
    """The two audits in plain words: a privacy attacker, and a small deliberate change."""
    out = []
    if (pa := membership.report(m)) is not None:
        right = 0.5 + pa["advantage"] / 2  # the attack's best threshold, balanced records
        line = (f"An attacker guessing who was in the training data was right {right:.0%} of "
                f"the time; a coin toss is 50%.")
        if (bound := pa.get("dp_bound")) is not None:
            line += (" The privacy budget caps what any attacker could do, and this attack "
                     + ("stayed under that cap." if bound["holds"] else "went over it, which "
                        "should not happen: please report it."))
        out.append(line)
    if (rob := robustness.report(m)) is not None:
        out.append(f"Moving each {rob.get('moves', 'pixel')} by at most "
                   f"{rob['strength']:g} on purpose (the PGD attack), it got "
                   f"{rob['pgd']['accuracy']:.0%} of the attacked examples right, against "
                   f"{rob['clean_accuracy']:.0%} untouched.")
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
    if baseline is None:
        return story(run, epochs)
    measured = luck_test.compare(store, baseline, run)  # cached per pair of runs
    return story(run, epochs, baseline, store.epochs(baseline.id), measured)
