"""`upload`: save a CSV (or a ZIP of pictures) as a dataset, as the Your data page does.

    python -m playground upload loans.csv --name my_loans --target approved \
        --sensitive gender --leave-out gender --json
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from playground.cli.flags import _emit
from playground.common.permissions import LOCAL
from playground.data import uploads


def add_parser(sub) -> None:
    parser = sub.add_parser(
        "upload", help="save a CSV table or a ZIP of pictures as a dataset",
        description="Checks the file as the Your data page does and saves it under the data "
        "folder; refusals name the problem and the fix (exit status 2).")
    parser.add_argument("file", help="a .csv table (or a .zip of one folder per class)")
    parser.add_argument("--name", default=None,
                        help="the dataset's name (default: made from the file name)")
    parser.add_argument("--target", default=None,
                        help="the column to predict (default: a usual name, else the last)")
    parser.add_argument("--sensitive", default="",
                        help="the column that names each row's group, for the fairness check")
    parser.add_argument("--leave-out", default="", metavar="COL,...",
                        help="columns the model must not see (still usable as groups)")
    parser.add_argument("--words", action="store_true",
                        help="read a free-text column beside other columns as words (text "
                        "alone always is)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=_upload)


def upload(path: Path, name: str | None, target: str | None, sensitive: str = "",
           leave_out: tuple[str, ...] = (), home=None, words: bool = False) -> dict:
    """Check and save the file; its manifest. Raises UploadError naming each problem."""
    if not path.is_file():
        raise uploads.UploadError(f"There is no file {str(path)!r}. Fix: check the path.")
    data = path.read_bytes()
    if target is None and uploads.file_kind(data, path.name) == "csv":
        frame, _ = uploads.read_table(data, path.name)
        target = uploads.guess_target(list(frame.columns))
    prepared = uploads.prepare(data, path.name, target,
                               name or uploads.suggest_name(path.name, home))
    if words:
        prepared = uploads.read_words(prepared)
    if sensitive and sensitive not in prepared.groups:
        why = prepared.not_groups.get(sensitive) or "is not an input column of this table"
        raise uploads.UploadError(
            f"--sensitive: '{sensitive}' {why}; columns that can name groups: "
            f"{', '.join(prepared.groups) or 'none'}")
    prepared = replace(prepared, sensitive=sensitive, leave_out=tuple(leave_out))
    uploads.save(prepared, home, LOCAL)
    return uploads.manifest_of(prepared.name, home)


def _upload(args) -> int:
    leave_out = tuple(c.strip() for c in args.leave_out.split(",") if c.strip())
    try:
        manifest = upload(Path(args.file), args.name, args.target, args.sensitive, leave_out,
                          words=args.words)
    except uploads.UploadError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    columns = manifest.get("columns") or []
    summary = {
        "name": manifest["name"], "kind": manifest["kind"], "rows": manifest["rows"],
        "target": manifest["target"], "classes": manifest["class_counts"],
        "columns": [c["name"] for c in columns], "inputs": len(manifest["feature_names"]),
        "sensitive": manifest.get("sensitive") or None,
        "leave_out": manifest.get("leave_out") or [],
        "group_columns": manifest.get("group_columns") or [], "notes": manifest["notes"],
    }
    text = "\n".join([f"saved dataset '{summary['name']}': {manifest['description']}",
                      *(f"- {n}" for n in summary["notes"])])
    _emit(args, summary, text)
    return 0
