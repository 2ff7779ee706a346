"""A workshop's leaderboards: the best run per person on each board. The boards are
accuracy, size and speed, plus one per metric the registry gives a bound (ε, ...)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from playground.common.formatting import human_bytes
from playground.common.metric_registry import LOWER, limited_metrics
from playground.experiments.workshop import Boards
from playground.results.shipped import shipped
from playground.runs.store import Run
from playground.training.metrics import ACCURACY

# -- leaderboards --------------------------------------------------------------------------


@dataclass
class Entry:
    owner: str
    run_id: str
    label: str
    value: float
    shown: str  # the value in words, e.g. "97.2%" or "31.5 KB"
    accuracy: float


@dataclass
class Board:
    key: str
    title: str
    help: str
    entries: list[Entry]


def _accuracy(run: Run) -> float:
    return float(shipped(run).accuracy)


def _bytes(run: Run) -> float:
    return float(shipped(run).size_bytes or 0)


def _latency(run: Run) -> float:
    return float(shipped(run).latency_ms or 0)


def _best_per_owner(runs: list[Run], value, reverse: bool, shown, limit: int) -> list[Entry]:
    best: dict[str, Entry] = {}
    for run in runs:
        v = value(run)
        if v is None:
            continue
        e = Entry(run.owner or "(no name)", run.id, run.config.label(), v, shown(v),
                  _accuracy(run))
        old = best.get(e.owner)
        if old is None or (v > old.value if reverse else v < old.value):
            best[e.owner] = e
    return sorted(best.values(), key=lambda e: (-e.value if reverse else e.value,
                                                -e.accuracy))[:limit]


def leaderboards(runs: list[Run], boards: Boards, dataset: str | None = None,
                 limit: int = 10) -> list[Board]:
    """Best finished run per person on each board; `dataset` keeps only runs on it. Besides
    accuracy, size and speed, one board per bounded metric in the registry (ε, ...): the
    most accurate runs within the presenter's bound, keyed by the metric's key."""
    done = [r for r in runs if r.status == "finished" and ACCURACY.value(r.metrics) is not None
            and (dataset is None or r.config.dataset == dataset)]
    acc_min = boards.accuracy_min
    good = [r for r in done if _accuracy(r) >= acc_min]
    out = [Board("accuracy", "Most accurate",
                 "Share of the test examples answered correctly (the model as shipped).",
                 _best_per_owner(done, _accuracy, True, lambda v: f"{v:.1%}", limit))]
    for metric in limited_metrics():
        bound = boards.limit(metric)
        within = [r for r in done if (v := metric.number(r.metrics)) is not None
                  and metric.within(v, bound)]
        out.append(Board(metric.key, f"Most accurate with {_lower(metric.label)} "
                                     f"{metric.bound(bound)}",
                         f"Only runs that report {_lower(metric.label)}, "
                         f"{'at most' if metric.better == LOWER else 'at least'} {bound:g}. "
                         + metric.help,
                         _best_per_owner(within, _accuracy, True, lambda v: f"{v:.1%}",
                                         limit)))
    out += [
        Board("smallest", f"Smallest model above {acc_min:.0%} accuracy",
              "Bytes of the weights one would ship (after quantization, if used), among "
              f"runs with at least {acc_min:.0%} accuracy.",
              _best_per_owner(good, _bytes, False,
                              partial(human_bytes, unit="KB"), limit)),
        Board("fastest", f"Fastest answers above {acc_min:.0%} accuracy",
              "Median time to answer one example, among runs with at least "
              f"{acc_min:.0%} accuracy.",
              _best_per_owner(good, _latency, False,
                              lambda v: f"{v:.3f} ms", limit)),
    ]
    return out


def _lower(label: str) -> str:
    return label[:1].lower() + label[1:]
