"""Will a finished run still work on new data? A new batch of rows checked against the rows
the run was trained on (`playground.data.drift`), and, when the batch has the column the run
predicts, the run's accuracy on it beside its test accuracy.

The old rows are the run's own training split, turned back into the CSV's units with the
run's own scaling (`RowCodec`); the new rows are read like an upload (same CSV reading, the
same columns required). For the accuracy, each new row goes through the run's preprocessing
the other way (categories to 0/1 inputs or codes, the training split's scaling, a missing
number filled with the training median) and is decided by the run's own rule
(`DecisionRule`: fairness thresholds included, each row in the group its sensitive column
names). Rows the run can't take (a category it never saw, no label, a label it does not
know) are left out of the accuracy and counted in a note.

Runs in a worker (the "drift" job kind below): on the largest batch uploads allow (20,000
rows) the classifier test fits five small tree models, seconds of a core that a room of
browsers shares. The uploaded bytes are staged as uploads are (`uploads.staging`); the
answer is kept with the run (runs/<id>/drift/), so asking again costs a file read.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from playground.common import permissions
from playground.common.files import replace_atomically
from playground.common.formatting import percent
from playground.common.permissions import Actor, Place
from playground.data import drift, uploads
from playground.data.units import RowCodec
from playground.data.uploads import staging
from playground.data.uploads.limits import UploadError
from playground.explain.subjects import ModelBank
from playground.results.luck import unpaired
from playground.runs.jobs import HEAD_ONLY, JOB_KINDS, JOB_RUNS
from playground.runs.store import Job, Store

KIND = "drift"
VERSION = 1  # bump when the tests change, so old answers are not reused
FOLDER = "drift"


@dataclass
class LabelCheck:
    """The run's accuracy on the labelled new rows beside its test accuracy."""

    rows: int
    correct: int
    test_rows: int
    test_correct: int
    verdict: str  # is the difference bigger than luck, in words
    beyond_luck: bool
    p_value: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.rows if self.rows else 0.0

    @property
    def test_accuracy(self) -> float:
        return self.test_correct / self.test_rows if self.test_rows else 0.0

    def sentence(self) -> str:
        return (f"On the {self.rows:,} labelled new rows the run is right "
                f"{percent(self.accuracy)} of the time, against {percent(self.test_accuracy)} "
                f"on its test set: {self.verdict}.")

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "correct": self.correct, "test_rows": self.test_rows,
                "test_correct": self.test_correct, "verdict": self.verdict,
                "beyond_luck": self.beyond_luck, "p_value": self.p_value,
                "accuracy": self.accuracy, "test_accuracy": self.test_accuracy,
                "sentence": self.sentence()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "LabelCheck":
        return cls(int(d["rows"]), int(d["correct"]), int(d["test_rows"]),
                   int(d["test_correct"]), str(d["verdict"]), bool(d["beyond_luck"]),
                   float(d["p_value"]))


@dataclass
class DriftAnswer:
    """One batch checked against one run."""

    run_id: str
    filename: str
    report: drift.DriftReport
    labels: LabelCheck | None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "file": self.filename, "drifted": self.report.drifted,
                "verdict": self.report.verdict(), "report": self.report.to_json(),
                "labels": None if self.labels is None else self.labels.to_json(),
                "seconds": self.seconds}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "DriftAnswer":
        return cls(str(d["run_id"]), str(d["file"]), drift.DriftReport.from_json(d["report"]),
                   None if d.get("labels") is None else LabelCheck.from_json(d["labels"]),
                   float(d.get("seconds", 0.0)))


# -- the check -----------------------------------------------------------------------------


def model_inputs(codec: RowCodec, frame, median: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                                      list[str]]:
    """The batch as the run's model inputs (standardised), which rows the run can take, and
    notes on the others. `median`: the training split's median per input, in CSV units."""
    encoded = np.tile(np.asarray(median, dtype=np.float64), (len(frame), 1))
    usable = np.ones(len(frame), dtype=bool)
    unseen: dict[str, set[str]] = {}
    for column in codec.schema:
        values = drift.typed(frame, column)
        if column.kind == "number":
            known = ~np.isnan(values)
            encoded[known, column.features[0]] = values[known]
            continue
        index = {c: i for i, c in enumerate(column.categories)}
        codes = np.array([index.get(v, -1) for v in values])
        if (codes < 0).any():
            unseen[column.name] = set(values[codes < 0])
            usable &= codes >= 0
        codes = np.maximum(codes, 0)
        if column.kind == "one_hot":
            for k, feature in enumerate(column.features):
                encoded[:, feature] = (codes == k).astype(np.float64)
        else:  # binary (off, on) and codes: the value's position
            encoded[:, column.features[0]] = codes
    notes = []
    if unseen:
        listed = "; ".join(f"{c}: {', '.join(sorted(v)[:4])}" for c, v in unseen.items())
        notes.append(f"{int((~usable).sum())} rows hold values the run never saw in training "
                     f"({listed}); the run can't decide them, so they are left out of its "
                     "accuracy.")
    return codec.scaled_inputs(encoded), usable, notes


