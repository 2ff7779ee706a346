"""`python -m playground drift RUN_ID --new FILE.csv [--json]`.

Checks a new batch of rows against the rows a finished run was trained on: per column a
two-sample test, overall a model asked to tell new rows from old (all corrected together),
and, when the batch has the column the run predicts, the run's accuracy on it beside its test
accuracy. Refusals (no such run, a picture run, a file that is not a usable CSV) exit 2 with
the problem and the fix. The answer goes into the same place the Your data page keeps it.
Importing this module also lets a worker started here do the "drift" jobs the page queues.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from playground.data.uploads import staging
from playground.experiments import drift_check
from playground.explain.subjects import ModelBank


def add_parser(sub, store_of) -> None:
    d = sub.add_parser("drift", help="check a new batch of rows against a finished run")
    d.add_argument("run_id")
    d.add_argument("--new", required=True, metavar="FILE.csv",
                   help="the new rows: a CSV with the same columns as the run's table")
    d.add_argument("--seed", type=int, default=0,
                   help="the seed of the model that tells old rows from new (default 0)")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=lambda args: run_drift(store_of(args), args))


def run_drift(store, args) -> int:
    path = Path(args.new)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(f"error: can't read {path} ({exc.strerror}). Fix: give the path of a CSV file.",
              file=sys.stderr)
        return 2
    key = drift_check.cache_key(args.run_id, staging.digest_of(data), path.name, args.seed)
    answer = drift_check.cached(store, args.run_id, key)
    cached = answer is not None
    if answer is None:
        try:
            answer = drift_check.check(ModelBank(store), args.run_id, data, path.name,
                                       args.seed)
        except ValueError as exc:  # UploadError among them: each problem with its fix
            problems = getattr(exc, "problems", None) or [str(exc)]
            print("error: " + " ".join(problems), file=sys.stderr)
            return 2
        drift_check.keep(store, key, answer)
    if args.json:
        print(json.dumps({**answer.to_json(), "cached": cached}, default=float))
        return 0
    report = answer.report
    print(report.verdict())
    if report.classifier is not None:
        print(f"  {report.classifier.sentence()}.")
    for column in report.columns:
        print(f"  {column.sentence()}")
    if answer.labels is not None:
        print(answer.labels.sentence())
    print(f"  ({report.method()})")
    for note in report.notes:
        print(f"  note: {note}")
    return 0
