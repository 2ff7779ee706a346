"""Finished runs into MLflow, the tracker teams already use: one MLflow run per run, with
its settings as parameters, its per-epoch curves (step = epoch) and final test numbers as
metrics, the confusion matrix (JSON and a picture), the model bundle (the same files as
the model zip) as artifacts, and tags naming the run and its techniques.

Exporting again does not duplicate: every MLflow run carries the tag `playground.run_id`,
and a run already there (and complete) is skipped. An export cut short (a crash, a full
disk) leaves an MLflow run that never reached FINISHED; the next export replaces it.
Only an explicit `MlflowClient(tracking_uri=...)` is used: no global MLflow state.

Who may send, and where: the operator, or a workshop's presenter (its runs), and only to a
database file inside the data folder or to a tracking server the operator lists
(PLAYGROUND_MLFLOW_URIS, or "mlflow_uris" in the data folder's settings.json). Anything
else is refused before a file is made or a request leaves the server.
"""
from __future__ import annotations

import io
import socket
import sqlite3
import tempfile
import time
import zipfile
from contextlib import closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from playground.common.metric_registry import all_metrics
from playground.common.permissions import OPERATOR, Actor, Place, check
from playground.common.server_settings import MLFLOW_URIS_ENV, SETTINGS_FILE, mlflow_uris
from playground.results import shipped  # noqa: F401  (declares every metric)
from playground.results.export.model_zip import model_zip
from playground.runs.store import Run, Store

EXPERIMENT = "Trade-off Playground"
RUN_TAG = "playground.run_id"  # the tag that makes a second export find the first
EXPORTED, ALREADY, SKIPPED, FAILED = "exported", "already exported", "skipped", "failed"
_CURVES = ("val_accuracy", "val_loss", "train_loss", "train_accuracy")
_BATCH_METRICS, _BATCH_PARAMS = 1000, 100  # MLflow's limits per log_batch call


class ExportError(ValueError):
    """The tracking URI cannot be used; the message names the problem and the fix.
    Raised before anything is written."""


@dataclass(frozen=True)
class Exported:
    """What became of one run: `outcome` is exported, already exported, skipped or failed
    (`reason` says why, in words)."""

    run_id: str
    outcome: str
    mlflow_run_id: str | None = None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        where = f" -> MLflow run {self.mlflow_run_id}" if self.mlflow_run_id else ""
        why = f": {self.reason}" if self.reason else ""
        return f"{self.run_id}  {self.outcome}{where}{why}"


def default_tracking_uri(store: Store) -> str:
    """An SQLite file beside the playground's own store: sqlite:///<home>/mlflow.db."""
    return f"sqlite:///{Path(store.home).resolve() / 'mlflow.db'}"


def export_runs(store: Store, tracking_uri: str, run_ids: list[str] | None = None,
                experiment: str = EXPERIMENT, actor: Actor = OPERATOR) -> list[Exported]:
    """Export the named runs (every finished run when None) to the MLflow tracking server
    or database at `tracking_uri`, into `experiment` (made if missing), as `actor` (the
    command line is the operator). Returns one Exported per run, in the order asked (oldest
    first when None). Refused (permissions) or ExportError (a URI outside the allowed set,
    or one that cannot be used) before any run is written; a run that is unknown, not
    finished, or not the actor's to send is reported as skipped."""
    check(actor, "mlflow", Place(actor.workspace, actor.name, actor.person))
    tracking_uri = tracking_uri.strip()
    _check_allowed(store, tracking_uri)
    _check_uri(store, tracking_uri)
    if run_ids is None:
        wanted: list[Run | str] = list(reversed(store.list_runs(
            ("finished",), **({"workspace": actor.workspace} if actor.in_workshop else {}))))
    else:
        wanted = [store.get(i) or i for i in dict.fromkeys(run_ids)]
    results = [_unfit(r, actor) for r in wanted]
    todo = [r for r, done in zip(wanted, results, strict=True) if done is None]
    if todo:
        client = _client(tracking_uri)
        experiment_id = _experiment(client, tracking_uri, experiment)
        exported = iter([_export_one(client, experiment_id, store, run) for run in todo])
        results = [done or next(exported) for done in results]
    return results


