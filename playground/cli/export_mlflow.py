"""`export-mlflow`: finished runs into an MLflow tracking database or server."""
from __future__ import annotations

import argparse
import json
import sys

from playground.cli.flags import _store
from playground.results.export import mlflow_export as mx


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "export-mlflow", help="send finished runs to MLflow (all of them when none is named)",
        description="Each run becomes one MLflow run: settings as parameters, per-epoch "
        "curves and test numbers as metrics, the confusion matrix and the model as "
        "artifacts. Runs already there are skipped.")
    parser.add_argument("run_ids", nargs="*", metavar="RUN_ID",
                        help="runs to send (default: every finished run)")
    parser.add_argument("--tracking-uri", default=None, metavar="URI",
                        help="sqlite:///PATH/mlflow.db or http://HOST:PORT "
                             "(default: sqlite:///<data folder>/mlflow.db)")
    parser.add_argument("--experiment", default=mx.EXPERIMENT,
                        help=f"MLflow experiment (default {mx.EXPERIMENT!r}; made if missing)")
    parser.add_argument("--json", action="store_true", help="print one JSON list")
    parser.set_defaults(func=_export_mlflow)


def _export_mlflow(args: argparse.Namespace) -> int:
    store = _store(args)
    uri = args.tracking_uri or mx.default_tracking_uri(store)
    # A typo in an id refuses the whole export: nothing is sent until every id is right.
    unknown = [i for i in args.run_ids if store.get(i) is None]
    if unknown:
        print(f"error: no run with id {', '.join(map(repr, unknown))}; "
              "`python -m playground runs` lists them (nothing was exported)", file=sys.stderr)
        return 2
    try:
        results = mx.export_runs(store, uri, args.run_ids or None, args.experiment)
    except mx.ExportError as e:
        print(f"error: {e} (nothing was exported)", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([r.to_json() for r in results]))
    else:
        for r in results:
            print(r.line())
        print(mx.summary(results, uri))
    return 1 if any(r.outcome == mx.FAILED for r in results) else 0
