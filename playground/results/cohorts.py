"""Where a run fails: the groups of test examples it gets wrong most often, in words.

Tables, as Microsoft's Error Analysis does it: a shallow scikit-learn decision tree learns to
predict "the run got this example wrong" from the person's columns (in their own units), on
one half of the test split. Each of its leaves is a cohort, a few conditions on the columns
("income (thousands) below 30.5 and group = B"), and its error rate is measured on the other
half, which the tree never saw: a tree fitted and scored on the same examples finds cohorts
whose rates are flattered by the search itself. Whether a cohort's excess is bigger than
luck: Fisher's exact test of its errors against the rest of that half, corrected for the
number of leaves (Bonferroni).

Text, the same way, over what a reader sees in a sentence: whether it contains each of the
test sentences' most common words, and its length in words ("sentences containing 'not':
38 % wrong against 21 % overall, 64 sentences").

Pictures (no columns): by true class (each class's errors against the others', the classes
are fixed in advance so no search flatters them) and by true × predicted class (the biggest
confusions). Every kind also lists its most confident mistakes.

The answers are the run's own decisions as stored when it finished (its decision rule
included), so counts agree with its card. Computed in a worker (the "cohorts" job kind),
kept with the run in runs/<id>/cohorts.json.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

import numpy as np
from scipy.stats import fisher_exact
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from playground.common.files import replace_atomically
from playground.common.formatting import percent
from playground.data.base import Dataset
from playground.data.columns import Column
from playground.data.units import RowCodec
from playground.data.views import run_data
from playground.data.words import words_of
from playground.results.luck import LEVEL
from playground.runs.jobs import JOB_KINDS, JOB_RUNS
from playground.runs.store import Job, Store
from playground.training.artifacts import load_predictions

KIND = "cohorts"
VERSION = 2  # bump when the search changes, so old answers are not reused
FILE = "cohorts.json"
MAX_DEPTH = 3
MIN_LEAF = 10  # examples of the fitting half per leaf, at least
MIN_LEAF_SHARE = 0.05  # ... or this share of it, whichever is larger
CONFIDENT = 12  # most confident mistakes listed
CONFUSIONS = 5  # biggest confusions listed
TOP_WORDS = 60  # the most common words of the test sentences the tree may ask about


@dataclass
class Cohort:
    """One group of test examples. `rate` = `wrong` / `size`, counted on `measured` (tables:
    the half the tree did not see; otherwise every member). `indices`: every test example in
    the group, for opening them in Explain."""

    words: str
    size: int
    wrong: int
    rate: float
    indices: list[int]
    measured: list[int]
    p_value: float | None = None  # one-sided: more errors here than in the rest
    beyond_luck: bool | None = None  # None: no test made (confusions)
    group: str = "rule"  # rule (tables' tree leaf) | class | confusion

    @property
    def share(self) -> float:
        return self.rate


@dataclass
class ErrorCohorts:
    """Where one run fails."""

    run_id: str
    kind: str  # the dataset's kind
    n_test: int
    wrong: int  # on the whole test split: the card's errors
    overall: float  # wrong / n_test
    n_measured: int  # tables: the half the cohorts' rates are measured on
    cohorts: list[Cohort]
    confusions: list[Cohort] = field(default_factory=list)
    groups: list[Cohort] = field(default_factory=list)  # by the sensitive column, if any
    confident: list[dict[str, Any]] = field(default_factory=list)  # index, true, said, sure
    method: str = ""
    verdict: str = ""
    version: int = VERSION

    @property
    def worst(self) -> Cohort | None:
        return self.cohorts[0] if self.cohorts else None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ErrorCohorts":
        d = dict(d)
        d["cohorts"] = [Cohort(**c) for c in d["cohorts"]]
        d["confusions"] = [Cohort(**c) for c in d.get("confusions", [])]
        d["groups"] = [Cohort(**c) for c in d.get("groups", [])]
        return cls(**d)


# -- tables: a shallow tree over the person's columns -------------------------------------------


def _halves(wrong: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(fit, measure): two halves of the test positions, each with its share of errors."""
    positions = np.arange(len(wrong))
    stratify = wrong if 2 <= wrong.sum() <= len(wrong) - 2 else None
    fit, measure = train_test_split(positions, test_size=0.5, random_state=seed,
                                    stratify=stratify)
    return np.sort(fit), np.sort(measure)


