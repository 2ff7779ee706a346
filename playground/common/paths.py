"""Where things are kept: the data folder and the file names of a run's artifacts.

Tiny on purpose: anything may import it without pulling in torch or the store.
"""
from __future__ import annotations

import os
from pathlib import Path


# -- names and folders -------------------------------------------------------------------------
def data_root(home: str | os.PathLike | None = None) -> Path:
    return (Path(home).resolve() if home else default_home()) / "data"


WEIGHTS_FILE = "weights.safetensors"
PREDICTIONS_FILE = "predictions.safetensors"


def default_home() -> Path:
    return Path(os.environ.get("PLAYGROUND_HOME", ".playground")).resolve()
