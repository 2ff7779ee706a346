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
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import torch

from playground.explain.methods import Subject
from playground.training import techniques as T
from playground.training.artifacts import LoadedRun, load_predictions, load_run
from playground.training.build import build_run_model
from playground.training.capabilities import DECISION_RULE
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
                   quantized=variant == "int8", coder=data.coder)


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

    def predict_texts(self, run_id: str, variant: str, texts) -> np.ndarray:
        """Class probabilities of a text run's variant for sentences (its own tokenizer)."""
        subject = self.subject(run_id, variant)
        return subject.probs(subject.require_coder().encode([str(t) for t in texts]))

    def rule(self, run_id: str) -> "DecisionRule":
        """The run's decision rule over its shipped model (kept with the run)."""
        loaded = self.loaded(run_id)
        with self._lock:
            key = (run_id, "rule")
            if key not in self._subjects:
                variant = default_variant(loaded.run)
                self._subjects[key] = DecisionRule(
                    loaded, lambda X: self.predict(run_id, variant, X), self.store)
            return self._subjects[key]


# -- the decision the run makes ---------------------------------------------------------------


class PositionDraws(np.random.RandomState):
    """The run's seeded random stream as its test split met it, one draw per test position.

    A decision rule may flip a coin for some examples (fairness post-processing picks between
    two thresholds at random, seeded by the run's seed, one draw per test example in order).
    An input standing in for test example i (an edit of it, a counterfactual) must meet the
    coin example i met, whatever else is in its batch; handed over as the seed, this stream
    gives each row its position's draw."""

    def __init__(self, seed: int, positions: np.ndarray, n_test: int):
        super().__init__(seed)
        stream = np.random.RandomState(seed).rand(max(n_test, int(positions.max()) + 1))
        self.draws = stream[positions]

    def rand(self, *size):
        if size == (len(self.draws),):
            return self.draws.copy()
        return super().rand(*size)


class DecisionRule:
    """What a finished run decides for any inputs: its technique's decision hook (fairness
    post-processing's per-group thresholds, say) when it has one, else the most likely class.

    The test split's own decisions are the stored ones (`stored`); `decide` gives the same
    for the unedited test split (a test checks it) and for edited inputs, each read as the
    test example at `positions` (its coin, its group unless the row changed it)."""

    def __init__(self, loaded: LoadedRun, predict, store=None):
        self.loaded = loaded
        self.predict = predict  # inputs -> class probabilities (the run's shipped variant)
        self.store = store
        self.deciders = [t for t in T.build(loaded.run.config.techniques)
                         if DECISION_RULE in t.provides]
        self._by_code: dict[tuple, str] | None = None

    @property
    def title(self) -> str | None:
        """The technique whose rule decides, in words; None: the most likely class."""
        return self.deciders[0].title if self.deciders else None

    def stored(self) -> np.ndarray:
        """The test split's decisions as the run saved them (what its card's accuracy counts)."""
        if self.store is not None:
            try:
                return load_predictions(self.store, self.loaded.run.id)["y_pred"].astype(int)
            except (OSError, KeyError, ValueError):
                pass
        data = self.loaded.data
        return self.decide(data.X_test, positions=np.arange(len(data.X_test)))

    def groups_of(self, X: np.ndarray, positions: np.ndarray) -> np.ndarray | None:
        """The group of each input read as test example positions[k]: the example's own,
        or the one its sensitive column now says when that column is one of the inputs."""
        data = self.loaded.data
        if data.groups is None:
            return None
        own = np.asarray(data.groups[2])[positions]
        column = _sensitive_column(data)
        if column is None:
            return own
        if self._by_code is None:  # which group each value of the column stands for
            codes = _codes(data, column, data.X_test)
            self._by_code = {tuple(c): g for c, g in zip(codes, data.groups[2], strict=True)}
        codes = _codes(data, column, X)
        return np.array([self._by_code.get(tuple(c), g) for c, g in zip(codes, own,
                                                                         strict=True)])

    def decide(self, X: np.ndarray, groups=None, positions=None) -> np.ndarray:
        """Decisions (class indices) for inputs X (model inputs, standardised): row k as the
        test example at positions[k] (default: the first test examples in order) in group
        groups[k] (default: what its sensitive column says, else that example's group)."""
        X = np.asarray(X, dtype=np.float32)
        probs = self.predict(X)
        if not self.deciders:
            return probs.argmax(1)
        data = self.loaded.data
        positions = (np.arange(len(X)) if positions is None
                     else np.broadcast_to(np.asarray(positions, dtype=int), (len(X),)))
        if groups is None:
            groups = self.groups_of(X, positions)
        view = replace(data, X_test=X, y_test=np.zeros(len(X), np.int64),
                       groups=None if data.groups is None else (*data.groups[:2],
                                                                 np.asarray(groups)))
        config = self.loaded.run.config.model_copy(
            update={"seed": PositionDraws(self.loaded.run.config.seed, positions,
                                          len(data.X_test))})
        ctx = SimpleNamespace(data=view, model=self.loaded.model, device=torch.device("cpu"),
                              config=config, probs=probs, plain_pred=probs.argmax(1))
        decided = self.deciders[0].decide(ctx, probs)
        return probs.argmax(1) if decided is None else np.asarray(decided, dtype=int)


def _sensitive_column(data):
    if data.schema is None or not data.sensitive:
        return None
    column = data.schema.get(data.sensitive)
    return column if column is not None and column.kind != "number" else None


def _codes(data, column, X: np.ndarray) -> np.ndarray:
    """A category column's inputs, unscaled and rounded: which value each row holds."""
    i = list(column.features)
    mean = 0 if data.scale_mean is None else np.asarray(data.scale_mean)[i]
    std = 1 if data.scale_std is None else np.asarray(data.scale_std)[i]
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    return np.round(X[:, i] * std + mean).astype(int)
