"""Has the world moved? A new batch of rows against the rows a run was trained on.

Per column, a two-sample test (SciPy): Kolmogorov-Smirnov for numbers (any change in the
distribution: its middle, its spread, its tails), chi-squared on the category counts for
categories (values never seen before count as categories of their own). Overall, a
classifier two-sample test (Lopez-Paz and Oquab, 2017): as many old rows as new are drawn,
a small gradient-boosted tree model learns to tell them apart under 5-fold cross-validation,
and its held-out accuracy is set against chance (50 %) with an exact binomial test. Under no
drift the cross-validated accuracy sits at or a little below chance, so that test errs on
the side of silence.

All the p-values (one per column, plus the classifier's) are corrected together with Holm's
step-down method, so the chance that a batch drawn like the training rows is called
"drifted" at all is at most `LEVEL` (5 %), however many columns the table has. Holm rather
than Bonferroni: it keeps the same guarantee and misses fewer real moves.

Why SciPy and not a drift library: resolved against our pins (pip's dry run), alibi-detect
0.13 would take numpy back to 1.26, pandas to 2.3 and transformers to 4.57; Evidently 0.7
installs beside them but brings 33 packages (a web server, plotting, NLTK, statsmodels, a
telemetry client) to run these same SciPy tests. SciPy is already a direct need.

Columns are tested by kind (`COLUMN_TESTS`: number, and the category kinds of
`playground.data.columns`); a later kind of column plugs in with its own test.
"""
from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
from scipy.stats import binomtest, chi2_contingency, ks_2samp

from playground.common.formatting import percent
from playground.data.columns import Column, Schema
from playground.data.uploads.folder import file_kind
from playground.data.uploads.limits import UploadError, _listing
from playground.data.uploads.tables import read_table

LEVEL = 0.05  # the chance of a false alarm on a whole batch, after Holm's correction
MAX_PER_SIDE = 2000  # rows per side in the classifier test (enough to see a real move)
FOLDS = 5
MIN_ROWS = 10  # fewer new rows than this: too few to test anything
MISSING = "(missing)"
NOT_NUMBERS_ALLOWED = 0.05  # like uploads: a few stray texts in a number column are missing

Formatter = Callable[[str, float], str]


@dataclass
class ColumnShift:
    """One column's test: did its values move between the old rows and the new?"""

    name: str
    kind: str  # "number" or "category"
    test: str  # the test, in words
    statistic: float
    p_value: float
    p_holm: float = 1.0  # after Holm's correction over every test of the batch
    old: str = ""  # the old rows in a few words ("average 42,000")
    new: str = ""
    direction: str = ""  # what changed, in words ("higher on average")
    unseen: list[str] = field(default_factory=list)  # categories training never had

    @property
    def moved(self) -> bool:
        return self.p_holm < LEVEL

    def sentence(self) -> str:
        """'income moved: new rows are higher on average, 52,000 against 42,000; beyond
        luck' or 'income: no sign of a move (average 42,300 against 42,000); within luck'."""
        unseen = (f"; values never seen in training: {', '.join(self.unseen[:5])}"
                  if self.unseen else "")
        if self.moved:
            return (f"{self.name} moved: new rows {self.direction}, {self.new} against "
                    f"{self.old}{unseen}; beyond luck")
        return (f"{self.name}: no sign of a move ({self.new} against {self.old}{unseen}); "
                "within luck")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "moved": self.moved, "sentence": self.sentence()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ColumnShift":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class ClassifierCheck:
    """Can a model tell the new rows from the old? Its held-out accuracy against chance."""

    rows: int  # held-out answers scored (half old, half new)
    correct: int
    p_value: float
    p_holm: float = 1.0

    @property
    def accuracy(self) -> float:
        return self.correct / self.rows if self.rows else 0.5

    @property
    def moved(self) -> bool:
        return self.p_holm < LEVEL

    def sentence(self) -> str:
        told = (f"a model told new rows from old {percent(self.accuracy)} of the time "
                f"(chance is 50.0%, {self.rows:,} rows held out)")
        return (f"Together the columns moved: {told}; beyond luck" if self.moved else
                f"Taken together the columns look alike: {told}; within luck")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "accuracy": self.accuracy, "moved": self.moved,
                "sentence": self.sentence()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ClassifierCheck":
        return cls(int(d["rows"]), int(d["correct"]), float(d["p_value"]),
                   float(d["p_holm"]))