def _owners(codec: RowCodec) -> dict[int, Column]:
    return {f: c for c in codec.schema for f in c.features}


def _path_words(codec: RowCodec, path: list[tuple[int, bool, float]]) -> str:
    """Conditions on model inputs (input, above the threshold?, threshold) as words in the
    person's units, one clause per column: "income (thousands) below 30.5 and group = B"."""
    owners = _owners(codec)
    bounds: dict[str, list[float]] = {}  # number column -> [low, high]
    allowed: dict[str, set[str]] = {}  # category column -> values still possible
    order: list[str] = []
    for feature, above, threshold in path:
        column = owners[feature]
        if column.name not in order:
            order.append(column.name)
        if column.kind == "number":
            low, high = bounds.setdefault(column.name, [-np.inf, np.inf])
            bounds[column.name] = [max(low, threshold), high] if above else [low,
                                                                              min(high, threshold)]
            continue
        values = allowed.setdefault(column.name, set(column.categories))
        if column.kind == "binary":
            keep = {column.categories[1 if above else 0]}
        elif column.kind == "one_hot":
            category = column.categories[column.features.index(feature)]
            keep = {category} if above else set(column.categories) - {category}
        else:  # codes: code <= threshold or above it
            keep = {c for k, c in enumerate(column.categories) if (k > threshold) == above}
        values &= keep
    clauses = []
    for name in order:
        if name in bounds:
            low, high = bounds[name]
            fmt = lambda v, n=name: codec.format(n, v)  # noqa: E731
            if np.isfinite(low) and np.isfinite(high):
                clauses.append(f"{name} between {fmt(low)} and {fmt(high)}")
            elif np.isfinite(high):
                clauses.append(f"{name} below {fmt(high)}")
            else:
                clauses.append(f"{name} above {fmt(low)}")
            continue
        column = codec.schema.get(name)
        values = [c for c in column.categories if c in allowed[name]]
        others = [c for c in column.categories if c not in allowed[name]]
        if len(values) == 1:
            clauses.append(f"{name} = {values[0]}")
        elif len(others) == 1:
            clauses.append(f"{name} ≠ {others[0]}")
        else:
            clauses.append(f"{name} one of {', '.join(values)}")
    return " and ".join(clauses) or "every example"


