"""Taking results away: a comparison as an offline HTML report, CSV or JSON, a run's model
as a zip, and finished runs into MLflow.
"""
from playground.results.export.mlflow_export import (
    Exported,
    ExportError,
    default_tracking_uri,
    export_runs,
)
from playground.results.export.mlflow_export import (
    summary as mlflow_summary,
)
from playground.results.export.model_zip import (
    _README,
    EVALUATE,
    model_zip,
)
from playground.results.export.report import (
    _STYLE,
    _cell,
    _Report,
    _table,
    html_report,
)
from playground.results.export.tables import (
    run_row,
    runs_csv,
    runs_frame,
    runs_json,
)
from playground.results.export.vega import (
    _FROM,
    _LOADER,
    _script_json,
    vega_bundle,
)

__all__ = [
    "EVALUATE",
    "ExportError",
    "Exported",
    "_FROM",
    "_LOADER",
    "_README",
    "_Report",
    "_STYLE",
    "_cell",
    "_script_json",
    "_table",
    "default_tracking_uri",
    "export_runs",
    "html_report",
    "mlflow_summary",
    "model_zip",
    "run_row",
    "runs_csv",
    "runs_frame",
    "runs_json",
    "vega_bundle",
]
