"""`python -m playground train`: train now, or queue for the workers."""
from __future__ import annotations

import os
import sys
import time
from typing import Callable

from models.base import MODELS, model_info
from playground.cli.flags import CONFIG_FLAGS, ProgressBar, _emit, _store, _summary
from playground.data import uploads
from playground.data.catalog import dataset_exists
from playground.experiments.links import default_model
from playground.experiments.workshop import (
    WorkshopError,
    clean_display_name,
    clean_name,
    load_workspace,
    submit_to_workspace,
)
from playground.runs.queue import Submitted, submit
from playground.runs.store import Store
from playground.runs.worker import StoreReporter, execute
from playground.training.config import ConfigError, RunConfig, make_config, shorthands


def model_defaults(values: dict) -> dict:
    """What the Train page would pick for what the command left out: the first model that
    fits the dataset's kind (word counts for sentences), and that model's learning rate
    (the tiny BERT needs ten times less than the default, or it answers one class)."""
    picked = {}
    if "model" not in values and dataset_exists(values["dataset"]):
        picked["model"] = default_model(values["dataset"])
    model = values.get("model", picked.get("model"))
    if "lr" not in values and model in MODELS:
        picked["lr"] = model_info(model).default_lr
    return picked


def _train(args) -> int:
    values = {k: getattr(args, k) for k in CONFIG_FLAGS if getattr(args, k) is not None}
    values.update({k: getattr(args, k) for k in shorthands() if getattr(args, k) is not None})
    if (dataset := _import_dataset(args)) is None:
        return 2
    values["dataset"] = dataset or values.get("dataset", RunConfig.model_fields["dataset"].default)
    values.update(model_defaults(values))
    try:
        config = make_config(**values)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    store: Store = _store(args)
    try:
        submitted = _submit(store, config, args)
    except WorkshopError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    run_id = submitted.run_id
    if args.background:
        _emit(args, {"run_id": run_id, "status": "queued", "config": config.model_dump(),
                     "queued": submitted.ids},
              f"queued run {run_id}; a worker (the app, or `python -m playground worker`) "
              "will train it")
        return 0

    # In the foreground: train here what was queued, in order ("--distill-from new-mlp":
    # the teacher first, then the student alone, then the student).
    for other in submitted.ids[:-1]:
        if not args.json:
            print(f"training run {other} first: {store.get(other).config.label()}",
                  file=sys.stderr)
        _train_here(store, other)
    train_with_bar(store, run_id, config.label(), args.json,
                   lambda values: f"val accuracy {values['val_accuracy']:.1%}")
    run = store.get(run_id)
    _emit(args, run.to_json(), _summary(run.to_json()))
    return 0 if run.status == "finished" else 1


def _submit(store: Store, config: RunConfig, args) -> Submitted:
    """The one way to queue; in a workshop (--workspace, --owner) within its rules."""
    if not args.workspace:
        if args.owner:
            raise WorkshopError("--owner: a run has an owner only in a workshop; add "
                                "--workspace NAME")
        return submit(store, config)
    name = clean_name(args.workspace)
    ws = load_workspace(store.home, name)
    if ws is None:
        raise WorkshopError(f"--workspace: there is no workshop called {name!r} on this "
                            "server; open it on the Workshop page first, or check the name")
    if not args.owner:
        raise WorkshopError("--owner: say whose run this is (their name in the workshop), "
                            "e.g. --owner Presenter")
    presenter = ws.is_presenter_key(args.presenter_key)
    if args.presenter_key and not presenter:
        raise WorkshopError("--presenter-key: that is not this workshop's presenter key")
    return submit_to_workspace(store, ws, clean_display_name(args.owner), config, presenter)


def train_with_bar(store: Store, run_id: str, label: str, quiet: bool,
                   news: Callable[[dict], str]) -> None:
    """Train a queued run here with the same execute() the workers use, drawing a progress
    bar on stderr (unless `quiet`) whose epoch note is `news(epoch's values)`."""
    bar = ProgressBar(label, enabled=not quiet)

    class BarReporter(StoreReporter):
        def progress(self, fraction: float) -> None:
            super().progress(fraction)
            bar.draw(fraction)

        def epoch(self, epoch, values, fraction):
            super().epoch(epoch, values, fraction)
            bar.draw(fraction, f"epoch {epoch}: {news(values)}")

    try:
        _train_here(store, run_id, BarReporter(store, run_id))
    finally:
        bar.close()


def _train_here(store: Store, run_id: str, reporter: StoreReporter | None = None) -> None:
    """Train a queued run in this process, or, if a worker took it first, wait for it."""
    if store.claim_run(run_id, os.getpid()):
        execute(store, store.get(run_id), reporter)
    while store.get(run_id).active:
        time.sleep(0.5)


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
