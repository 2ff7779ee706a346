"""`compare`: whether finished runs differ by more than luck, and which one to ship.

    python -m playground compare RUN RUN... --json
    python -m playground compare RUN RUN... --pick "fairness gap<=5,epsilon<=3,size<=100KB" --json
"""
from __future__ import annotations

import argparse
import sys

from playground.cli.flags import _emit, _store
from playground.results import ship
from playground.results.answers import answers


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "compare", help="compare finished runs: luck, business answers, the run to ship",
        description="Each pair's accuracy difference, measured on the runs' own test "
        "answers, with a plain verdict (within or beyond luck); with --pick, the most "
        "accurate run within your limits and why each other run is out.")
    parser.add_argument("run_ids", nargs="+", metavar="RUN_ID", help="two or more runs")
    parser.add_argument("--pick", default=None, metavar="CONDITIONS",
                        help='limits, comma-separated, e.g. "fairness gap<=5,epsilon<=3,'
                             'size<=100KB,latency<=5ms" (gaps in percentage points)')
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_compare)


def _refuse(problem: str) -> int:
    print(f"error: {problem}", file=sys.stderr)
    return 2


def _compare(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        limits = ship.parse(args.pick) if args.pick is not None else []
    except ValueError as e:
        return _refuse(str(e))
    if args.pick is not None and not limits:
        return _refuse('--pick: no condition given; e.g. --pick "fairness gap<=5,epsilon<=3"')
    if len(set(args.run_ids)) < (1 if args.pick is not None else 2):
        return _refuse("name at least two different runs to compare (or one with --pick); "
                       "`python -m playground runs` lists them")
    runs = []
    for run_id in dict.fromkeys(args.run_ids):
        run = store.get(run_id)
        if run is None:
            return _refuse(f"no run with id {run_id!r}; `python -m playground runs` lists them")
        if run.status != "finished":
            return _refuse(f"run {run_id!r} is {run.status}; only finished runs have results "
                           "to compare")
        runs.append(run)
    said = answers(store, runs, limits)
    data = said.to_json()
    if args.pick is None:
        data.pop("pick")
    text = [f"{said.names[r.id]} ({r.id})" for r in runs] + [""] + said.luck_lines()
    if args.pick is not None:
        text += ["", said.pick.summary(said.names), *said.pick.reasons(said.names)]
    _emit(args, data, "\n".join(text))
    return 0