def _leaf_paths(tree: DecisionTreeClassifier, wrong: np.ndarray, reached: Any
                ) -> dict[int, list[tuple[int, bool, float]]]:
    """The tree's leaves with the conditions that lead to each, after folding back every
    split the fitting half does not support (its two sides' error rates no different beyond
    luck), which a depth limit alone leaves in: "... and years above 16.9" on top of the
    group that really fails. `reached`: the fitting half's decision paths."""
    t = tree.tree_
    reached = reached.tocsc()

    def counts(node: int) -> tuple[int, int]:
        rows = reached[:, node].nonzero()[0]
        return int(wrong[rows].sum()), len(rows)

    def leaf(node: int) -> bool:
        left, right = int(t.children_left[node]), int(t.children_right[node])
        if left == right:
            return True
        if not (leaf(left) and leaf(right)):
            return False
        (wl, nl), (wr, nr) = counts(left), counts(right)
        p = float(fisher_exact([[wl, nl - wl], [wr, nr - wr]])[1])
        return p >= LEVEL

    paths: dict[int, list[tuple[int, bool, float]]] = {}
    stack: list[tuple[int, list]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        if leaf(node):
            paths[node] = path
            continue
        f, thr = int(t.feature[node]), float(t.threshold[node])
        stack.append((int(t.children_left[node]), [*path, (f, False, thr)]))
        stack.append((int(t.children_right[node]), [*path, (f, True, thr)]))
    return paths


def _fisher(wrong_in: int, size_in: int, wrong_out: int, size_out: int) -> float:
    if size_in == 0 or size_out == 0:
        return 1.0
    table = [[wrong_in, size_in - wrong_in], [wrong_out, size_out - wrong_out]]
    return float(fisher_exact(table, alternative="greater")[1])


def _tested(cohorts: list[Cohort], wrong: np.ndarray, pool: np.ndarray) -> None:
    """Each cohort's errors against the rest of `pool`, corrected for how many are tested."""
    total_wrong, total = int(wrong[pool].sum()), len(pool)
    for c in cohorts:
        p = _fisher(c.wrong, c.size, total_wrong - c.wrong, total - c.size)
        c.p_value = min(1.0, p * len(cohorts))
        c.beyond_luck = bool(c.p_value < LEVEL)


def table_cohorts(data: Dataset, y_pred: np.ndarray, seed: int = 0) -> list[Cohort]:
    """The tree's leaves as cohorts, worst first (rate, then size), rates measured on the
    half of the test split the tree was not fitted on."""
    codec = RowCodec(data)
    wrong = np.asarray(y_pred) != np.asarray(data.y_test)
    features = codec.raw_inputs(data.X_test)  # the person's units: tree thresholds read as such
    return _tree_cohorts(features, wrong, seed, lambda path: _path_words(codec, path))


# -- sentences: the words they contain and their length --------------------------------------


def sentence_features(texts: Sequence[str], top: int = TOP_WORDS,
                      least: int = MIN_LEAF) -> tuple[np.ndarray, list[str]]:
    """(features, words): per sentence its length in words, then 1 where it contains each
    of the `top` words found in the most sentences (in at least `least` of them). Counted on
    the sentences alone, not on who got them wrong, so the choice flatters no cohort."""
    sets = [set(words_of(t)) for t in texts]
    counts: dict[str, int] = {}
    for found in sets:
        for w in found:
            counts[w] = counts.get(w, 0) + 1
    # most sentences first; ties alphabetically, so the choice is the same every time
    ranked = sorted((w for w, c in counts.items() if c >= least), key=lambda w: (-counts[w], w))
    words = ranked[:top]
    X = np.zeros((len(sets), 1 + len(words)), np.float32)
    X[:, 0] = [len(words_of(t)) for t in texts]
    for j, w in enumerate(words, start=1):
        X[:, j] = [w in found for found in sets]
    return X, words


def _sentence_words(words: list[str], path: list[tuple[int, bool, float]]) -> str:
    """Conditions on (length, contains word...) as words: "sentences containing 'not' and
    'but', without 'great', of at most 12 words"."""
    low, high = 0, None
    have: list[str] = []
    lack: list[str] = []
    for feature, above, threshold in path:
        if feature == 0:  # the length: thresholds fall between whole numbers of words
            if above:
                low = max(low, int(np.floor(threshold)) + 1)
            else:
                high = int(np.floor(threshold)) if high is None else min(
                    high, int(np.floor(threshold)))
            continue
        (have if above else lack).append(f"'{words[feature - 1]}'")
    clauses = []
    if have:
        clauses.append("containing " + _and(have))
    if lack:
        clauses.append("without " + _or(lack))
    if high is not None and low > 0:
        clauses.append(f"of {low} to {high} words" if low < high else f"of {low} words")
    elif high is not None:
        clauses.append(f"of at most {high} word{'' if high == 1 else 's'}")
    elif low > 0:
        clauses.append(f"of {low} words or more")
    return "sentences " + ", ".join(clauses) if clauses else "every sentence"


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _or(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _tree_cohorts(features: np.ndarray, wrong: np.ndarray, seed: int, words_for
                  ) -> list[Cohort]:
    """The leaves of a shallow tree fitted to `wrong` on half the examples, as cohorts whose
    rates are measured on the other half, worst first (rate, then size)."""
    fit, measure = _halves(wrong, seed)
    leaf_size = max(MIN_LEAF, int(MIN_LEAF_SHARE * len(fit)))
    tree = DecisionTreeClassifier(max_depth=MAX_DEPTH, min_samples_leaf=leaf_size,
                                  random_state=seed)
    tree.fit(features[fit], wrong[fit])
    reached = tree.decision_path(features).tocsc()  # which nodes each test example passes
    in_measure = np.zeros(len(wrong), bool)
    in_measure[measure] = True
    cohorts = []
    for node, path in _leaf_paths(tree, wrong[fit], reached[fit]).items():
        members = reached[:, node].nonzero()[0]
        measured = members[in_measure[members]]
        if not len(measured):
            continue
        n_wrong = int(wrong[measured].sum())
        cohorts.append(Cohort(words_for(path), len(measured), n_wrong,
                              n_wrong / len(measured), members.tolist(), measured.tolist()))
    _tested(cohorts, wrong, measure)
    return sorted(cohorts, key=lambda c: (-c.rate, -c.size))


def text_cohorts(texts: Sequence[str], y_true: np.ndarray, y_pred: np.ndarray,
                 seed: int = 0) -> list[Cohort]:
    """Groups of test sentences by the words they contain and their length, found by a
    shallow tree on half of them and measured on the other half, worst first."""
    wrong = np.asarray(y_pred) != np.asarray(y_true)
    features, words = sentence_features(texts)
    return _tree_cohorts(features, wrong, seed, lambda path: _sentence_words(words, path))


# -- pictures (and anything without columns): classes and confusions --------------------------


def class_cohorts(data: Dataset, y_pred: np.ndarray) -> list[Cohort]:
    """Each true class as a cohort, worst first."""
    y, wrong = np.asarray(data.y_test), np.asarray(y_pred) != np.asarray(data.y_test)
    cohorts = []
    for k, name in enumerate(data.class_names):
        members = np.flatnonzero(y == k)
        if not len(members):
            continue
        n_wrong = int(wrong[members].sum())
        cohorts.append(Cohort(f"true class {name}", len(members), n_wrong,
                              n_wrong / len(members), members.tolist(), members.tolist(),
                              group="class"))
    _tested(cohorts, wrong, np.arange(len(y)))
    return sorted(cohorts, key=lambda c: (-c.rate, -c.size))


def group_cohorts(data: Dataset, y_pred: np.ndarray) -> list[Cohort]:
    """Each group of the run's sensitive column (named before looking, so every test
    example counts and no search flatters them), worst first."""
    if data.groups is None:
        return []
    labels = np.asarray(data.groups[2]).astype(str)
    wrong = np.asarray(y_pred) != np.asarray(data.y_test)
    name = data.sensitive or "group"
    cohorts = []
    for g in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == g)
        n_wrong = int(wrong[members].sum())
        words = g if name.lower() in g.lower() else f"{name} = {g}"
        cohorts.append(Cohort(words, len(members), n_wrong, n_wrong / len(members),
                              members.tolist(), members.tolist(), group="sensitive"))
    _tested(cohorts, wrong, np.arange(len(wrong)))
    return sorted(cohorts, key=lambda c: (-c.rate, -c.size))


def confusions(data: Dataset, y_pred: np.ndarray, top: int = CONFUSIONS) -> list[Cohort]:
    """The biggest true × predicted mix-ups: "true 8 read as 1", rate = share of true 8s."""
    y, said = np.asarray(data.y_test), np.asarray(y_pred)
    names = data.class_names
    cells = []
    for t in range(len(names)):
        of_class = np.flatnonzero(y == t)
        for p in range(len(names)):
            members = of_class[said[of_class] == p]
            if p != t and len(members):
                cells.append(Cohort(f"true {names[t]} read as {names[p]}", len(of_class),
                                    len(members), len(members) / len(of_class),
                                    members.tolist(), of_class.tolist(), group="confusion"))
    return sorted(cells, key=lambda c: (-c.wrong, -c.rate))[:top]


def most_confident(y_true: np.ndarray, y_pred: np.ndarray, probs: np.ndarray | None,
                   top: int = CONFIDENT) -> list[dict[str, Any]]:
    """The mistakes the run was surest of: test index, true and said class, how sure."""
    wrong = np.flatnonzero(np.asarray(y_pred) != np.asarray(y_true))
    if probs is None or not len(wrong):
        return []
    sure = np.asarray(probs)[wrong, np.asarray(y_pred)[wrong]]
    order = np.argsort(-sure, kind="stable")[:top]
    return [{"index": int(wrong[k]), "true": int(y_true[wrong[k]]),
             "said": int(y_pred[wrong[k]]), "sure": float(sure[k])} for k in order]


# -- the whole answer ---------------------------------------------------------------------------


def _verdict(result: ErrorCohorts, names: Sequence[str]) -> str:
    if result.wrong == 0:
        return (f"Run {result.run_id} got every one of its {result.n_test} test examples "
                "right: there is nowhere it fails on this test set.")
    worst = next((c for c in result.cohorts if c.beyond_luck), None)
    against = f"against {percent(result.overall)} overall"
    things = "sentences" if result.kind == "text" else "examples"
    if worst is not None:
        where = (f"measured on test {things} the search did not use"
                 if worst.group == "rule" else "")
        return (f"Run {result.run_id} fails most for {worst.words}: {percent(worst.rate)} "
                f"wrong {against}, {worst.size} {things}"
                f"{' (' + where + ')' if where else ''}; more than luck would give.")
    top = result.worst
    found = (f" The worst group found, {top.words}, has {percent(top.rate)} wrong of "
             f"{top.size} {things}." if top is not None else "")
    named = next((g for g in result.groups if g.beyond_luck), None)
    if named is not None:
        return (f"Run {result.run_id} fails most for {named.words}: {percent(named.rate)} "
                f"wrong {against}, {named.size} examples; more than luck would give. No "
                "narrower group the search found stands out by more than luck." + found)
    return (f"Run {result.run_id}'s mistakes ({percent(result.overall)} of the test "
            f"{things}) are spread about evenly: no group stands out by more than luck."
            + found)


def error_cohorts(data: Dataset, y_pred: np.ndarray, probs: np.ndarray | None = None,
                  run_id: str = "", seed: int = 0) -> ErrorCohorts:
    """Where a run whose test decisions are `y_pred` fails on `data`'s test split."""
    y = np.asarray(data.y_test)
    y_pred = np.asarray(y_pred).astype(int)
    if len(y_pred) != len(y):
        raise ValueError(f"the run's stored answers ({len(y_pred)}) do not match its test "
                         f"split ({len(y)} examples)")
    n_wrong = int((y_pred != y).sum())
    tabular = data.info.kind == "tabular"
    sentences = data.texts is not None and len(data.texts[2]) == len(y)
    result = ErrorCohorts(run_id, data.info.kind, len(y), n_wrong, n_wrong / max(1, len(y)),
                          len(y), [], method="")
    if n_wrong:
        if tabular:
            result.cohorts = table_cohorts(data, y_pred, seed)
            result.n_measured = sum(c.size for c in result.cohorts)
            result.method = (f"a decision tree (depth at most {MAX_DEPTH}) fitted to the "
                             "run's mistakes on half the test examples; rates measured on "
                             "the other half")
        elif sentences:
            result.cohorts = text_cohorts(data.texts[2], y, y_pred, seed)
            result.n_measured = sum(c.size for c in result.cohorts)
            result.method = (f"a decision tree (depth at most {MAX_DEPTH}) over which of the "
                             f"{TOP_WORDS} most common words a sentence contains and how many "
                             "words it has, fitted to the run's mistakes on half the test "
                             "sentences; rates measured on the other half")
        else:
            result.cohorts = class_cohorts(data, y_pred)
            result.method = "by true class, and by true and predicted class"
        result.confusions = confusions(data, y_pred)
        result.groups = group_cohorts(data, y_pred)
        result.confident = most_confident(y, y_pred, probs)
    result.verdict = _verdict(result, data.class_names)
    return result


def for_run(store: Store, run) -> ErrorCohorts:
    """A finished run's cohorts, from its stored test answers and its own data."""
    if run.status != "finished":
        raise ValueError(f"run {run.id} is {run.status}, not finished; only finished runs "
                         "have test answers")
    try:
        stored = load_predictions(store, run.id)
    except (OSError, KeyError, ValueError) as exc:
        raise ValueError(f"run {run.id}: its test answers are missing ({exc})") from None
    data = run_data(run.config)
    return error_cohorts(data, stored["y_pred"], stored.get("probs"), run.id, run.config.seed)


# -- kept with the run --------------------------------------------------------------------------


class CohortCache:
    """runs/<id>/cohorts.json; deleted with the run."""

    def __init__(self, store: Store):
        self.store = store

    def path(self, run_id: str):
        return self.store.artifact_dir(run_id) / FILE

    def get(self, run_id: str) -> ErrorCohorts | None:
        try:
            d = json.loads(self.path(run_id).read_text())
            return ErrorCohorts.from_json(d) if d.get("version") == VERSION else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, answer: ErrorCohorts) -> None:
        path = self.path(answer.run_id)
        if not path.parent.exists():
            return  # the run was deleted while this was computed
        text = json.dumps(answer.to_json())
        replace_atomically(path, lambda tmp: tmp.write_text(text))


