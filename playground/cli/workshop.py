"""`python -m playground workshop ...`: a workshop from the command line, over the same core
as the Workshop page (for presenters who script, and for checks).

    python -m playground workshop open friday-class --presenter "Ms Lee"   # prints the key
    python -m playground workshop join friday-class --name Ada              # prints a token
    python -m playground workshop end friday-class
    python -m playground workshop export friday-class --out room/ [--mlflow URI]

The command line is the server's operator (it runs where the data folder is), so `end` and
`export` need no presenter key. A refusal prints its reason and exits with status 2.
"""
from __future__ import annotations

import argparse
import json
import sys

from playground.cli.flags import _store
from playground.experiments.room_export import export_room, export_room_mlflow
from playground.experiments.workshop import (
    WorkshopError,
    clean_name,
    end_workshop,
    join_workspace,
    load_workspace,
    open_workspace,
)
from playground.results.export import mlflow_export as mx


def add_parser(sub) -> None:
    parser = sub.add_parser("workshop", help="open, join, end or export a workshop",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", required=True)

    opened = actions.add_parser("open", help="open a workshop; prints its presenter key")
    opened.add_argument("name", help="the workshop's name, e.g. friday-class")
    opened.add_argument("--presenter", default="Presenter", metavar="NAME",
                        help="the presenter's name on the boards (default Presenter)")
    opened.set_defaults(func=_open)

    join = actions.add_parser("join", help="join a workshop; prints the personal token")
    join.add_argument("name")
    join.add_argument("--name", dest="person", required=True, metavar="NAME",
                      help="the name the others will see")
    join.set_defaults(func=_join)

    end = actions.add_parser("end", help="end a workshop: no more joining or queuing")
    end.add_argument("name")
    end.add_argument("--cancel-waiting", action="store_true",
                     help="also cancel the runs still waiting or training")
    end.set_defaults(func=_end)

    export = actions.add_parser("export", help="write the room's CSV and HTML report")
    export.add_argument("name")
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    export.add_argument("--mlflow", default=None, metavar="URI", nargs="?", const="",
                        help="also send every finished run to MLflow (no URI: the data "
                             "folder's mlflow.db)")
    export.set_defaults(func=_export)

    for action in (opened, join, end, export):
        action.add_argument("--json", action="store_true", help="print one JSON object")


def _refuse(problems: list[str]) -> int:
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 2


def _print(args, data: dict, words: str) -> None:
    print(json.dumps(data) if args.json else words)


def _open(args) -> int:
    store = _store(args)
    try:
        ws, key = open_workspace(store.home, args.name, args.presenter)
    except WorkshopError as exc:
        return _refuse(exc.problems)
    _print(args, {"workshop": ws.name, "presenter": ws.presenter_name, "presenter_key": key},
           f"opened workshop {ws.name} (presenter {ws.presenter_name})\n"
           f"presenter key (keep it private; shown once): {key}\n"
           f"join link: {ws.join_url()}")
    return 0


def _join(args) -> int:
    store = _store(args)
    try:
        actor, token = join_workspace(store.home, args.name, args.person)
    except WorkshopError as exc:
        return _refuse(exc.problems)
    _print(args, {"workshop": actor.workspace, "name": actor.name, "person": actor.person,
                  "token": token},
           f"joined {actor.workspace} as {actor.name}\n"
           f"personal token (keep it private; it brings you back as yourself): {token}")
    return 0


def _end(args) -> int:
    store = _store(args)
    try:
        ws = end_workshop(store.home, store, args.name, None, operator=True,
                          cancel_waiting=args.cancel_waiting)
    except WorkshopError as exc:
        return _refuse(exc.problems)
    _print(args, {"workshop": ws.name, "ended": ws.ended},
           f"ended workshop {ws.name}: nobody can join it or queue in it now")
    return 0


def _export(args) -> int:
    store = _store(args)
    try:
        ws = load_workspace(store.home, clean_name(args.name))
    except WorkshopError as exc:
        return _refuse(exc.problems)
    if ws is None:
        return _refuse([f"no workshop called {args.name!r} on this server"])
    sent: list[mx.Exported] = []
    if args.mlflow is not None:  # checked first: a refused URI writes nothing at all
        try:
            sent = export_room_mlflow(store, ws, args.mlflow or None)
        except mx.ExportError as exc:
            return _refuse([f"{exc} (nothing was exported)"])
    files = export_room(store, ws, args.out)
    data = {"workshop": ws.name, "csv": str(files.csv), "report": str(files.report),
            "mlflow": [r.to_json() for r in sent]}
    words = f"wrote {files.csv}\nwrote {files.report}"
    if args.mlflow is not None:
        words += "\n" + mx.summary(sent, args.mlflow or mx.default_tracking_uri(store))
    _print(args, data, words)
    return 1 if any(r.outcome == mx.FAILED for r in sent) else 0