@dataclass
class DriftReport:
    """Every test of one batch against the old rows, corrected together."""

    old_rows: int
    new_rows: int
    columns: list[ColumnShift]
    classifier: ClassifierCheck | None
    notes: list[str] = field(default_factory=list)
    level: float = LEVEL
    correction: str = "Holm"

    @property
    def moved(self) -> list[ColumnShift]:
        return [c for c in self.columns if c.moved]

    @property
    def drifted(self) -> bool:
        return bool(self.moved) or (self.classifier is not None and self.classifier.moved)

    def verdict(self) -> str:
        """The answer first, in one sentence."""
        if not self.drifted:
            small = (f" With only {self.new_rows:,} new rows, only large moves would show."
                     if self.new_rows < 100 else "")
            return (f"No drift found: the {self.new_rows:,} new rows look like the "
                    f"{self.old_rows:,} rows the run was trained on.{small}")
        names = [c.name for c in self.moved]
        where = (f"{_and(names)} moved" if names else
                 "no single column moved enough on its own, but together they did")
        return (f"Drift: the {self.new_rows:,} new rows differ from the {self.old_rows:,} rows "
                f"the run was trained on; {where}.")

    def method(self) -> str:
        """How it was decided, for the small print."""
        return (f"{len(self.columns)} columns tested one by one and a model asked to tell new "
                f"rows from old, all corrected together ({self.correction}'s method), so a "
                f"batch drawn like the training rows is called drifted at most "
                f"{percent(self.level)} of the time.")

    def to_json(self) -> dict[str, Any]:
        return {"old_rows": self.old_rows, "new_rows": self.new_rows,
                "drifted": self.drifted, "verdict": self.verdict(), "method": self.method(),
                "columns": [c.to_json() for c in self.columns],
                "classifier": None if self.classifier is None else self.classifier.to_json(),
                "notes": list(self.notes), "level": self.level, "correction": self.correction}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "DriftReport":
        return cls(int(d["old_rows"]), int(d["new_rows"]),
                   [ColumnShift.from_json(c) for c in d["columns"]],
                   None if d.get("classifier") is None
                   else ClassifierCheck.from_json(d["classifier"]),
                   list(d.get("notes", [])), float(d.get("level", LEVEL)),
                   str(d.get("correction", "Holm")))


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


# -- reading a batch -------------------------------------------------------------------------


def read_batch(data: bytes, filename: str, schema: Schema, target: str | None = None):
    """The new batch as a DataFrame of strings, and notes. Raises UploadError naming the
    problem and the fix: not a CSV, empty, or without the columns the run was trained on."""
    if file_kind(data, filename) != "csv":
        raise UploadError(f"{filename} is a ZIP archive; a new batch is checked for tables "
                          "only. Fix: upload the new rows as a CSV with the same columns.")
    frame, notes = read_table(data, filename)
    missing = [c for c in schema.names if c not in frame.columns]
    if missing:
        hints = [f"'{m}' (is '{close[0]}' it?)" if (close := difflib.get_close_matches(
            m, list(frame.columns), n=1)) else f"'{m}'" for m in missing]
        raise UploadError(
            f"{filename} lacks {len(missing)} of the columns the run was trained on: "
            f"{', '.join(hints[:8])}. Fix: upload rows with the same columns as the original "
            f"table ({_listing(schema.names)}); names are case-sensitive.")
    extra = [c for c in frame.columns if c not in schema.names and c != target]
    if extra:
        notes.append(f"Columns the run does not use were left out: {_listing(extra)}.")
    return frame, notes


