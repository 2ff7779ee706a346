"""Is a difference in accuracy bigger than luck? Measured on the runs' own test answers.

Two runs scored on the same test examples are compared pair by pair: McNemar's exact test
(SciPy's binomial test on the examples exactly one of the two got right) and a paired
bootstrap interval of the accuracy difference. Runs on the same data split differently (another
seed) are two independent samples: Fisher's exact test and an unpaired bootstrap. Runs on
different data cannot be compared. The stored test answers are the decisions each run makes
(with its decision rule), so a fairness threshold is counted as the run applies it.

A result is cached per pair of runs (finished runs never change; the files are small), so
narratives that poll every second pay for it once.
"""
from __future__ import annotations

import functools
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np
from safetensors.numpy import load_file
from scipy.stats import binomtest, fisher_exact

from playground.common.formatting import percent, points
from playground.common.paths import PREDICTIONS_FILE

LEVEL = 0.05  # a difference is "beyond luck" when chance alone would give it < 5 % of the time
RESAMPLES = 4000
_SEED = 0  # the bootstrap is seeded: the same two runs always get the same interval


@dataclass(frozen=True)
class Luck:
    """The accuracy difference of run b against run a (b minus a) and whether it is bigger
    than luck. `paired`: scored on the same test examples; `comparable` False says why not
    in `reason`."""

    a: str
    b: str
    comparable: bool
    reason: str = ""
    paired: bool = False
    accuracy_a: float | None = None
    accuracy_b: float | None = None
    diff: float | None = None  # b minus a, as a share
    low: float | None = None  # 95 % interval of diff
    high: float | None = None
    p_value: float | None = None
    only_a: int = 0  # paired: examples a got right and b wrong
    only_b: int = 0  # paired: examples b got right and a wrong
    examples: int = 0

    @property
    def beyond(self) -> bool:
        """The difference is bigger than luck: the test and the interval agree on it."""
        return (self.comparable and self.p_value is not None and self.p_value < LEVEL
                and self.low is not None and self.high is not None
                and (self.low > 0 or self.high < 0))

    def words(self) -> str:
        """'within luck' / 'beyond luck' / 'not comparable'."""
        if not self.comparable:
            return "not comparable"
        return "beyond luck" if self.beyond else "within luck"

    def interval(self) -> str:
        """'95 % interval +1.1 to +4.3 points' (signed, b minus a)."""
        return (f"95 % interval {self.low * 100:+.1f} to {self.high * 100:+.1f} points"
                if self.low is not None else "")

    def lead(self) -> tuple[bool, float, float]:
        """(b is ahead, low, high): the 95 % interval of the leading run's accuracy minus the
        other's, the same difference the gap is told as, so the gap lies inside it."""
        b_ahead = self.diff >= 0
        low, high = (self.low, self.high) if b_ahead else (-self.high, -self.low)
        return b_ahead, low, high

    def verdict(self, a_name: str | None = None, b_name: str | None = None) -> str:
        """One plain sentence, the verdict first: 'beyond luck: B is more accurate, by 2.7
        points (95 % interval 1.1 to 4.3)' or 'within luck: equally accurate (B is ahead of A
        by 1.7 points; the 95 % interval of that gap, -1.0 to +4.3 points, includes no
        difference at all)'."""
        if a_name is None and self.accuracy_a is not None:
            a_name = f"run {self.a} ({percent(self.accuracy_a)})"
        if b_name is None and self.accuracy_b is not None:
            b_name = f"run {self.b} ({percent(self.accuracy_b)})"
        a_name, b_name = a_name or f"run {self.a}", b_name or f"run {self.b}"
        if not self.comparable:
            return f"{a_name} and {b_name} cannot be compared: {self.reason}."
        split = "" if self.paired else "; they were tested on different examples of the same data"
        b_ahead, lo, hi = self.lead()
        ahead, behind = (b_name, a_name) if b_ahead else (a_name, b_name)
        if self.beyond:
            return (f"beyond luck: {ahead} is more accurate than {behind}, by "
                    f"{points(self.diff)} (95 % interval {lo * 100:.1f} to {hi * 100:.1f} "
                    f"points{split})")
        if self.diff == 0:
            gap = (f"{a_name} and {b_name} got the same share right; the 95 % "
                   f"interval of the difference is {lo * 100:+.1f} to {hi * 100:+.1f} points")
        else:
            gap = (f"{ahead} is ahead of {behind} by {points(self.diff)}, but the 95 % interval "
                   f"of that gap, {lo * 100:+.1f} to {hi * 100:+.1f} points, includes no "
                   "difference at all")
        return f"within luck: equally accurate ({gap}: chance alone gives it{split})"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "beyond_luck": self.beyond, "verdict": self.verdict()}


