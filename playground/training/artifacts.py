"""Reading a finished run back: its model (rebuilt from the config, weights from disk),
its data split and its test predictions. Used by distillation, explanations and export."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

from playground.common.paths import PREDICTIONS_FILE, WEIGHTS_FILE
from playground.data.base import Dataset
from playground.data.views import run_data
from playground.training.build import build_run_model


@dataclass
class LoadedRun:
    run: object  # playground.store.Run
    model: nn.Module  # float model in eval mode, on the CPU
    data: Dataset


def _problem(run, run_id: str) -> str | None:
    if run is None:
        return f"run {run_id!r}: no run has this id (python -m playground runs lists them)"
    if run.status != "finished":
        return f"run {run_id!r} is {run.status}, not finished; only finished runs have a model"
    return None


def load_run(store, run_id: str) -> LoadedRun:
    """Rebuild a finished run's model with its trained weights; ValueError says why not."""
    run = store.get(run_id)
    problem = _problem(run, run_id)
    if problem:
        raise ValueError(problem)
    path = store.artifact_dir(run.id) / WEIGHTS_FILE
    if not path.exists():
        raise ValueError(f"run {run_id!r}: its weights file is missing ({path})")
    data = run_data(run.config)
    model = build_run_model(run.config, data)
    model.load_state_dict(load_file(str(path)))
    return LoadedRun(run, model.eval(), data)


def load_predictions(store, run_id: str) -> dict[str, np.ndarray]:
    """y_true, y_pred and probs on the test split, as saved when the run finished."""
    tensors = load_file(str(store.artifact_dir(run_id) / PREDICTIONS_FILE))
    return {k: v.numpy() for k, v in tensors.items()}


def predict_probs(model: nn.Module, X: np.ndarray, batch: int = 1024) -> np.ndarray:
    """Class probabilities for a numpy batch (CPU, no gradients)."""
    model.eval()
    with torch.no_grad():
        t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
        return torch.cat([model(t[i:i + batch]).float().softmax(1)
                          for i in range(0, len(t), batch)]).numpy()
