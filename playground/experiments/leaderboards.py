"""A workshop's leaderboards: the best run per person on each board. The boards are
accuracy, size and speed, plus one per metric the registry gives a bound (ε, ...).

Honest by construction: a run no better than guessing the commonest class (a one-sided
binomial test on its test examples, at 1 %) is not ranked anywhere; a private run counts on
a privacy board only with the workshop's δ or a smaller one (never a δ a participant picked
to buy a smaller ε), and the board shows ε and δ; each board has one score column, named;
equal scores go to whoever got there first; people the presenter removed are marked."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from scipy.stats import binomtest

from playground.common.formatting import human_bytes
from playground.common.metric_registry import LOWER, limited_metrics
from playground.experiments.workshop import REMOVED, Boards, Workspace, training_examples
from playground.results.shipped import shipped
from playground.runs.store import Run
from playground.training.capabilities import PRIVACY_GUARANTEE
from playground.training.metrics import ACCURACY
from playground.training.techniques import TECHNIQUES, technique_class
from playground.training.techniques.dp import DELTA, EPSILON

# How sure a run must be to beat guessing before it is ranked (one-sided binomial test).
CHANCE_P = 0.01

# -- leaderboards --------------------------------------------------------------------------


@dataclass
class Entry:
    owner: str  # the name shown (without the removed mark)
    run_id: str
    label: str  # the run in words
    value: float
    shown: str  # the value in words, e.g. "97.2%" or "31.5 KB"
    accuracy: float
    finished: float = 0.0  # ties go to the earlier run
    removed: bool = False  # the presenter removed this person
    epsilon: float | None = None  # privacy boards: the run's ε and δ
    delta: float | None = None

    @property
    def who(self) -> str:
        return self.owner + (REMOVED if self.removed else "")


@dataclass
class Board:
    key: str
    title: str
    help: str
    entries: list[Entry]
    score: str = "Accuracy"  # the one score column's name
    privacy: bool = False  # its rows show ε and δ too
    left_out: list[str] = field(default_factory=list)  # why runs were not ranked, in words

    def rows(self, me: str | None = None) -> list[dict[str, Any]]:
        """The board as table rows: place, who (marked when removed, or "← you"), the run
        in words, the score under the board's own column name; ε and δ on a privacy
        board. Names are as typed: escape them for Markdown or HTML."""
        out = []
        for place, e in enumerate(self.entries, 1):
            row: dict[str, Any] = {"#": place,
                                   "who": e.who + ("  ← you" if me and e.owner == me else ""),
                                   "run": e.label, self.score: e.shown}
            if self.privacy:
                row[EPSILON.column] = EPSILON.format(e.epsilon)
                row["δ"] = DELTA.format(e.delta)
            out.append(row)
        return out


def _accuracy(run: Run) -> float:
    return float(shipped(run).accuracy)


def _bytes(run: Run) -> float:
    return float(shipped(run).size_bytes or 0)


def _latency(run: Run) -> float:
    return float(shipped(run).latency_ms or 0)


def chance_level(run: Run) -> tuple[float, int] | None:
    """What always answering the commonest test class scores, and on how many examples
    (from the run's confusion matrix; None when it has none)."""
    matrix = (run.metrics or {}).get("confusion_matrix")
    if not matrix:
        return None
    counts = [sum(row) for row in matrix]
    n = sum(counts)
    return (max(counts) / n, n) if n else None


def beats_chance(run: Run, p: float = CHANCE_P) -> bool:
    """The run's accuracy is better than guessing the commonest class, by more than luck
    on its test examples (one-sided binomial test at `p`)."""
    chance = chance_level(run)
    if chance is None:
        return True  # nothing to judge by
    share, n = chance
    correct = round(_accuracy(run) * n)
    return binomtest(correct, n, share, alternative="greater").pvalue < p


def honest_privacy(run: Run, boards: Boards) -> bool:
    """The run's δ is the workshop's for its data, or smaller."""
    delta = DELTA.number(run.metrics)
    if delta is None:
        return False
    try:
        allowed = boards.delta(training_examples(run.config))
    except (OSError, ValueError, KeyError):  # its data is gone: nothing to check it by
        return False
    return delta <= allowed * (1 + 1e-9)


def _privacy_metric(metric) -> bool:
    """A bound on what a privacy technique reports (ε): its runs must show their δ too."""
    return (metric.producer in TECHNIQUES
            and PRIVACY_GUARANTEE in technique_class(metric.producer).provides)


def _removed_by_mark(run: Run) -> bool:
    return bool(run.owner) and run.owner.endswith(REMOVED)


def _best_per_owner(runs: list[Run], value, reverse: bool, shown, limit: int,
                    removed: Callable[[Run], bool]) -> list[Entry]:
    best: dict[str, Entry] = {}
    for run in sorted(runs, key=lambda r: r.finished or r.created):  # earlier first
        v = value(run)
        if v is None:
            continue
        gone = removed(run)
        owner = run.owner or "(no name)"
        if gone and owner.endswith(REMOVED):
            owner = owner[: -len(REMOVED)]
        e = Entry(owner, run.id, run.config.label(), v, shown(v), _accuracy(run),
                  run.finished or run.created, gone, EPSILON.number(run.metrics),
                  DELTA.number(run.metrics))
        key = run.owner_key or run.id
        old = best.get(key)
        if old is None or (v > old.value if reverse else v < old.value):  # ties: the first
            best[key] = e
    return sorted(best.values(), key=lambda e: (-e.value if reverse else e.value,
                                                e.finished))[:limit]


def leaderboards(runs: list[Run], boards: Boards, dataset: str | None = None,
                 limit: int = 10, ws: Workspace | None = None) -> list[Board]:
    """Best finished run per person on each board; `dataset` keeps only runs on it. Besides
    accuracy, size and speed, one board per bounded metric in the registry (ε, ...): the
    most accurate runs within the presenter's bound, keyed by the metric's key. Runs no
    better than chance are on no board; `ws` says who was removed (else the removed mark
    on the run's owner)."""
    removed = ws.is_removed if ws is not None else _removed_by_mark
    finished = [r for r in runs if r.status == "finished"
                and ACCURACY.value(r.metrics) is not None
                and (dataset is None or r.config.dataset == dataset)]
    done = [r for r in finished if beats_chance(r)]
    guessing = len(finished) - len(done)
    chance_note = ([f"{guessing} run{'s' * (guessing != 1)} no better than guessing left out"]
                   if guessing else [])
    acc_min = boards.accuracy_min
    good = [r for r in done if _accuracy(r) >= acc_min]
    best = partial(_best_per_owner, limit=limit, removed=removed)
    percent = lambda v: f"{v:.1%}"  # noqa: E731
    out = [Board("accuracy", "Most accurate",
                 "Share of the test examples answered correctly (the model as shipped). Runs "
                 "no better than always guessing the commonest answer are not ranked.",
                 best(done, _accuracy, True, percent), "Accuracy", left_out=chance_note)]
    for metric in limited_metrics():
        bound = boards.limit(metric)
        within = [r for r in done if (v := metric.number(r.metrics)) is not None
                  and metric.within(v, bound)]
        privacy = _privacy_metric(metric)
        honest = [r for r in within if honest_privacy(r, boards)] if privacy else within
        dishonest = len(within) - len(honest)
        words = (f"Only runs that report {_lower(metric.label)}, "
                 f"{'at most' if metric.better == LOWER else 'at least'} {bound:g}. "
                 + metric.help)
        if privacy:
            words += (" Every private run here uses the workshop's δ (the chance the "
                      "guarantee fails), set from the size of the data, so ε compares fairly.")
        out.append(Board(metric.key, f"Most accurate with {_lower(metric.label)} "
                                     f"{metric.bound(bound)}", words,
                         best(honest, _accuracy, True, percent), "Accuracy", privacy,
                         [f"{dishonest} run{'s' * (dishonest != 1)} with a larger δ than the "
                          "workshop's left out"] if dishonest else []))
    out += [
        Board("smallest", f"Smallest model above {acc_min:.0%} accuracy",
              "Bytes of the weights one would ship (after quantization, if used), among "
              f"runs with at least {acc_min:.0%} accuracy.",
              best(good, _bytes, False, partial(human_bytes, unit="KB")), "Size"),
        Board("fastest", f"Fastest answers above {acc_min:.0%} accuracy",
              "Median time to answer one example, among runs with at least "
              f"{acc_min:.0%} accuracy.",
              best(good, _latency, False, lambda v: f"{v:.3f} ms"), "Time per answer"),
    ]
    return out


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]
