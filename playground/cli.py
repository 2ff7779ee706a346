"""Command line over the same core as the app: train, queue, list, show, work.

    python -m playground train --dataset digits --model cnn --epochs 10 --json
    python -m playground train ... --background     # queue for the workers, print the id
    python -m playground runs --json
    python -m playground show RUN_ID --json
    python -m playground worker
    python -m playground sweep --dataset digits --model cnn --vary dp_noise=0,0.5,1,2 --seeds 3
    python -m playground explain RUN_ID --index 7 --method lime,shap,ig,saliency,occlusion --json
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from playground.config import ConfigError, RunConfig, make_config, shorthands
from playground.techniques import technique_class

CONFIG_FLAGS = {
    "dataset": str, "model": str, "epochs": int, "lr": float, "batch_size": int, "seed": int,
    "width": int, "depth": int, "noise": float, "train_fraction": float, "device": str,
}


def _store(args):
    from playground.store import Store

    return Store(args.home)


class ProgressBar:
    """A one-line progress bar on stderr for foreground training."""

    def __init__(self, label: str, enabled: bool):
        self.label = label
        self.enabled = enabled
        self.last = ""
        self.note = ""

    def draw(self, fraction: float, note: str = "") -> None:
        if not self.enabled:
            return
        self.note = note or self.note  # keep the last epoch's news on the line
        filled = int(fraction * 30)
        line = f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} {self.note}"
        if line != self.last:
            sys.stderr.write(line)
            sys.stderr.flush()
            self.last = line

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _train(args) -> int:
    from playground.store import Store
    from playground.worker import StoreReporter

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
        from playground.submit import submit

        run_id = submit(store, config)
        _emit(args, {"run_id": run_id, "status": "queued", "config": config.model_dump()},
              f"queued run {run_id}; a worker (the app, or `python -m playground worker`) "
              "will train it")
        return 0

    from playground.submit import missing_twin, with_new_teacher
    from playground.worker import execute

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

    from playground import uploads

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


def _summary(data: dict[str, Any]) -> str:
    m = data.get("metrics") or {}
    if data["status"] != "finished":
        return f"run {data['run_id']}: {data['status']} {data.get('error') or ''}".strip()
    return (
        f"run {data['run_id']} finished: accuracy {m['accuracy']:.1%}, macro F1 "
        f"{m['f1_macro']:.3f}, {m['params']:,} parameters, {m['size_bytes']:,} bytes, "
        f"{m['latency_ms']:.2f} ms per prediction, trained in {m['train_seconds']:.1f} s "
        f"on {m['device']}"
    )


def _emit(args, data: Any, text: str) -> None:
    if args.json:
        print(json.dumps(data))
    else:
        print(text)


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
    from playground.narrative import run_story

    data["story"] = run_story(_store(args), run, data["epochs"])  # what happened, in words
    _emit(args, data, "\n".join([_summary(data), *data["story"]]))
    return 0


def _explain(args) -> int:
    from playground.explain.command import run_explain

    return run_explain(_store(args), args)


def _worker(args) -> int:
    from playground.worker import serve

    store = _store(args)
    store.recover_orphans()
    print(f"worker {os.getpid()} serving runs from {store.home}", file=sys.stderr)
    try:
        serve(store, threads=args.threads, max_runs=args.max_runs,
              parent_pid=args.parent_pid)
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that describe one run: settings, technique switches, --target, --json."""
    fields = RunConfig.model_fields
    for name, kind in CONFIG_FLAGS.items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, dest=name, type=kind, default=None,
                            help=f"{fields[name].description} (default {fields[name].default})")
    for flat, (name, param) in shorthands().items():
        p = next(p for p in technique_class(name).params if p.name == param)
        parser.add_argument(
            p.flag, dest=flat, default=None, choices=p.choices,
            type=None if p.choices else type(p.default),
            help=f"switch on {technique_class(name).title}: {p.help} (e.g. {p.default})")
    parser.add_argument("--target", default=None,
                        help="with --dataset path/to/file.csv: the column to predict")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m playground", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", default=None,
                        help="data folder (default: $PLAYGROUND_HOME or ./.playground)")
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a run (or queue it with --background)")
    add_run_flags(train)
    train.add_argument("--background", action="store_true",
                       help="queue the run for the workers and print its id at once")
    train.set_defaults(func=_train)

    from playground.sweep_cli import add_parser as add_sweep_parser

    add_sweep_parser(sub, add_run_flags)  # every train flag, plus --vary and --seeds

    runs = sub.add_parser("runs", help="list runs")
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=_runs)

    show = sub.add_parser("show", help="show one run")
    show.add_argument("run_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_show)

    explain = sub.add_parser("explain", help="explain one test example of a finished run")
    explain.add_argument("run_id")
    explain.add_argument("--index", type=int, default=0, help="test example (default 0)")
    explain.add_argument("--method", default="lime,shap,ig,saliency,occlusion",
                         help="comma-separated: lime, shap, ig, saliency, occlusion")
    explain.add_argument("--variant", choices=("float", "int8"), default=None,
                         help="model to explain (default: int8 for int8 runs, else float)")
    explain.add_argument("--target", type=int, default=None,
                         help="class to explain (default: the predicted one)")
    explain.add_argument("--no-cache", action="store_true", help="compute again")
    explain.add_argument("--json", action="store_true", help="print one JSON object")
    explain.set_defaults(func=_explain)

    worker = sub.add_parser("worker", help="run a worker in the foreground")
    worker.add_argument("--threads", type=int, default=None, help="torch threads")
    worker.add_argument("--max-runs", type=int, default=None, help="exit after this many runs")
    worker.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    worker.set_defaults(func=_worker)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.home:  # uploaded datasets are found under PLAYGROUND_HOME, in this process too
        os.environ["PLAYGROUND_HOME"] = os.path.abspath(args.home)
    return args.func(args)
