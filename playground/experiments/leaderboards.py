"""A workshop's leaderboards: the best run per person on each board."""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from playground.common.formatting import human_bytes
from playground.experiments.workshop import Boards
from playground.results.shipped import shipped
from playground.runs.store import Run

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
    """Best finished run per person on each board; `dataset` keeps only runs on it."""
    done = [r for r in runs if r.status == "finished" and "accuracy" in r.metrics
            and (dataset is None or r.config.dataset == dataset)]
    eps, acc_min = boards.epsilon_max, boards.accuracy_min
    good = [r for r in done if _accuracy(r) >= acc_min]
    private = [r for r in done if r.metrics.get("epsilon") is not None
               and r.metrics["epsilon"] <= eps]
    return [
        Board("accuracy", "Most accurate",
              "Share of the test examples answered correctly (the model as shipped).",
              _best_per_owner(done, _accuracy, True, lambda v: f"{v:.1%}",
                              limit)),
        Board("private", f"Most accurate with privacy ε ≤ {eps:g}",
              "Only runs trained with privacy noise (DP-SGD) whose privacy budget ε is at "
              f"most {eps:g}. Smaller ε is stronger privacy.",
              _best_per_owner(private, _accuracy, True,
                              lambda v: f"{v:.1%}", limit)),
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
