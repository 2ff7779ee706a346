"""What would change a run's decision: counterfactuals, in the person's own units.

Tables: DiCE (`dice-ml`, Mothilal et al. 2020) with its model-agnostic "random" method over
a predict function that takes rows in the uploaded units, turns them into model inputs with
the run's own preprocessing (`RowCodec`) and decides with the run's own rule (its decision
hook, e.g. fairness thresholds: `DecisionRule`). The columns the person keeps fixed (by
default the sensitive column and age-like columns) are never varied; numbers stay inside
the training rows' range. Every change DiCE returns is checked again against the run's rule
and kept only if it really flips the decision and leaves every fixed column alone.

Why "random" and not "genetic" (both model-agnostic; "kdtree" only returns training rows):
measured on the loans set with a fairness-thresholds run (test examples 0-2, a busy 2-core
machine), random found four flipping changes per example in 1.0-1.9 s, each changing one or
two columns after DiCE's own sparsity pass; genetic took 4.9-5.9 s and every change moved
four columns at once (smaller steps, but four things to do is not an answer a person acts
on). Random's steps are larger, so it is asked for twice as many and the smallest kept
(distance in units of each column's training range): 4-7 s, one column per change.
Computed in a worker (the "counterfactual" job kind below), kept with the run.

Pictures: the nearest test example (by pixel distance) that the run decides differently.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from playground.common.files import replace_atomically
from playground.data.units import RowCodec
from playground.explain.subjects import DecisionRule, ModelBank
from playground.runs.jobs import JOB_KINDS, JOB_RUNS
from playground.runs.store import Job, Store

KIND = "counterfactual"
VERSION = 1  # bump when the search changes, so old answers are not reused
FOLDER = "counterfactuals"
OUTCOME = "__decision__"
AGE_LIKE = re.compile(r"\b(age|born|birth|years? old)\b", re.IGNORECASE)


def default_fixed(codec: RowCodec, sensitive: str | None) -> list[str]:
    """Columns a change should not touch unless the person says so: who someone is (the
    sensitive column) and what no one can change (age-like columns)."""
    return [c.name for c in codec.schema
            if c.name == sensitive or AGE_LIKE.search(c.name.replace("_", " "))]


@dataclass
class Change:
    """One counterfactual: the changed columns, before and after, and the run's decision."""

    changes: dict[str, tuple[Any, Any]]  # column -> (was, would be), in uploaded units
    decision: int
    row: dict[str, Any] = field(default_factory=dict)  # the whole changed row

    def to_json(self, codec: RowCodec | None = None) -> dict[str, Any]:
        shown = {c: {"from": a, "to": b,
                     **({"from_text": codec.format(c, a), "to_text": codec.format(c, b)}
                        if codec else {})}
                 for c, (a, b) in self.changes.items()}
        return {"changes": shown, "decision": self.decision, "row": self.row}


@dataclass
class Counterfactuals:
    """The answer for one example of one run."""

    run_id: str
    index: int
    decision: int  # what the run decides for the example as it is
    target: int | None  # the decision the changes reach (None: pictures, any other)
    fixed: list[str]
    changes: list[Change]
    seconds: float
    method: str
    nearest: int | None = None  # pictures: the nearest test example decided differently
    note: str = ""

    def to_json(self, codec: RowCodec | None = None) -> dict[str, Any]:
        return {"run_id": self.run_id, "index": self.index, "decision": self.decision,
                "target": self.target, "fixed": self.fixed, "method": self.method,
                "seconds": self.seconds, "nearest": self.nearest, "note": self.note,
                "changes": [c.to_json(codec) for c in self.changes]}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Counterfactuals":
        changes = [Change({c: (v["from"], v["to"]) for c, v in ch["changes"].items()},
                          int(ch["decision"]), dict(ch.get("row", {})))
                   for ch in d["changes"]]
        return cls(d["run_id"], int(d["index"]), int(d["decision"]), d["target"],
                   list(d["fixed"]), changes, float(d["seconds"]), d["method"],
                   d.get("nearest"), d.get("note", ""))


# -- the predict function DiCE sees ------------------------------------------------------------


