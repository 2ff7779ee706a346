"""An adversarial example of one input, to show beside the original on the Explain page.

The attack is the robustness audit's own (the Adversarial Robustness Toolbox's FGSM or
PGD, built by `playground.training.audits.robustness` with the same settings), on the one
input the page explains: untargeted, away from the model's own answer on the original,
with every pixel (images, 0-1 scale, kept inside 0-1) or standardised feature (tables)
moved by at most the strength.

Made where it is asked for, in the app's server, not by a worker: one example takes a few
milliseconds with FGSM and up to ~0.1 s with PGD on these small models (the attack library
itself loads once, in about a second), less than a round trip through the queue. `Attacker`
keeps every example it made (per run, input, attack and strength), so a rerun or another
session reads it instead of attacking again. The explanation maps of the attacked input
are asked of the workers like any other input's.

int8 runs are attacked through their float model: the int8 model's rounded steps have no
gradients to follow. Its answers on the attacked input are then the int8 model's own.
"""
from __future__ import annotations

import copy
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from playground.data.base import Dataset
from playground.explain.cache import input_id
from playground.explain.subjects import ModelBank, quantization_mode
from playground.training.audits import ROBUSTNESS_KINDS, robustness

ATTACKS = {"pgd": "PGD", "fgsm": "FGSM"}  # PGD first: the stronger one, the default
DEFAULT_ATTACK = "pgd"
STRENGTHS = (0.01, 0.5)  # what the page's slider offers
ATTACK_WORDS = {
    "pgd": f"PGD: {robustness.PGD_STEPS} small steps, each back inside the allowed distance",
    "fgsm": "FGSM: one step along the direction that hurts the model most",
}
POINTS_REASON = ("2-D points have two coordinates and nothing worth a picture to fool, so "
                 "the robustness audit skips them and there is no attack here either.")
INT8_SENTENCE = ("int8 models have no gradients for an attacker to follow, so the attack "
                 "used the float model this run was quantized from; the answers shown are "
                 "the int8 model's.")


def can_attack(kind: str) -> bool:
    """Pictures and tables, as the robustness audit; not 2-D points."""
    return kind in ROBUSTNESS_KINDS


def unit(kind: str) -> str:
    return "pixel" if kind == "image" else "standardised feature"


def generate(model: nn.Module, data: Dataset, x: np.ndarray, attack: str, strength: float,
             label: int, device: torch.device | None = None) -> np.ndarray:
    """The attacked copy of one input `x`: ART's `attack` at `strength`, pushing away from
    class `label`."""
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r}; choose one of {', '.join(ATTACKS)}")
    clf = robustness.classifier(model, data, device or torch.device("cpu"))
    make = robustness.pgd if attack == "pgd" else robustness.fgsm
    batch = np.ascontiguousarray(x, dtype=np.float32)[None]
    return make(clf, strength).generate(batch, y=np.array([label]))[0].astype(np.float32)


@dataclass(frozen=True)
class Adversarial:
    """One attacked input and what it was made from."""

    run_id: str
    attack: str  # pgd or fgsm
    strength: float
    original: np.ndarray
    x: np.ndarray  # the attacked input
    label: int  # the float model's answer on the original: the class attacked away from
    through_float: bool  # an int8 run, attacked through its float model
    seconds: float

    @property
    def change(self) -> np.ndarray:
        return self.x - self.original

    @property
    def moved(self) -> float:
        """The largest change of any one pixel or feature (L∞ distance)."""
        return float(np.abs(self.change).max()) if self.change.size else 0.0

    def changed_features(self, names: list[str], top: int | None = None,
                         tolerance: float = 1e-6) -> list[tuple[str, float, float]]:
        """(feature, original, attacked) for the features that moved, most moved first."""
        before, after = self.original.ravel(), self.x.ravel()
        size = np.abs(after - before)
        order = [int(i) for i in np.argsort(-size, kind="stable") if size[i] > tolerance]
        return [(names[i], float(before[i]), float(after[i])) for i in order[:top]]


class Attacker:
    """Adversarial examples for the Explain page, made once and kept (thread-safe; least
    recently used out). Models come from the page's `ModelBank`; each run is attacked
    through its own copy of the float model, so the attack's gradients never touch the
    model that answers the page's predictions."""

    def __init__(self, bank: ModelBank, max_examples: int = 256, max_runs: int = 8):
        self.bank = bank
        self.max_examples = max_examples
        self.max_runs = max_runs
        self._examples: OrderedDict[tuple, Adversarial] = OrderedDict()
        self._models: OrderedDict[str, nn.Module] = OrderedDict()
        self._lock = threading.Lock()  # one attack at a time: they are short

    def attack(self, run_id: str, x: np.ndarray, attack: str = DEFAULT_ATTACK,
               strength: float = 0.1) -> Adversarial:
        x = np.ascontiguousarray(x, dtype=np.float32)
        strength = round(float(strength), 4)
        key = (run_id, input_id(x), attack, strength)
        with self._lock:
            if key in self._examples:
                self._examples.move_to_end(key)
                return self._examples[key]
            loaded = self.bank.loaded(run_id)
            if not can_attack(loaded.data.info.kind):
                raise ValueError(POINTS_REASON)
            model = self._model(run_id, loaded.model)
            started = time.perf_counter()
            with torch.no_grad():
                label = int(model(torch.from_numpy(x[None])).argmax(1)[0])
            adversarial = generate(model, loaded.data, x, attack, strength, label)
            result = Adversarial(run_id, attack, strength, x, adversarial, label,
                                 quantization_mode(loaded.run) == "int8",
                                 time.perf_counter() - started)
            self._examples[key] = result
            while len(self._examples) > self.max_examples:
                self._examples.popitem(last=False)
            return result

    def _model(self, run_id: str, model: nn.Module) -> nn.Module:
        if run_id not in self._models:
            self._models[run_id] = copy.deepcopy(model).eval()
        self._models.move_to_end(run_id)
        while len(self._models) > self.max_runs:
            self._models.popitem(last=False)
        return self._models[run_id]
