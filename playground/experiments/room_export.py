"""A workshop's room, exported when it ends: every run with the name of who trained it.

- `room_csv`: one row per run in the workshop (every status), the person's name and whether
  the presenter removed them, the run in words, then every setting and every metric the
  registry declares (playground.results.export.tables.run_row). Every cell goes through
  `escape.csv_cell`, so a name or a class typed as "=HYPERLINK(...)" stays text.
- `room_report`: one self-contained HTML page: the boards for each dataset used, then every
  run with its owner. Everything a person typed is escaped.
- `room_zip`: both in one file, the one download the presenter gets.
- `export_room`: both written to a folder (the CLI); `export_room_mlflow`: every finished run
  of the workshop through the MLflow export, whose own checks decide where it may go.
"""
from __future__ import annotations

import csv
import io
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playground.common.escape import csv_cell, html
from playground.common.permissions import OPERATOR, Actor
from playground.experiments.leaderboards import Board, leaderboards
from playground.experiments.workshop import REMOVED, Workspace
from playground.results.export import mlflow_export as mx
from playground.results.export.tables import run_row
from playground.runs.store import Run, Store

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;
color:#111;padding:0 1rem}h2{margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.95rem;margin:.5rem 0 1.2rem}
td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f2f2f2}
.note{color:#333;font-size:.9rem}.removed{color:#8a1c1c}
"""


@dataclass(frozen=True)
class RoomFiles:
    csv: Path
    report: Path


def room_runs(store: Store, ws: Workspace) -> list[Run]:
    """Every run queued in the workshop, oldest first."""
    return sorted(store.list_runs(None, workspace=ws.name), key=lambda r: r.created)


def _person(ws: Workspace, run: Run) -> tuple[str, bool]:
    """The name shown for the run's owner, and whether the presenter removed them."""
    owner = run.owner or ""
    gone = ws.is_removed(run)
    if gone and owner.endswith(REMOVED):
        owner = owner[: -len(REMOVED)]
    return owner, gone


def _when(t: float | None) -> str:
    return "" if t is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


def room_rows(store: Store, ws: Workspace) -> list[dict[str, Any]]:
    """One flat row per run: who, then what it was and every declared metric."""
    rows = []
    for run in room_runs(store, ws):
        name, gone = _person(ws, run)
        rows.append({"person": name, "removed": gone,
                     "presenter": run.owner == ws.presenter_name,
                     "queued_utc": _when(run.created), "finished_utc": _when(run.finished),
                     **run_row(run)})
    return rows


def room_csv(store: Store, ws: Workspace) -> str:
    rows = room_rows(store, ws)
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns) or ["person"], restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell("" if v is None else v) for k, v in row.items()})
    return out.getvalue()


def room_boards(store: Store, ws: Workspace) -> dict[str, list[Board]]:
    """The boards for each dataset the workshop's finished runs used (the lesson's first)."""
    done = [r for r in room_runs(store, ws) if r.status == "finished"]
    used = [d for d, _ in Counter(r.config.dataset for r in done).most_common()]
    fixed = ws.lesson.values.get("dataset")
    order = ([fixed] if fixed in used else []) + [d for d in used if d != fixed]
    return {d: leaderboards(done, ws.boards, d, ws=ws) for d in order}


def _table(rows: list[dict[str, Any]], removed: list[bool] | None = None) -> str:
    if not rows:
        return "<p class='note'>Nobody qualifies.</p>"
    head = "".join(f"<th>{html(c)}</th>" for c in rows[0])
    body = []
    for i, row in enumerate(rows):
        cls = " class='removed'" if removed and removed[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{html(v)}</td>" for v in row.values())
                    + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def room_report(store: Store, ws: Workspace) -> str:
    """The workshop in one HTML page: its boards per dataset, then every run with its
    owner. Opens offline; fetches nothing."""
    runs = room_runs(store, ws)
    status = Counter(r.status for r in runs)
    people = {r.owner for r in runs if r.owner}
    ended = f"ended {_when(ws.ended)} UTC" if ws.ended else "still open"
    parts = [f"<h1>Workshop {html(ws.name)}</h1>",
             f"<p class='note'>Presenter {html(ws.presenter_name)} · opened "
             f"{_when(ws.created)} UTC, {ended} · {len(runs)} runs by {len(people)} people "
             f"({', '.join(f'{n} {html(s)}' for s, n in status.most_common())}). Exported "
             f"{_when(time.time())} UTC from the Trade-off Playground.</p>"]
    for dataset, boards in room_boards(store, ws).items():
        parts.append(f"<h2>Leaderboards on {html(dataset)}</h2>")
        for board in boards:
            parts.append(f"<h3>{html(board.title)}</h3><p class='note'>{html(board.help)}"
                         + "".join(f" {html(n.capitalize())}." for n in board.left_out)
                         + "</p>")
            parts.append(_table(board.rows(), [e.removed for e in board.entries]))
    parts.append("<h2>Every run</h2>")
    rows, gone = [], []
    for run in runs:
        name, removed = _person(ws, run)
        accuracy = run_row(run).get("deployed_accuracy")
        rows.append({"who": name + (REMOVED if removed else ""), "run": run.config.label(),
                     "data": run.config.dataset, "status": run.status,
                     "accuracy": "" if accuracy is None else f"{accuracy:.1%}",
                     "finished (UTC)": _when(run.finished), "id": run.id})
        gone.append(removed)
    parts.append(_table(rows, gone))
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>Workshop {html(ws.name)}</title><style>{_STYLE}</style></head><body>"
            + "".join(parts) + "</body></html>")


def file_names(ws: Workspace) -> tuple[str, str]:
    return f"workshop-{ws.name}-runs.csv", f"workshop-{ws.name}-report.html"


def room_zip(store: Store, ws: Workspace) -> bytes:
    """The CSV and the report in one ZIP: the room's one download."""
    csv_name, report_name = file_names(ws)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(csv_name, room_csv(store, ws))
        z.writestr(report_name, room_report(store, ws))
    return buffer.getvalue()


def export_room(store: Store, ws: Workspace, out: Path) -> RoomFiles:
    """Write the CSV and the report into folder `out` (made if missing)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    csv_name, report_name = file_names(ws)
    files = RoomFiles(out / csv_name, out / report_name)
    files.csv.write_text(room_csv(store, ws), encoding="utf-8")
    files.report.write_text(room_report(store, ws), encoding="utf-8")
    return files


def export_room_mlflow(store: Store, ws: Workspace, tracking_uri: str | None = None,
                       actor: Actor = OPERATOR) -> list[mx.Exported]:
    """Every finished run of the workshop to MLflow (the data folder's database unless
    `tracking_uri`), in one experiment named after it, as `actor` (the command line is the
    operator): the MLflow export's checks decide who may send and where to."""
    ids = [r.id for r in room_runs(store, ws) if r.status == "finished"]
    uri = tracking_uri or mx.default_tracking_uri(store)
    return mx.export_runs(store, uri, ids, f"{mx.EXPERIMENT}: workshop {ws.name}", actor)
