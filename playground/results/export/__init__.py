"""Taking results away: a comparison as an offline HTML report, CSV or JSON, a run's model
as a zip, and finished runs into MLflow.

The report (Altair, pandas) and the MLflow export are loaded on first use: every
`python -m playground` imports this package, and should not pay ~1 s for them unless it
exports.
"""
from __future__ import annotations

import importlib
from typing import Any

from playground.results.export.model_zip import _README as _README
from playground.results.export.model_zip import EVALUATE as EVALUATE
from playground.results.export.model_zip import model_zip as model_zip
from playground.results.export.vega import _FROM as _FROM
from playground.results.export.vega import _LOADER as _LOADER
from playground.results.export.vega import _script_json as _script_json
from playground.results.export.vega import vega_bundle as vega_bundle

_LAZY = {
    "Exported": "mlflow_export", "ExportError": "mlflow_export",
    "default_tracking_uri": "mlflow_export", "export_runs": "mlflow_export",
    "mlflow_summary": "mlflow_export",
    "_STYLE": "report", "_cell": "report", "_Report": "report", "_table": "report",
    "html_report": "report",
    "run_row": "tables", "runs_csv": "tables", "runs_frame": "tables", "runs_json": "tables",
}
_RENAMED = {"mlflow_summary": "summary"}

__all__ = sorted([*_LAZY, "_README", "EVALUATE", "model_zip", "_FROM", "_LOADER",
                  "_script_json", "vega_bundle"])


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
    return getattr(module, _RENAMED.get(name, name))