def _interval(diffs: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float(low), float(high)


def paired(a: str, b: str, right_a: np.ndarray, right_b: np.ndarray) -> Luck:
    """Two runs' right/wrong answers on the same test examples (booleans, same order)."""
    right_a, right_b = np.asarray(right_a, bool), np.asarray(right_b, bool)
    n = len(right_a)
    only_a = int(np.sum(right_a & ~right_b))
    only_b = int(np.sum(right_b & ~right_a))
    discordant = only_a + only_b
    p = binomtest(only_b, discordant, 0.5).pvalue if discordant else 1.0
    # Resampling examples only moves the counts of the three kinds of example (a alone right,
    # b alone right, both alike): draw those counts directly, the same bootstrap in one call.
    rng = np.random.default_rng(_SEED)
    counts = rng.multinomial(n, [only_a / n, only_b / n, 1 - discordant / n], size=RESAMPLES)
    low, high = _interval((counts[:, 1] - counts[:, 0]) / n)
    return Luck(a, b, True, paired=True, accuracy_a=float(right_a.mean()),
                accuracy_b=float(right_b.mean()), diff=(only_b - only_a) / n, low=low,
                high=high, p_value=float(p), only_a=only_a, only_b=only_b, examples=n)


def unpaired(a: str, b: str, right_a: np.ndarray, right_b: np.ndarray) -> Luck:
    """Two runs' right/wrong answers on different test examples of the same data."""
    right_a, right_b = np.asarray(right_a, bool), np.asarray(right_b, bool)
    na, nb = len(right_a), len(right_b)
    ka, kb = int(right_a.sum()), int(right_b.sum())
    p = fisher_exact([[ka, na - ka], [kb, nb - kb]]).pvalue
    rng = np.random.default_rng(_SEED)
    diffs = rng.binomial(nb, kb / nb, RESAMPLES) / nb - rng.binomial(na, ka / na, RESAMPLES) / na
    low, high = _interval(diffs)
    return Luck(a, b, True, paired=False, accuracy_a=ka / na, accuracy_b=kb / nb,
                diff=kb / nb - ka / na, low=low, high=high, p_value=float(p),
                examples=min(na, nb))


def _test_set(config) -> tuple:
    """What decides a run's test examples: the data, its split (the seed), its classes."""
    return (config.dataset, config.seed, config.noise, getattr(config, "classes", ""))


def _not(run_a, run_b, reason: str) -> Luck:
    return Luck(run_a.id, run_b.id, False, reason=reason)


@functools.lru_cache(maxsize=1024)
def _measured(file_a: str, file_b: str, stamp: tuple, same_split: bool) -> tuple:
    """(kind, right_a, right_b) from two predictions files; `stamp` holds their change times,
    so a file written again is read again."""
    pa, pb = load_file(file_a), load_file(file_b)
    right_a = pa["y_true"] == pa["y_pred"]
    right_b = pb["y_true"] == pb["y_pred"]
    if same_split and np.array_equal(pa["y_true"], pb["y_true"]):
        return "paired", right_a, right_b
    return "unpaired", right_a, right_b


def compare(store, run_a, run_b) -> Luck:
    """Run b against run a: whether their accuracy difference is bigger than luck."""
    if run_a.status != "finished" or run_b.status != "finished":
        return _not(run_a, run_b, "only finished runs have test answers")
    if run_a.config.dataset != run_b.config.dataset:
        return _not(run_a, run_b, f"they were tested on different data ({run_a.config.dataset} "
                                  f"and {run_b.config.dataset})")
    if (run_a.metrics or {}).get("class_names") != (run_b.metrics or {}).get("class_names"):
        return _not(run_a, run_b, "they were tested on different classes of the data")
    files = [store.artifact_dir(r.id) / PREDICTIONS_FILE for r in (run_a, run_b)]
    if not all(f.exists() for f in files):
        return _not(run_a, run_b, "the test answers of one of them were not kept")
    same = _test_set(run_a.config) == _test_set(run_b.config)
    stamp = tuple(f.stat().st_mtime_ns for f in files)
    kind, right_a, right_b = _measured(str(files[0]), str(files[1]), stamp, same)
    return (paired if kind == "paired" else unpaired)(run_a.id, run_b.id, right_a, right_b)


def compare_all(store, runs: Sequence) -> list[Luck]:
    """Every pair among `runs`, each later run against each earlier one in the list."""
    return [compare(store, a, b) for i, a in enumerate(runs) for b in runs[i + 1:]]


# -- the seed band of a sweep ---------------------------------------------------------


@dataclass(frozen=True)
class SeedBand:
    """The spread of accuracy across seeds of the same settings: how much luck alone moves it."""

    low: float
    high: float
    seeds: int

    @property
    def width(self) -> float:
        return self.high - self.low

    def words(self) -> str:
        return (f"the same settings with {self.seeds} different seeds scored "
                f"{percent(self.low)} to {percent(self.high)}: differences inside that band "
                "are luck")


def seed_band(accuracies: Sequence[float]) -> SeedBand | None:
    """The band of accuracies of runs that differ only by seed (None under two seeds)."""
    values = [float(a) for a in accuracies if a is not None]
    if len(values) < 2:
        return None
    return SeedBand(min(values), max(values), len(values))


def within_band(diff: float, band: SeedBand | None) -> bool | None:
    """A difference no larger than the seed band's width is within luck (None: no band)."""
    return None if band is None else abs(diff) <= band.width