def typed(frame, column: Column) -> np.ndarray:
    """A column's values: floats (NaN for missing) for numbers, words for categories."""
    import pandas as pd

    raw = frame[column.name].astype("string").str.strip().replace("", pd.NA)
    if column.kind != "number":
        return raw.fillna(MISSING).to_numpy(dtype=str)
    numbers = pd.to_numeric(raw, errors="coerce")
    odd = raw.notna() & numbers.isna()
    if odd.sum() > NOT_NUMBERS_ALLOWED * max(1, int(raw.notna().sum())):
        shown = ", ".join(repr(v) for v in sorted(set(raw[odd]))[:3])
        raise UploadError(f"'{column.name}' should hold numbers, but {int(odd.sum())} of its "
                          f"values are not ({shown}). Fix: write plain numbers such as 42000 "
                          "(no currency signs or units), as in the original table.")
    return numbers.to_numpy(dtype=np.float64)


# -- the tests ---------------------------------------------------------------------------


def _plain(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _numbers(column: Column, old: np.ndarray, new: np.ndarray,
             fmt: Formatter) -> ColumnShift:
    a, b = old[~np.isnan(old)], new[~np.isnan(new)]
    if len(a) == 0 or len(b) == 0:
        return ColumnShift(column.name, "number", "Kolmogorov-Smirnov", 0.0, 1.0,
                           old="no values", new="no values", direction="")
    result = ks_2samp(a, b)
    ma, mb = float(np.mean(a)), float(np.mean(b))
    qa, qb = np.percentile(a, [25, 75]), np.percentile(b, [25, 75])
    spread_a, spread_b = float(qa[1] - qa[0]), float(qb[1] - qb[0])
    mean_gap = abs(mb - ma) / (float(np.std(a)) or 1.0)
    spread_gap = abs(np.log((spread_b or 1e-12) / (spread_a or 1e-12)))
    if mean_gap >= 0.5 * spread_gap or spread_a == spread_b:
        direction = "are higher on average" if mb > ma else "are lower on average"
        return ColumnShift(column.name, "number", "Kolmogorov-Smirnov",
                           float(result.statistic), float(result.pvalue),
                           old=fmt(column.name, ma), new=fmt(column.name, mb),
                           direction=direction)
    direction = "spread wider" if spread_b > spread_a else "sit closer together"
    middle = lambda q: f"middle half {fmt(column.name, q[0])} to {fmt(column.name, q[1])}"  # noqa: E731
    return ColumnShift(column.name, "number", "Kolmogorov-Smirnov", float(result.statistic),
                       float(result.pvalue), old=middle(qa), new=middle(qb),
                       direction=direction)


def _categories(column: Column, old: np.ndarray, new: np.ndarray,
                fmt: Formatter) -> ColumnShift:
    values = list(dict.fromkeys([*column.categories, *np.unique(old), *np.unique(new)]))
    counts = np.array([[int(np.sum(side == v)) for v in values] for side in (old, new)])
    keep = counts.sum(0) > 0
    values = [v for v, k in zip(values, keep, strict=True) if k]
    counts = counts[:, keep]
    unseen = [v for v in values if v not in set(np.unique(old))]
    if len(values) < 2 or counts[0].sum() == 0 or counts[1].sum() == 0:
        statistic, p = 0.0, 1.0
    else:
        result = chi2_contingency(counts, correction=False)
        statistic, p = float(result.statistic), float(result.pvalue)
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    i = int(np.argmax(np.abs(shares[1] - shares[0])))
    value = values[i]
    direction = (f"hold '{value}' more often" if shares[1, i] > shares[0, i]
                 else f"hold '{value}' less often")
    return ColumnShift(column.name, "category", "chi-squared on the category counts",
                       statistic, p, old=f"{percent(shares[0, i])} '{value}'",
                       new=f"{percent(shares[1, i])} '{value}'", direction=direction,
                       unseen=[str(v) for v in unseen])


# The test for each kind of column; a new kind (say, free text) brings its own.
COLUMN_TESTS: dict[str, Callable[..., ColumnShift]] = {
    "number": _numbers, "binary": _categories, "one_hot": _categories, "codes": _categories,
}


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjusted p-values: reject where adjusted < level keeps the chance of
    any false rejection at most `level`."""
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    order = np.argsort(p)
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return adjusted


def _encoded(columns: list[Column], old: dict, new: dict) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as numbers for the classifier: numbers as they are (missing ones: the old
    median), categories as codes over every value either side holds."""
    blocks_old, blocks_new = [], []
    for c in columns:
        a, b = old[c.name], new[c.name]
        if c.kind == "number":
            fill = float(np.nanmedian(a)) if np.any(~np.isnan(a)) else 0.0
            blocks_old.append(np.where(np.isnan(a), fill, a))
            blocks_new.append(np.where(np.isnan(b), fill, b))
        else:
            codes = {v: i for i, v in enumerate(sorted(set(a) | set(b)))}
            blocks_old.append(np.array([codes[v] for v in a], dtype=np.float64))
            blocks_new.append(np.array([codes[v] for v in b], dtype=np.float64))
    return np.stack(blocks_old, 1), np.stack(blocks_new, 1)


def classifier_test(A: np.ndarray, B: np.ndarray, seed: int = 0) -> ClassifierCheck:
    """Can a model tell rows of A from rows of B? As many of each are drawn (so chance is
    50 %), the model is scored on rows it did not learn from (5-fold), and the count it got
    right goes to an exact one-sided binomial test against one half."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    m = min(len(A), len(B), MAX_PER_SIDE)
    X = np.concatenate([A[rng.choice(len(A), m, replace=False)],
                        B[rng.choice(len(B), m, replace=False)]])
    y = np.repeat([0, 1], m)
    model = HistGradientBoostingClassifier(max_iter=50, max_depth=3, learning_rate=0.1,
                                           early_stopping=False, random_state=seed)
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    with threadpool_limits(1):  # many OpenMP threads on a busy machine are 10 times slower
        predicted = cross_val_predict(model, X, y, cv=folds)
    correct = int(np.sum(predicted == y))
    p = binomtest(correct, 2 * m, 0.5, alternative="greater").pvalue
    return ClassifierCheck(2 * m, correct, float(p))


def compare(old, new, schema: Schema, fmt: Formatter | None = None, seed: int = 0,
            notes: list[str] | None = None) -> DriftReport:
    """Test the batch `new` against the rows `old` (DataFrames with the schema's columns, in
    the person's units: numbers, or category words), every test corrected together."""
    fmt = fmt or (lambda _name, value: _plain(value))
    notes = list(notes or [])
    columns = [c for c in schema if c.kind in COLUMN_TESTS]
    skipped = [c.name for c in schema if c.kind not in COLUMN_TESTS]
    if skipped:
        notes.append(f"Not tested (no test for their kind yet): {', '.join(skipped)}.")
    if len(new) < MIN_ROWS:
        raise UploadError(f"The new batch has {len(new)} rows; at least {MIN_ROWS} are "
                          "needed to tell a move from luck. Fix: upload more rows.")
    old_values = {c.name: typed(old, c) for c in columns}
    new_values = {c.name: typed(new, c) for c in columns}
    shifts = [COLUMN_TESTS[c.kind](c, old_values[c.name], new_values[c.name], fmt)
              for c in columns]
    classifier = None
    if columns:
        A, B = _encoded(columns, old_values, new_values)
        classifier = classifier_test(A, B, seed)
    p = [s.p_value for s in shifts] + ([classifier.p_value] if classifier else [])
    adjusted = holm(p) if p else np.array([])
    for s, q in zip(shifts, adjusted, strict=False):
        s.p_holm = float(q)
    if classifier is not None:
        classifier.p_holm = float(adjusted[-1])
    return DriftReport(len(old), len(new), shifts, classifier, notes)
