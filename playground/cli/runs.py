"""`runs`, `show`, `explain` and `worker`: reading runs and serving them."""
from __future__ import annotations

import json
import os
import sys

import playground.experiments.upload_jobs  # noqa: F401 - and checks uploads
import playground.explain.jobs  # noqa: F401 - a worker started here does explanation jobs
from playground.cli.explain import run_explain
from playground.cli.flags import _emit, _store, _summary
from playground.results import cohorts
from playground.results.narrative import run_story
from playground.runs import ray_executor
from playground.runs.worker import serve


def _runs(args) -> int:
    runs = _store(args).list_runs()
    if args.json:
        print(json.dumps([r.to_json() for r in runs]))
        return 0
    for r in runs:
        acc = r.metrics.get("accuracy")
        shown = "" if acc is None else f"{acc:.1%}"
        print(f"{r.id}  {r.status:<11} {shown:>6}  {r.config.label()}")
    return 0


def _show(args) -> int:
    run = _store(args).get(args.run_id)
    if run is None:
        print(f"error: no run with id {args.run_id!r}; `python -m playground runs` lists them",
              file=sys.stderr)
        return 2
    data = run.to_json()
    data["epochs"] = _store(args).epochs(run.id)

    data["story"] = run_story(_store(args), run, data["epochs"])  # what happened, in words
    if args.json and run.status == "finished":
        data["error_cohorts"] = _error_cohorts(_store(args), run)
    _emit(args, data, "\n".join([_summary(data), *data["story"]]))
    return 0


def _error_cohorts(store, run) -> dict:
    """Where the run fails: the kept answer, else computed here and kept."""
    try:
        answer, _ = cohorts.cached(store, run)
    except ValueError as exc:  # its test answers are gone: say so instead of failing `show`
        return {"error": str(exc)}
    return answer.to_json()


def _explain(args) -> int:
    return run_explain(_store(args), args)


def _worker(args) -> int:
    store = _store(args)
    store.recover_orphans()
    address = args.ray or os.environ.get(ray_executor.ADDRESS_ENV)
    try:
        if address:
            ray_executor.serve(store, address, max_runs=args.max_runs,
                               parent_pid=args.parent_pid, cpus=args.cpus)
            return 0
        print(f"worker {os.getpid()} serving runs from {store.home}", file=sys.stderr)
        serve(store, threads=args.threads, max_runs=args.max_runs,
              parent_pid=args.parent_pid)
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0