def summary(results: list[Exported], tracking_uri: str) -> str:
    """In words, e.g. "3 runs sent to MLflow (1 was already there). Open them with: …"."""
    sent = [r for r in results if r.outcome in (EXPORTED, ALREADY)]
    already = sum(r.outcome == ALREADY for r in results)
    lines = []
    if sent:
        there = f" ({already} {'was' if already == 1 else 'were'} already there)" \
            if already else ""
        lines.append(f"{_runs(len(sent))} sent to MLflow{there}.")
    elif not results:
        lines.append("No finished runs to send to MLflow.")
    for r in results:
        if r.outcome in (SKIPPED, FAILED):
            lines.append(f"Run {r.run_id} was not sent: {r.reason}.")
    if sent:
        lines.append(open_hint(tracking_uri))
    return "\n".join(lines)


def open_hint(tracking_uri: str) -> str:
    if urlparse(tracking_uri).scheme in ("http", "https"):
        return f"Open them at {tracking_uri}."
    return (f"Open them with: `mlflow ui --backend-store-uri {tracking_uri}` (the MLflow UI "
            "comes with the full package: `pip install mlflow`).")


def _runs(n: int) -> str:
    return f"{n} run" if n == 1 else f"{n} runs"


# -- checks before anything is written ------------------------------------------------------

def allowed_problem(store: Store, uri: str) -> str | None:
    """Why `uri` is outside what the operator allows (None: allowed): a database file must
    lie inside the data folder; any other destination must be listed by the operator."""
    home = Path(store.home).resolve()
    listed = mlflow_uris(home)
    fix = (f"send to a file inside the data folder (e.g. {default_tracking_uri(store)}), or "
           f"ask the operator to list this server in {MLFLOW_URIS_ENV} (or \"mlflow_uris\" in "
           f"{home / SETTINGS_FILE})")
    if uri.rstrip("/") in listed:
        return None
    if uri.startswith("sqlite:///"):
        path = uri[len("sqlite:///"):].split("?", 1)[0]
        if not path or path.startswith(":memory:"):
            return None  # _check_uri names this problem
        db = Path(path if path.startswith("/") else Path.cwd() / path).resolve()
        if db.is_relative_to(home):
            return None
        return f"{uri} is outside the data folder {home}: {fix}"
    if not urlparse(uri).scheme:
        return None  # not a URI: _check_uri says so
    return f"{uri} is not a tracking server the operator allows: {fix}"


def _check_allowed(store: Store, uri: str) -> None:
    if (problem := allowed_problem(store, uri)) is not None:
        raise ExportError(problem)


def _check_uri(store: Store, uri: str) -> None:
    fix = ("use sqlite:///PATH/mlflow.db for a file (e.g. " + default_tracking_uri(store) +
           ") or http://HOST:PORT for an MLflow server")
    parsed = urlparse(uri)
    if not uri or not parsed.scheme:
        raise ExportError(f"tracking URI {uri!r} is not a URI; {fix}")
    if parsed.scheme == "sqlite":
        path = uri[len("sqlite:///"):] if uri.startswith("sqlite:///") else ""
        if not path or path.startswith(":memory:"):
            raise ExportError(f"tracking URI {uri!r} names no database file; {fix}")
        path = path.split("?", 1)[0]
        db = Path(path if path.startswith("/") else Path.cwd() / path).resolve()
        if db == Path(store.db_path).resolve():
            raise ExportError(f"{uri} is the playground's own run store; MLflow needs a "
                              f"file of its own: {fix}")
        if not db.parent.is_dir():
            raise ExportError(f"tracking URI {uri!r}: the folder {db.parent} does not exist; "
                              "create it first, or pick a file in an existing folder")
        if db.exists() and not _mlflow_database(db):
            raise ExportError(f"tracking URI {uri!r}: {db} exists and is not an MLflow "
                              "database; pick a new file name (MLflow creates it)")
    elif parsed.scheme in ("http", "https"):
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname or "", port), timeout=5).close()
        except OSError as e:
            raise ExportError(f"cannot reach the MLflow server at {uri} ({e}); start it "
                              "(mlflow server --port PORT) or check the address") from None


def _mlflow_database(db: Path) -> bool:
    """Whether an existing file is an SQLite database MLflow may use: empty, or MLflow's
    (never another program's database, which MLflow would add its tables to)."""
    if not db.is_file():
        return False
    if db.stat().st_size == 0:
        return True
    with db.open("rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            return False
    try:
        with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master "
                                                 "WHERE type='table'")}
    except sqlite3.Error:
        return False
    return not tables or {"experiments", "runs", "alembic_version"} <= tables