class RowsModel:
    """Rows in uploaded units -> the run's decisions, as a scikit-learn classifier's
    `predict_proba` (one-hot of the decision, so DiCE aims at the rule, not the scores).
    Every row stands for test example `position` (its coin and, unless changed, its group)."""

    def __init__(self, codec: RowCodec, rule: DecisionRule, position: int, n_classes: int):
        self.codec, self.rule, self.position, self.n_classes = codec, rule, position, n_classes
        self.calls = 0

    def inputs(self, frame: pd.DataFrame) -> np.ndarray:
        return np.stack([self.codec.to_model(row) for row in frame.to_dict("records")])

    def decide(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls += 1
        X = self.inputs(frame[self.codec.schema.names])
        return self.rule.decide(X, positions=np.full(len(X), self.position))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.eye(self.n_classes)[self.decide(frame)]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.decide(frame)


def _cell(codec: RowCodec, column: str, value: Any) -> Any:
    c = codec.schema.get(column)
    if c is None or c.kind != "number":
        return str(value)
    v = float(value)
    return float(round(v)) if c.integer else round(v, c.decimals)


def _differs(codec: RowCodec, column: str, a: Any, b: Any) -> bool:
    c = codec.schema.get(column)
    if c is not None and c.kind == "number":
        step = 1.0 if c.integer else 10.0 ** -c.decimals
        return abs(float(a) - float(b)) >= step / 2
    return str(a) != str(b)


def tabular(codec: RowCodec, rule: DecisionRule, x: np.ndarray, position: int, run_id: str,
            n_classes: int, fixed: Sequence[str], total: int = 4, seed: int = 0,
            method: str = "random") -> Counterfactuals:
    """Up to `total` diverse changes of example x that flip the run's decision."""
    import dice_ml

    started = time.perf_counter()
    names = codec.schema.names
    unknown = [f for f in fixed if f not in names]
    if unknown:
        raise ValueError(f"fixed: no column {', '.join(map(repr, unknown))}; the columns are "
                         f"{', '.join(names)}")
    model = RowsModel(codec, rule, position, n_classes)
    query = pd.DataFrame([{c: _cell(codec, c, v) for c, v in codec.to_raw(x).items()}])
    decision = int(model.decide(query)[0])
    train = codec.frame(rule.loaded.data.X_train)
    train[OUTCOME] = rule.loaded.data.y_train  # DiCE reads the columns' ranges from here
    numbers = [c.name for c in codec.schema if c.kind == "number"]
    vary = [c for c in names if c not in set(fixed)]
    if n_classes == 2:
        target: int = 1 - decision
    else:  # the class the model finds likeliest after its own answer
        probs = rule.predict(x[None])[0]
        order = [int(k) for k in np.argsort(-probs) if int(k) != decision]
        target = order[0]
    out = Counterfactuals(run_id, position, decision, target, list(fixed), [], 0.0,
                          f"DiCE {method}")
    if not vary:
        out.note = "Every column is kept fixed, so nothing may change."
        out.seconds = time.perf_counter() - started
        return out
    data = dice_ml.Data(dataframe=train, continuous_features=numbers, outcome_name=OUTCOME)
    dice_model = dice_ml.Model(model=model, backend="sklearn", model_type="classifier")
    explainer = dice_ml.Dice(data, dice_model, method=method)
    ranges = {c: [lo, hi] for c, (lo, hi) in codec.ranges.items() if c in vary}
    kwargs: dict[str, Any] = {"random_seed": seed} if method == "random" else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas' future warnings from inside DiCE
            found = explainer.generate_counterfactuals(
                query, total_CFs=2 * total, desired_class=target if n_classes > 2 else "opposite",
                features_to_vary=vary, permitted_range=ranges or None, verbose=False, **kwargs)
        frame = found.cf_examples_list[0].final_cfs_df
    except Exception as exc:  # DiCE raises when it finds none ("No counterfactuals found")
        if "counterfactual" not in str(exc).lower():
            raise
        frame = None
    out.changes = _checked(codec, model, query.iloc[0].to_dict(), frame, fixed, target)[:total]
    if not out.changes:
        out.note = ("No change of the columns that may change turned this decision within "
                    "the training data's ranges.")
    out.seconds = time.perf_counter() - started
    return out


def _checked(codec: RowCodec, model: RowsModel, original: dict[str, Any],
             frame: pd.DataFrame | None, fixed: Sequence[str], target: int) -> list[Change]:
    """DiCE's answers, rounded to the CSV's decimals, decided again by the run's rule, kept
    only when they reach the target and leave the fixed columns alone; duplicates dropped."""
    if frame is None or not len(frame):
        return []
    rows = [{c: _cell(codec, c, r[c]) for c in codec.schema.names}
            for r in frame.to_dict("records")]
    for row in rows:  # a fixed column keeps its value exactly, whatever DiCE wrote
        for column in fixed:
            row[column] = original[column]
    decisions = model.decide(pd.DataFrame(rows))
    kept, seen = [], set()
    for row, decision in zip(rows, decisions, strict=True):
        changes = {c: (original[c], row[c]) for c in codec.schema.names
                   if _differs(codec, c, original[c], row[c])}
        key = json.dumps(changes, sort_keys=True, default=str)
        if int(decision) != target or not changes or key in seen:
            continue
        seen.add(key)
        kept.append(Change(changes, int(decision), row))
    return sorted(kept, key=lambda ch: (len(ch.changes), _distance(codec, ch)))


def _distance(codec: RowCodec, change: Change) -> float:
    """How far a change goes: each number's step over its training range, a category 1."""
    total = 0.0
    for column, (was, now) in change.changes.items():
        if column in codec.ranges:
            lo, hi = codec.ranges[column]
            total += abs(float(now) - float(was)) / max(hi - lo, 1e-12)
        else:
            total += 1.0
    return total


def pictures(rule: DecisionRule, position: int, run_id: str) -> Counterfactuals:
    """The nearest test example (pixel distance) that the run decides differently."""
    started = time.perf_counter()
    X = rule.loaded.data.X_test
    decisions = rule.stored()
    flat = X.reshape(len(X), -1)
    distance = np.linalg.norm(flat - flat[position], axis=1)
    distance[decisions == decisions[position]] = np.inf
    nearest = int(np.argmin(distance)) if np.isfinite(distance).any() else None
    return Counterfactuals(run_id, position, int(decisions[position]),
                           None if nearest is None else int(decisions[nearest]), [], [],
                           time.perf_counter() - started, "nearest test example", nearest,
                           "" if nearest is not None else "The run decides every test "
                           "example the same way.")


# -- in words -------------------------------------------------------------------------------


def _change_words(codec: RowCodec, column: str, was: Any, now: Any) -> str:
    c = codec.schema.get(column)
    if c is not None and c.kind == "number":
        delta = float(now) - float(was)
        size = codec.format(column, abs(delta))
        return f"{column} {size} {'higher' if delta > 0 else 'lower'}"
    return f"{column} {now} instead of {was}"


def sentence(codec: RowCodec, change: Change, class_names: Sequence[str]) -> str:
    """"no → yes if income (thousands) 9.0 higher and loan amount (thousands) 4.0 lower"."""
    parts = [_change_words(codec, c, a, b) for c, (a, b) in change.changes.items()]
    words = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{class_names[change.decision]} if {words}"


# -- kept with the run ----------------------------------------------------------------------


def cache_key(run_id: str, index: int, fixed: Sequence[str], total: int) -> str:
    text = json.dumps({"run": run_id, "index": index, "fixed": sorted(fixed), "total": total,
                       "version": VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class CounterfactualCache:
    """One JSON file per answer under runs/<id>/counterfactuals/; deleted with the run."""

    def __init__(self, store):
        self.store = store

    def path(self, run_id: str, key: str):
        return self.store.artifact_dir(run_id) / FOLDER / f"{key}.json"

    def get(self, run_id: str, key: str) -> Counterfactuals | None:
        path = self.path(run_id, key)
        try:
            return Counterfactuals.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key: str, answer: Counterfactuals) -> None:
        path = self.path(answer.run_id, key)
        if not path.parent.parent.exists():
            return  # the run was deleted while this was computed
        path.parent.mkdir(exist_ok=True)
        text = json.dumps(answer.to_json(), default=float)
        replace_atomically(path, lambda tmp: tmp.write_text(text))


def find(bank, run_id: str, index: int, fixed: Sequence[str] | None = None,
         total: int = 4) -> Counterfactuals:
    """A run's counterfactuals for test example `index` (fixed None: the default columns)."""
    loaded = bank.loaded(run_id)
    data = loaded.data
    if not 0 <= index < len(data.X_test):
        raise ValueError(f"index: run {run_id}'s test split has {len(data.X_test)} examples, "
                         f"so the index must be 0 to {len(data.X_test) - 1} (you gave {index})")
    rule = bank.rule(run_id)
    if data.info.kind == "image":
        return pictures(rule, index, run_id)
    if data.info.kind == "text":
        raise ValueError("counterfactuals are for tables and pictures; for sentences, change "
                         "the words yourself (`explain RUN --text ...`, or the what-if box on "
                         "the Explain page) and watch the answer move")
    if data.info.kind != "tabular":
        raise ValueError("counterfactuals are for tables and pictures; this run's data is "
                         f"{data.info.kind}")
    codec = RowCodec(data)
    chosen = default_fixed(codec, data.sensitive) if fixed is None else list(fixed)
    return tabular(codec, rule, data.X_test[index], index, run_id, data.n_classes, chosen,
                   total, seed=loaded.run.config.seed)


def find_cached(bank: ModelBank, cache: CounterfactualCache, run_id: str, index: int,
                fixed: Sequence[str] | None = None, total: int = 4
                ) -> tuple[Counterfactuals, bool]:
    """(answer, came from the cache)."""
    chosen = resolve_fixed(bank, run_id, fixed)
    key = cache_key(run_id, index, chosen, total)
    found = cache.get(run_id, key)
    if found is not None:
        return found, True
    answer = find(bank, run_id, index, chosen, total)
    cache.put(key, answer)
    return answer, False


def resolve_fixed(bank: ModelBank, run_id: str, fixed: Sequence[str] | None) -> list[str]:
    """The columns kept fixed: as given, else the defaults (none for pictures)."""
    if fixed is not None:
        return list(fixed)
    data = bank.loaded(run_id).data
    if data.info.kind != "tabular":
        return []
    return default_fixed(RowCodec(data), data.sensitive)


# -- in a worker ------------------------------------------------------------------------------


@JOB_KINDS.register(KIND)
def handler(store: Store):
    """A worker's counterfactual finder: the models it loads stay loaded for the next job."""
    bank, cache = ModelBank(store), CounterfactualCache(store)
    return lambda job: run_job(store, job, bank, cache)


@JOB_RUNS.register(KIND)
def runs_read(job: Job) -> list[str]:
    return [job.payload["run_id"]]


def run_job(store: Store, job: Job, bank: ModelBank, cache: CounterfactualCache) -> str:
    p = job.payload
    try:
        find_cached(bank, cache, p["run_id"], int(p["index"]), p["fixed"], int(p["total"]))
    except Exception as exc:  # told on the page, never a dead worker
        store.finish_job(job.id, {"error": f"{type(exc).__name__}: {exc}"
                                  if not isinstance(exc, ValueError) else str(exc)})
        return "finished"
    store.finish_job(job.id, {})
    return "finished"


# -- in the app's server ----------------------------------------------------------------------


@dataclass
class Asked:
    """Where one question stands: the answer, or the job on its way, or why it failed."""

    answer: Counterfactuals | None
    job_id: str | None = None
    error: str | None = None

    @property
    def waiting(self) -> bool:
        return self.answer is None and self.error is None


def ask(store: Store, cache: CounterfactualCache, run_id: str, index: int,
        fixed: Sequence[str], total: int = 4, *, job_id: str | None = None,
        requester: str | None = None, workspace: str | None = None,
        owner: str | None = None) -> Asked:
    """The cached answer, or the state of `job_id` (the job asked for it before), or a new
    job in the fair queue (a session's older unstarted question is dropped)."""
    key = cache_key(run_id, index, fixed, total)
    found = cache.get(run_id, key)
    if found is not None:
        return Asked(found, job_id)
    if job_id is not None:
        job = store.get_job(job_id)
        if job is not None and job.payload.get("key") == key:
            if job.active:
                return Asked(None, job_id)
            if job.status == "finished":
                return Asked(None, job_id, job.result.get("error")
                             or "The answer was not kept: was the run deleted meanwhile?")
            if job.status not in ("finished", "cancelled"):
                return Asked(None, job_id, (job.error or job.status).split("\n")[0])
    if requester is not None:
        store.cancel_jobs(requester=requester, kind=KIND)
    job_id = store.enqueue_job(KIND, {"run_id": run_id, "index": index, "fixed": list(fixed),
                                      "total": total, "key": key}, 1,
                               workspace=workspace, owner=owner, requester=requester)
    return Asked(None, job_id)