def _labels(loaded, bank: ModelBank, frame, target: str, codec: RowCodec,
            median: np.ndarray) -> tuple[LabelCheck | None, list[str]]:
    data, run_id = loaded.data, loaded.run.id
    X, usable, notes = model_inputs(codec, frame, median)
    words = frame[target].astype("string").str.strip().fillna("").to_numpy(dtype=str)
    index = {c: i for i, c in enumerate(data.class_names)}
    y = np.array([index.get(w, -1) for w in words])
    unknown = (y < 0) & (words != "")
    if (words == "").any():
        notes.append(f"{int((words == '').sum())} rows without a value in '{target}' are left "
                     "out of the accuracy.")
    if unknown.any():
        shown = ", ".join(sorted(set(words[unknown]))[:4])
        notes.append(f"{int(unknown.sum())} rows have a '{target}' the run does not know "
                     f"({shown}; it knows {', '.join(data.class_names[:8])}); they are left "
                     "out of the accuracy.")
    keep = usable & (y >= 0)
    if not keep.any():
        return None, notes
    rule = bank.rule(run_id)
    groups = None
    if data.groups is not None:
        if data.sensitive and data.sensitive in frame.columns:
            groups = (frame[data.sensitive].astype("string").str.strip().replace("", None)
                      .fillna(drift.MISSING).to_numpy(dtype=str))
        elif rule.deciders:
            raise UploadError(
                f"The run decides with {rule.title}, which needs each row's "
                f"'{data.sensitive}'; the batch has no such column. Fix: add the column "
                f"'{data.sensitive}' to the new rows.")
        else:
            groups = np.full(len(frame), str(data.groups[2][0]))
    positions = np.flatnonzero(keep)
    decided = rule.decide(X[keep], None if groups is None else groups[keep], positions)
    right_new = decided == y[keep]
    stored = rule.stored()
    right_test = stored == data.y_test
    luck = unpaired("test", "new", right_test, right_new)
    verdict = luck.verdict(f"its test set ({percent(luck.accuracy_a)})",
                           f"the new rows ({percent(luck.accuracy_b)})")
    return LabelCheck(int(keep.sum()), int(right_new.sum()), len(right_test),
                      int(right_test.sum()), verdict, luck.beyond, float(luck.p_value)), notes


def check(bank: ModelBank, run_id: str, data: bytes, filename: str,
          seed: int = 0) -> DriftAnswer:
    """Check the CSV `data` against run `run_id`. ValueError (UploadError among them) says
    why not: no such finished run, not a table's run, or a batch that can't be read."""
    started = time.perf_counter()
    loaded = bank.loaded(run_id)
    dataset = loaded.data
    if dataset.info.kind != "tabular":
        raise ValueError(f"run {run_id} was trained on {dataset.info.kind} data; new batches "
                         "are checked for tables only. Fix: pick a run trained on a table.")
    codec = RowCodec(dataset)
    manifest = uploads.manifest_of(loaded.run.config.dataset, bank.store.home) or {}
    target = manifest.get("target")  # built-in tables: no label column to look for
    frame, notes = drift.read_batch(data, filename, codec.schema, target)
    old = codec.frame(dataset.X_train)
    report = drift.compare(old, frame, codec.schema, codec.format, seed, notes)
    labels = None
    if target and target not in frame.columns:
        report.notes.append(f"The new rows have no '{target}' column, so the run's accuracy "
                            "on them is not measured. Add it to see how often the run is "
                            "right on them.")
    elif target:
        median = np.median(codec.raw_inputs(dataset.X_train), axis=0)
        labels, more = _labels(loaded, bank, frame, target, codec, median)
        report.notes.extend(more)
    return DriftAnswer(run_id, Path(filename).name, report, labels,
                       time.perf_counter() - started)


