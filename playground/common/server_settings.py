"""The server's own settings: the operator key, the MLflow destinations the operator allows,
and how long any run may train.

Each comes from an environment variable or from `settings.json` in the data folder (the
variable wins), so a server is set up once by whoever starts it. The operator key is made
on first use and kept in `operator.key` in the data folder, readable by its owner only
(0600), like Jupyter's token: whoever presents it from another machine is the operator.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from playground.common.paths import default_home

SETTINGS_FILE = "settings.json"
OPERATOR_KEY_FILE = "operator.key"
MLFLOW_URIS_ENV = "PLAYGROUND_MLFLOW_URIS"  # space- or comma-separated tracking URIs
RUN_MINUTES_ENV = "PLAYGROUND_RUN_MINUTES"  # every run's wall-clock limit
LOOPBACK_ENV = "PLAYGROUND_LOOPBACK_OPERATOR"  # "off": a browser on this machine needs the key
DEFAULT_RUN_MINUTES = 60.0


def _home(home: str | os.PathLike | None) -> Path:
    return Path(home).resolve() if home else default_home()


def settings(home: str | os.PathLike | None = None) -> dict[str, Any]:
    """The data folder's settings file (empty when there is none or it can't be read)."""
    try:
        data = json.loads((_home(home) / SETTINGS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _setting(home, env: str, key: str) -> Any:
    return os.environ[env] if env in os.environ else settings(home).get(key)


def operator_key(home: str | os.PathLike | None = None) -> str:
    """The server's operator key, made on first use and stored 0600 in the data folder."""
    path = _home(home) / OPERATOR_KEY_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(18)
    try:  # of two processes making it at once, one writes and both read its key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def is_operator_key(key: str | None, home: str | os.PathLike | None = None) -> bool:
    return bool(key) and secrets.compare_digest(key, operator_key(home))


def loopback_is_operator(home: str | os.PathLike | None = None) -> bool:
    """Whether a browser on the server's own machine is the operator without the key (off
    behind a reverse proxy on the same machine, where every visitor arrives from it)."""
    value = _setting(home, LOOPBACK_ENV, "loopback_operator")
    return str(value).strip().lower() not in ("off", "false", "0", "no")


def mlflow_uris(home: str | os.PathLike | None = None) -> list[str]:
    """The tracking servers the operator allows MLflow exports to (besides the data folder)."""
    value = _setting(home, MLFLOW_URIS_ENV, "mlflow_uris") or []
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    return [str(u).strip().rstrip("/") for u in items if str(u).strip()]


def run_minutes(home: str | os.PathLike | None = None) -> float:
    """The wall-clock limit of every run on this server, in minutes."""
    value = _setting(home, RUN_MINUTES_ENV, "run_minutes")
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        return DEFAULT_RUN_MINUTES
    return minutes if minutes > 0 else DEFAULT_RUN_MINUTES
