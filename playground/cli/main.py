"""Command line over the same core as the app: train, queue, list, show, work.

    python -m playground train --dataset digits --model cnn --epochs 10 --json
    python -m playground train ... --background     # queue for the workers, print the id
    python -m playground runs --json
    python -m playground show RUN_ID --json
    python -m playground worker
    python -m playground sweep --dataset digits --model cnn --vary dp_noise=0,0.5,1,2 --seeds 3
    python -m playground explain RUN_ID --index 7 --method lime,shap,ig,saliency,occlusion --json
    python -m playground counterfactual RUN_ID --index 7 --fixed group --json
    python -m playground export-mlflow --tracking-uri sqlite:///mlflow.db [RUN_ID ...]
    python -m playground workshop open|join|end|export NAME ...
    python -m playground upload FILE.csv --name NAME --target COL [--sensitive COL] --json
    python -m playground compare RUN_ID RUN_ID --pick "fairness gap<=5,epsilon<=3" --json
    python -m playground drift RUN_ID --new FILE.csv --json
    python -m playground pretrain --corpus reviews,sms_spam --model bert --json
"""
from __future__ import annotations

import argparse
import os

from playground.cli.compare import add_parser as add_compare_parser
from playground.cli.counterfactual import add_parser as add_counterfactual_parser
from playground.cli.drift import add_parser as add_drift_parser
from playground.cli.export_mlflow import add_parser as add_export_mlflow_parser
from playground.cli.flags import _store, add_run_flags
from playground.cli.pretrain import add_parser as add_pretrain_parser
from playground.cli.runs import _explain, _runs, _show, _worker
from playground.cli.sweep import add_parser as add_sweep_parser
from playground.cli.train import _train
from playground.cli.upload import add_parser as add_upload_parser
from playground.cli.workshop import add_parser as add_workshop_parser


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
    train.add_argument("--workspace", default=None, metavar="NAME",
                       help="queue it in this workshop (within its limits; it must be open)")
    train.add_argument("--owner", default=None, metavar="NAME",
                       help="whose run it is in the workshop (their display name)")
    train.add_argument("--presenter-key", default=None, metavar="KEY",
                       help="the workshop's presenter key: not held to a person's limits")
    train.set_defaults(func=_train)


    add_pretrain_parser(sub)  # pretrain --corpus reviews,sms_spam: an id for --init-from
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
    explain.add_argument("--method", default=None,
                         help="comma-separated: lime, shap, ig, saliency, occlusion (default: "
                              "every method that explains the run's kind of data)")
    explain.add_argument("--text", default=None,
                         help="text runs: a sentence to explain instead of a test example")
    explain.add_argument("--variant", choices=("float", "int8"), default=None,
                         help="model to explain (default: int8 for int8 runs, else float)")
    explain.add_argument("--target", type=int, default=None,
                         help="class to explain (default: the predicted one)")
    explain.add_argument("--no-cache", action="store_true", help="compute again")
    explain.add_argument("--json", action="store_true", help="print one JSON object")
    explain.set_defaults(func=_explain)

    add_counterfactual_parser(sub, _store)  # counterfactual RUN_ID --index I [--fixed ...]
    add_drift_parser(sub, _store)  # drift RUN_ID --new FILE.csv

    add_export_mlflow_parser(sub)  # export-mlflow [RUN_ID ...] --tracking-uri URI
    add_workshop_parser(sub)  # workshop open|join|end|export NAME
    add_upload_parser(sub)  # upload FILE --name NAME --target COL [--sensitive COL] ...
    add_compare_parser(sub)  # compare RUN_ID RUN_ID... [--pick CONDITIONS] --json

    worker = sub.add_parser("worker", help="run a worker in the foreground")
    worker.add_argument("--threads", type=int, default=None, help="torch threads")
    worker.add_argument("--max-runs", type=int, default=None, help="exit after this many runs")
    worker.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    worker.add_argument("--ray", default=None, metavar="ADDRESS",
                        help="send runs to a Ray cluster instead of training here: local (a "
                             "private Ray instance), auto, or host:port of `ray start --head`"
                             " (default: $PLAYGROUND_RAY_ADDRESS)")
    worker.add_argument("--cpus", type=int, default=None,
                        help="with --ray local: how many runs at once (default: as local workers)")
    worker.set_defaults(func=_worker)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.home:  # uploaded datasets are found under PLAYGROUND_HOME, in this process too
        os.environ["PLAYGROUND_HOME"] = os.path.abspath(args.home)
    return args.func(args)
