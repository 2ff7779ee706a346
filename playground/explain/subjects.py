"""Which model an explanation is about: a finished run in one of its variants.

    float   the trained weights as saved (every run)
    int8    the run's int8 copy, rebuilt the way training measured it (runs with int8
            quantization switched on); forward passes only, so perturbation methods only
    random  the same architecture with freshly initialised weights: the reference of the
            randomisation sanity check (Adebayo et al., 2018)
"""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
import torch

from playground.explain.methods import Subject
from playground.training.artifacts import LoadedRun, load_run
from playground.training.build import build_run_model
from playground.training.quantize import as_shipped
from playground.training.techniques.quantization import Quantization

VARIANTS = ("float", "int8", "random")
RANDOM_SEED = 1234


def quantization_mode(run) -> str | None:
    return (Quantization.settings_of(run.config) or {}).get("mode")


def default_variant(run) -> str:
    """The model a run stands for: its int8 copy when the run was quantized to int8."""
    return "int8" if quantization_mode(run) == "int8" else "float"


def make_subject(loaded: LoadedRun, variant: str) -> Subject:
    data = loaded.data
    if variant == "float":
        model = loaded.model
    elif variant == "int8":
        model, _ = as_shipped(loaded.model, "int8", torch.device("cpu"), data.X_train)
    elif variant == "random":
        with torch.random.fork_rng():  # leave the caller's random stream as it was
            torch.manual_seed(RANDOM_SEED)
            model = build_run_model(loaded.run.config, data).eval()
    else:
        raise ValueError(f"unknown model variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return Subject(model=model.eval(), background=data.X_train, kind=data.info.kind,
                   feature_names=list(data.feature_names), class_names=list(data.class_names),
                   quantized=variant == "int8")


class ModelBank:
    """Loaded runs and their variants, kept for reuse (thread-safe, least recently used out)."""

    def __init__(self, store, max_runs: int = 8):
        self.store = store
        self.max_runs = max_runs
        self._runs: OrderedDict[str, LoadedRun] = OrderedDict()
        self._subjects: dict[tuple[str, str], Subject] = {}
        self._lock = threading.RLock()

    def loaded(self, run_id: str) -> LoadedRun:
        with self._lock:
            if run_id in self._runs:
                self._runs.move_to_end(run_id)
                return self._runs[run_id]
        loaded = load_run(self.store, run_id)  # ValueError says why not
        with self._lock:
            self._runs[run_id] = loaded
            while len(self._runs) > self.max_runs:
                old, _ = self._runs.popitem(last=False)
                for key in [k for k in self._subjects if k[0] == old]:
                    del self._subjects[key]
            return loaded

    def subject(self, run_id: str, variant: str = "float") -> Subject:
        loaded = self.loaded(run_id)
        with self._lock:
            key = (run_id, variant)
            if key not in self._subjects:
                self._subjects[key] = make_subject(loaded, variant)
            return self._subjects[key]

    def predict(self, run_id: str, variant: str, X: np.ndarray) -> np.ndarray:
        """Class probabilities of a run's variant for a batch of inputs."""
        return self.subject(run_id, variant).probs(X)