def _unfit(run: Run | str, actor: Actor = OPERATOR) -> Exported | None:
    """Why this run cannot be exported (None: it can). A presenter sends their workshop's
    runs only; the operator any finished run (anyone may read it)."""
    if isinstance(run, str):
        return Exported(run, SKIPPED, reason="no run has this id (`python -m playground runs` "
                                               "lists them)")
    if run.status != "finished":
        return Exported(run.id, SKIPPED, reason=f"it is {run.status}; only finished runs "
                                                "are exported")
    if actor.in_workshop and run.workspace != actor.workspace:
        return Exported(run.id, SKIPPED, reason=f"it is not in workshop {actor.workspace}; "
                                                "a presenter sends their workshop's runs")
    return None


def _client(uri: str):
    # MLflow takes 3-5 s to import: only an export pays for it, never a page or the CLI's
    # other commands (this module is imported by both).
    from mlflow.tracking import MlflowClient

    try:
        return MlflowClient(tracking_uri=uri)
    except Exception as e:  # MLflow raises its own exceptions for unsupported URIs
        raise ExportError(f"MLflow cannot use the tracking URI {uri!r}: {_first_line(e)}; "
                          "use sqlite:///PATH/mlflow.db or http://HOST:PORT") from None


def _experiment(client, uri: str, name: str) -> str:
    """The experiment's id, made if missing: for an SQLite file, with its artifacts in a
    folder beside it (MLflow's default would be ./mlruns under the current folder)."""
    try:
        found = client.get_experiment_by_name(name)
        if found is None:
            location = None
            if uri.startswith("sqlite:///"):
                db = Path(uri[len("sqlite:///"):].split("?", 1)[0]).resolve()
                location = db.with_name(db.stem + "-artifacts").as_uri()
            try:
                return client.create_experiment(name, artifact_location=location)
            except Exception:  # made meanwhile by another export?
                found = client.get_experiment_by_name(name)
                if found is None:
                    raise
    except Exception as e:  # MLflow's own errors, a missing database driver, …
        raise ExportError(f"MLflow could not open {uri}: {_first_line(e)}; check the URI "
                          "(and that the server is an MLflow tracking server)") from None
    if found.lifecycle_stage == "deleted":
        raise ExportError(f"the MLflow experiment {name!r} at {uri} was deleted; restore it "
                          f"(mlflow experiments restore --experiment-id "
                          f"{found.experiment_id}) or export into another experiment")
    return found.experiment_id


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


# -- one run ------------------------------------------------------------------------------

def _export_one(client, experiment_id: str, store: Store, run: Run) -> Exported:
    from mlflow.entities import RunStatus

    try:
        bundle = model_zip(store, run.id)  # first: a missing weights file writes nothing
    except ValueError as e:
        return Exported(run.id, SKIPPED, reason=str(e))
    for old in client.search_runs([experiment_id], f"tags.`{RUN_TAG}` = '{run.id}'"):
        if old.info.status == RunStatus.to_string(RunStatus.FINISHED):
            return Exported(run.id, ALREADY, old.info.run_id)
        client.delete_run(old.info.run_id)  # an export cut short: replaced below
    epochs = store.epochs(run.id)
    start = _ms(run.started or run.created)
    created = client.create_run(experiment_id, start_time=start, tags=_tags(run),
                                run_name=f"{run.config.label()} ({run.id})")
    mlflow_id = created.info.run_id
    try:
        _log(client, mlflow_id, run, epochs, start, bundle)
        client.set_terminated(mlflow_id, "FINISHED", end_time=_ms(run.finished or time.time()))
    except Exception as e:  # nothing half-written stays: the partial MLflow run goes
        try:
            client.delete_run(mlflow_id)
        except Exception:  # noqa: BLE001 - the first error is the one to report
            pass
        return Exported(run.id, FAILED, reason=f"MLflow refused it: {_first_line(e)}")
    return Exported(run.id, EXPORTED, mlflow_id)