# -- kept with the run ------------------------------------------------------------------------


def cache_key(run_id: str, digest: str, filename: str, seed: int = 0) -> str:
    text = json.dumps({"run": run_id, "digest": digest, "file": Path(filename).name,
                       "seed": seed, "version": VERSION}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _path(store, run_id: str, key: str) -> Path:
    return Path(store.artifact_dir(run_id)) / FOLDER / f"{key}.json"


def cached(store, run_id: str, key: str) -> DriftAnswer | None:
    try:
        return DriftAnswer.from_json(json.loads(_path(store, run_id, key).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def keep(store, key: str, answer: DriftAnswer) -> None:
    path = _path(store, answer.run_id, key)
    if not path.parent.parent.exists():
        return  # the run was deleted while this was computed
    path.parent.mkdir(exist_ok=True)
    text = json.dumps(answer.to_json(), default=float)
    replace_atomically(path, lambda tmp: tmp.write_text(text))


# -- in a worker ------------------------------------------------------------------------------


@JOB_KINDS.register(KIND)
def handler(store: Store):
    """A worker's drift checker: the runs it loads stay loaded for the next batch."""
    bank = ModelBank(store)
    return lambda job: run_job(store, job, bank)


@JOB_RUNS.register(KIND)
def runs_read(job: Job) -> list[str]:
    return [job.payload["run_id"]]


HEAD_ONLY.add(KIND)  # the staged batch lives in the head's data folder only


def run_job(store: Store, job: Job, bank: ModelBank) -> str:
    p = job.payload
    try:
        path = staging.staging_dir(store.home) / f"{p['digest']}.upload"
        try:
            data = path.read_bytes()
        except OSError:
            raise UploadError(f"{p['filename']} is no longer here (kept for a day). Fix: "
                              "upload it again.") from None
        if staging.digest_of(data) != p["digest"]:
            raise UploadError(f"{p['filename']} changed while it waited. Fix: upload it again.")
        answer = check(bank, p["run_id"], data, p["filename"], int(p.get("seed", 0)))
        keep(store, p["key"], answer)
    except ValueError as exc:  # told on the page, never a dead worker
        problems = getattr(exc, "problems", None) or [str(exc)]
        store.finish_job(job.id, {"error": " ".join(problems)})
        return "finished"
    store.finish_job(job.id, {})
    return "finished"


# -- in the app's server ----------------------------------------------------------------------


@dataclass
class Asked:
    """Where one check stands: the answer, the job on its way, or why it failed."""

    key: str
    answer: DriftAnswer | None
    job_id: str | None = None
    error: str | None = None

    @property
    def waiting(self) -> bool:
        return self.answer is None and self.error is None


def ask(store: Store, actor: Actor, run_id: str, data: bytes, filename: str, *,
        requester: str | None = None, seed: int = 0) -> Asked:
    """Stage the batch and queue its check for `actor` (or find the answer kept with the
    run). Raises Refused when the actor may not upload, UploadError for a file above the
    size limit; neither stages nor queues anything."""
    permissions.check(actor, "upload", Place(actor.workspace, actor.name))
    digest = staging.stage(data, filename, store.home)
    key = cache_key(run_id, digest, filename, seed)
    found = cached(store, run_id, key)
    if found is not None:
        return Asked(key, found)
    if requester is not None:
        store.cancel_jobs(requester=requester, kind=KIND)
    job_id = store.enqueue_job(KIND, {"run_id": run_id, "digest": digest,
                                      "filename": Path(filename).name, "key": key,
                                      "seed": seed}, 1,
                               workspace=actor.workspace,
                               owner=actor.name if actor.in_workshop else None,
                               requester=requester)
    return Asked(key, None, job_id)


def poll(store: Store, run_id: str, key: str, job_id: str | None) -> Asked:
    """The kept answer, or where the job that was asked for it stands."""
    found = cached(store, run_id, key)
    if found is not None:
        return Asked(key, found, job_id)
    job = store.get_job(job_id) if job_id else None
    if job is None:
        return Asked(key, None, job_id, "The check was lost (the server restarted?). Upload "
                                        "the file again.")
    if job.active:
        return Asked(key, None, job_id)
    if job.status == "finished":
        return Asked(key, None, job_id, job.result.get("error")
                     or "The answer was not kept: was the run deleted meanwhile?")
    return Asked(key, None, job_id, (job.error or f"The check ended ({job.status}).")
                 .split("\n")[0])
