"""`python -m playground sweep`: the Train page's sweep from the command line.

    python -m playground sweep --dataset digits --model cnn --vary dp_noise=0,0.5,1,2 \
        --seeds 3 --json

Takes every `train` flag for the settings that stay fixed. By default it trains the runs
here, one after the other (as `train` does); --background only queues them for workers.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

from playground.cli.flags import CONFIG_FLAGS, _store
from playground.common.metric_registry import TECHNIQUE, plugin_metrics
from playground.experiments.sweeps import SweepError, get_sweep, plan_sweep, start_sweep, sweep_rows
from playground.runs.worker import execute
from playground.training.config import shorthands
from playground.training.metrics import ACCURACY


def add_parser(sub, add_run_flags) -> None:
    sweep = sub.add_parser(
        "sweep", help="vary one setting over a list of values (and seeds); everything else equal",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_flags(sweep)  # its own copies: sharing train's argument objects broke train
    sweep.add_argument("--vary", required=True, metavar="KNOB=VALUES",
                       help="the setting to vary and its values: a list (dp_noise=0,0.5,1,2) "
                            "or a range start:stop:step (epochs=2:10:2); technique settings "
                            "also take 'off'")
    sweep.add_argument("--seeds", type=int, default=1,
                       help="repeat every value over this many seeds (seed, seed+1, ...)")
    sweep.add_argument("--background", action="store_true",
                       help="queue the runs for the workers and print the sweep id at once")
    sweep.set_defaults(func=run_sweep_command)


def _fail(problems: list[str]) -> int:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 2


def run_sweep_command(args) -> int:
    knob, sep, text = args.vary.partition("=")
    if not sep:
        return _fail([f"--vary: write it as KNOB=VALUES, e.g. dp_noise=0,0.5,1 "
                      f"(you gave {args.vary!r})"])
    base = {k: getattr(args, k) for k in CONFIG_FLAGS if getattr(args, k, None) is not None}
    base.update({k: getattr(args, k) for k in shorthands() if getattr(args, k, None) is not None})
    if getattr(args, "target", None):
        return _fail(["--target: sweeps take a dataset name; import the file with "
                      "`python -m playground train --dataset FILE --target COLUMN` first"])
    try:
        plan = plan_sweep(base, knob.strip().replace("-", "_"), text, seeds=args.seeds)
    except SweepError as exc:
        return _fail(exc.problems)
    store = _store(args)
    before = {r.id for r in store.list_runs()}
    sweep = start_sweep(store, plan)
    if args.background:
        data = sweep.to_json()
        print(json.dumps(data) if args.json else
              f"queued sweep {sweep.id}: {len(sweep.runs)} runs ({sweep.title}); workers "
              "(the app, or `python -m playground worker`) will train them")
        return 0


    # Train everything the sweep queued (teachers and student-alone twins included), oldest
    # first; a run a worker took meanwhile is waited for.
    queued = [r for r in reversed(store.list_runs()) if r.id not in before]
    for i, run in enumerate(queued, 1):
        if store.claim_run(run.id, os.getpid()):
            if not args.json:
                print(f"[{i}/{len(queued)}] {run.config.label()}", file=sys.stderr)
            execute(store, store.get(run.id))
        while (current := store.get(run.id)) is not None and current.active:
            time.sleep(0.5)
    rows = sweep_rows(store, get_sweep(store, sweep.id))
    if args.json:
        print(json.dumps({**sweep.to_json(), "results": rows}))
    else:
        print(f"sweep {sweep.id}: {sweep.title}")
        # what the switched-on techniques add beside accuracy (a DP sweep's ε, ...)
        axes = [m for m in plugin_metrics() if m.section == TECHNIQUE and m.pareto]
        for row in rows:
            acc = row.get(ACCURACY.key)
            extra = "".join(f"  {m.column} {m.format(row[m.key])}" for m in axes
                            if row.get(m.key) is not None)
            print(f"  {knob}={row['value']!s:<8} seed {row['seed']:<3} {row['status']:<9}"
                  + (f" accuracy {acc:.1%}" if acc is not None else "") + extra)
    return 0 if all(r["status"] == "finished" for r in rows) else 1