def _log(client, mlflow_id: str, run: Run, epochs: list[dict], start: int,
         bundle: bytes) -> None:
    from mlflow.entities import Param

    params = [Param(k, str(v)) for k, v in params_of(run).items()]
    metrics = _metrics(run, epochs, start)
    for i in range(0, len(params), _BATCH_PARAMS):
        client.log_batch(mlflow_id, params=params[i:i + _BATCH_PARAMS])
    for i in range(0, len(metrics), _BATCH_METRICS):
        client.log_batch(mlflow_id, metrics=metrics[i:i + _BATCH_METRICS])
    m = run.metrics
    if m.get("confusion_matrix") is not None:
        names = [str(c) for c in m.get("class_names") or range(len(m["confusion_matrix"]))]
        client.log_dict(mlflow_id, {"class_names": names,
                                    "confusion_matrix": m["confusion_matrix"],
                                    "rows": "true class", "columns": "predicted class"},
                        "confusion_matrix.json")
        figure = confusion_figure(m["confusion_matrix"], names,
                                  f"{run.config.label()} ({run.id})")
        client.log_figure(mlflow_id, figure, "confusion_matrix.png")
    with tempfile.TemporaryDirectory(prefix="playground-mlflow-") as folder:
        with zipfile.ZipFile(io.BytesIO(bundle)) as z:
            z.extractall(folder)
        client.log_artifacts(mlflow_id, folder, "model")


def params_of(run: Run) -> dict[str, Any]:
    """Every setting, techniques flattened as technique.<name>.<param>."""
    flat: dict[str, Any] = {}
    for key, value in run.config.model_dump().items():
        if key == "techniques":
            for name, settings in value.items():
                for param, v in settings.items():
                    flat[f"technique.{name}.{param}"] = v
        else:
            flat[key] = value
    return flat


def metrics_of(run: Run, epochs: list[dict]) -> dict[str, float]:
    """The final numbers, flattened (quantized.accuracy, …), and every metric the registry
    declares under its key; only numbers. A name the
    epoch curves already use (val_accuracy, epsilon) gets final. in front, so the curve
    keeps exactly one point per epoch."""
    curves = {k for e in epochs for k in _epoch_values(e)}
    # every declared metric under its registry key too (attack_auc, ...), nested or not
    flat = {**_flatten(run.metrics), **{m.key: v for m in all_metrics()
                                        if (v := m.number(run.metrics)) is not None}}
    return {(f"final.{k}" if k in curves else k): v for k, v in flat.items()}


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


def _epoch_values(epoch: dict[str, Any]) -> dict[str, float]:
    """The numbers of one epoch row: the curves, ε for private runs, any technique's extra;
    `seconds` becomes epoch_seconds."""
    out = {}
    for key, value in epoch.items():
        if key in ("run_id", "epoch") or value is None or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            out["epoch_seconds" if key == "seconds" else key] = float(value)
    return out


def _metrics(run: Run, epochs: list[dict], start: int) -> list:
    from mlflow.entities import Metric

    out, at = [], start
    for e in epochs:
        at += round(1000 * (e.get("seconds") or 0))
        out += [Metric(k, v, at, int(e["epoch"])) for k, v in _epoch_values(e).items()]
    last = int(epochs[-1]["epoch"]) if epochs else 0
    end = _ms(run.finished) if run.finished else at
    out += [Metric(k, v, end, last) for k, v in metrics_of(run, epochs).items()]
    return out


def _tags(run: Run) -> dict[str, str]:
    names = list(run.config.techniques)
    tags = {RUN_TAG: run.id, "playground.label": run.config.label(),
            "techniques": ", ".join(names) or "none",
            "playground.device": run.device or str(run.metrics.get("device") or "")}
    if run.executor:
        tags["playground.executor"] = run.executor
    tags.update({f"technique.{n}": "on" for n in names})
    return {k: v for k, v in tags.items() if v}


def _ms(seconds: float) -> int:
    return int(round(seconds * 1000))


def confusion_figure(matrix: list[list[int]], names: list[str], title: str = ""):
    """The confusion matrix as a matplotlib Figure (rows: true class; columns: predicted),
    counts written in. A bare Figure: no pyplot, so no global backend state."""
    # Matplotlib is imported only when a run is exported (it is not needed anywhere else).
    from matplotlib.figure import Figure

    n = len(matrix)
    side = max(3.5, 0.45 * n + 2)
    fig = Figure(figsize=(side, side), layout="constrained")
    ax = fig.add_subplot()
    rows = [max(1, sum(r)) for r in matrix]
    shares = [[v / rows[i] for v in row] for i, row in enumerate(matrix)]
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names), default=0) > 3 else 0,
                  ha="right" if max(map(len, names), default=0) > 3 else "center")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title, fontsize=9)
    for i, row in enumerate(matrix):
        for j, v in enumerate(row):
            if v:
                ax.text(j, i, str(v), ha="center", va="center", fontsize=8,
                        color="white" if shares[i][j] > 0.5 else "black")
    return fig