def cached(store: Store, run, cache: CohortCache | None = None) -> tuple[ErrorCohorts, bool]:
    """(answer, came from the cache): computed and kept when not there yet."""
    cache = cache or CohortCache(store)
    found = cache.get(run.id)
    if found is not None:
        return found, True
    answer = for_run(store, run)
    cache.put(answer)
    return answer, False


# -- in a worker --------------------------------------------------------------------------------


@JOB_KINDS.register(KIND)
def handler(store: Store):
    cache = CohortCache(store)
    return lambda job: run_job(store, job, cache)


@JOB_RUNS.register(KIND)
def runs_read(job: Job) -> list[str]:
    return [job.payload["run_id"]]


def run_job(store: Store, job: Job, cache: CohortCache) -> str:
    try:
        run = store.get(job.payload["run_id"])
        if run is None:
            raise ValueError("the run was deleted")
        cached(store, run, cache)
    except Exception as exc:  # told on the page, never a dead worker
        store.finish_job(job.id, {"error": str(exc) if isinstance(exc, ValueError)
                                  else f"{type(exc).__name__}: {exc}"})
        return "finished"
    store.finish_job(job.id, {})
    return "finished"


# -- in the app's server ------------------------------------------------------------------------


@dataclass
class Asked:
    """The answer, or the job on its way, or why it failed."""

    answer: ErrorCohorts | None
    job_id: str | None = None
    error: str | None = None

    @property
    def waiting(self) -> bool:
        return self.answer is None and self.error is None


def ask(store: Store, run_id: str, *, job_id: str | None = None,
        requester: str | None = None, workspace: str | None = None,
        owner: str | None = None, cache: CohortCache | None = None) -> Asked:
    """The kept answer, or the state of `job_id` (asked for before), or a new job."""
    cache = cache or CohortCache(store)
    found = cache.get(run_id)
    if found is not None:
        return Asked(found, job_id)
    if job_id is not None:
        job = store.get_job(job_id)
        if job is not None and job.payload.get("run_id") == run_id:
            if job.active:
                return Asked(None, job_id)
            if job.status == "finished":
                return Asked(None, job_id, job.result.get("error")
                             or "The answer was not kept: was the run deleted meanwhile?")
            if job.status != "cancelled":
                return Asked(None, job_id, (job.error or job.status).split("\n")[0])
    job_id = store.enqueue_job(KIND, {"run_id": run_id}, 1, workspace=workspace, owner=owner,
                               requester=requester)
    return Asked(None, job_id)
