"""`python -m playground train`: train now, or queue for the workers."""
from __future__ import annotations

import os
import sys
import time

from playground.cli.flags import CONFIG_FLAGS, ProgressBar, _emit, _store, _summary
from playground.data import uploads
from playground.runs.queue import missing_twin, submit, with_new_teacher
from playground.runs.store import Store
from playground.runs.worker import StoreReporter, execute
from playground.training.config import ConfigError, RunConfig, make_config, shorthands


def _train(args) -> int:
    values = {k: getattr(args, k) for k in CONFIG_FLAGS if getattr(args, k) is not None}
    values.update({k: getattr(args, k) for k in shorthands() if getattr(args, k) is not None})
    if (dataset := _import_dataset(args)) is None:
        return 2
    values["dataset"] = dataset or values.get("dataset", RunConfig.model_fields["dataset"].default)
    try:
        config = make_config(**values)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    store: Store = _store(args)
    if args.background:
        run_id = submit(store, config)
        _emit(args, {"run_id": run_id, "status": "queued", "config": config.model_dump()},
              f"queued run {run_id}; a worker (the app, or `python -m playground worker`) "
              "will train it")
        return 0


    config = with_new_teacher(store, config)  # "--distill-from new-mlp": teacher trains first
    teacher = store.get(config.techniques.get("distillation", {}).get("teacher", ""))
    if teacher is not None and teacher.active:
        if not args.json:
            print(f"training the teacher first: run {teacher.id}", file=sys.stderr)
        if store.claim_run(teacher.id, os.getpid()):
            execute(store, store.get(teacher.id))
        while store.get(teacher.id).active:  # a worker got to it first: wait for it
            time.sleep(0.5)
    twin = missing_twin(store, config)
    if twin is not None:  # train the student alone first, to compare against
        twin_id = store.enqueue(twin, status="running", pid=os.getpid())
        execute(store, store.get(twin_id))
    run_id = store.enqueue(config, status="running", pid=os.getpid())
    bar = ProgressBar(config.label(), enabled=not args.json)

    class BarReporter(StoreReporter):
        def progress(self, fraction: float) -> None:
            super().progress(fraction)
            bar.draw(fraction)

        def epoch(self, epoch, values, fraction):
            super().epoch(epoch, values, fraction)
            bar.draw(fraction, f"epoch {epoch}: val accuracy {values['val_accuracy']:.1%}")

    try:
        # The same execute() the workers use, with a reporter that also draws the bar.
        status = execute(store, store.get(run_id), BarReporter(store, run_id))
    finally:
        bar.close()
    run = store.get(run_id)
    _emit(args, run.to_json(), _summary(run.to_json()))
    return 0 if status == "finished" else 1


def _import_dataset(args) -> str | None:
    """`--dataset path/to/file.csv --target label`: import the file as a dataset (once; the
    same file again reuses it) and return its name; "" when --dataset names a dataset;
    None after printing why the file was refused."""
    from pathlib import Path


    given = args.dataset or ""
    is_file = Path(given).suffix.lower() in {".csv", ".tsv", ".txt", ".zip"} or "/" in given
    if not is_file:
        if args.target:
            print("error: --target goes with a file, e.g. --dataset path/to/file.csv "
                  "--target label", file=sys.stderr)
            return None
        return ""
    try:
        name = uploads.import_file(given, target=args.target, home=args.home)
    except uploads.UploadError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return None
    print(f"using {Path(given).name} as dataset '{name}'", file=sys.stderr)
    return name
