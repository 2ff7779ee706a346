"""Explanations kept in the run store, so a revisit is instant and nothing is computed twice.

One safetensors file per explanation under runs/<id>/explanations/, named by a digest of
what determines it: the input (a hash of its values, so an edited what-if input has its
own entry; a sentence by a hash of its text), the method and its settings, the model
variant and the target class. Deleting a run deletes its explanations with it.
safetensors, because nothing here is unpickled.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from playground.common.files import replace_atomically
from playground.explain.methods import Attribution

VERSION = 4  # bump when a method's maths changes, so old files are not reused
FOLDER = "explanations"
GLOBAL_EXAMPLES = 24  # test examples averaged in a run's global view


def input_id(x: np.ndarray) -> str:
    """A short content hash of an input: the same values give the same id in every run."""
    data = np.ascontiguousarray(x, dtype=np.float32)
    return "x-" + hashlib.sha1(data.tobytes() + str(data.shape).encode()).hexdigest()[:16]


def text_id(text: str) -> str:
    """A short content hash of a sentence (its words as typed, case included)."""
    return "t-" + hashlib.sha1(str(text).encode("utf-8")).hexdigest()[:16]


@dataclass
class Request:
    """One explanation to look up or compute."""

    run_id: str
    method: str
    variant: str  # float, int8 or random
    target: int  # class explained; -1 for the global view (each example's own prediction)
    settings: dict[str, Any]
    x: np.ndarray | None = field(default=None, repr=False)  # None for the global view
    input: str = ""  # input_id(x), text_id(text), or "global-<n>"
    text: str | None = None  # text runs: the sentence explained (x: its token ids)

    def __post_init__(self) -> None:
        if not self.input:
            if self.text is not None:
                self.input = text_id(self.text)
            else:
                self.input = (input_id(self.x) if self.x is not None
                              else f"global-{GLOBAL_EXAMPLES}")

    @property
    def identity(self) -> dict[str, Any]:
        return {"run": self.run_id, "method": self.method, "variant": self.variant,
                "target": self.target, "input": self.input, "settings": self.settings,
                "version": VERSION}

    @property
    def key(self) -> str:
        text = json.dumps(self.identity, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    @property
    def is_global(self) -> bool:
        return self.x is None and self.text is None

    def to_json(self) -> dict[str, Any]:
        """What a worker needs to compute it (float32 values survive the trip exactly)."""
        return {"run_id": self.run_id, "method": self.method, "variant": self.variant,
                "target": self.target, "settings": self.settings, "input": self.input,
                "x": None if self.x is None else np.asarray(self.x, np.float32).tolist(),
                "text": self.text}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Request":
        x = data.get("x")
        return cls(data["run_id"], data["method"], data["variant"], int(data["target"]),
                   dict(data["settings"]), x=None if x is None else np.asarray(x, np.float32),
                   input=data.get("input", ""), text=data.get("text"))


class ExplanationCache:
    """Disk (the run's folder) with a small in-memory layer in front of it."""

    def __init__(self, store, memory_items: int = 512):
        self.store = store
        self.memory_items = memory_items
        self._memory: OrderedDict[str, Attribution] = OrderedDict()
        self._lock = threading.Lock()

    def path(self, request: Request) -> Path:
        return self.store.artifact_dir(request.run_id) / FOLDER / f"{request.key}.safetensors"

    def get(self, request: Request) -> Attribution | None:
        key = request.key
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
        path = self.path(request)
        if not path.exists():
            return None
        try:
            attribution = _read(path)
        except Exception:  # a torn or foreign file: compute it again rather than fail
            return None
        self._remember(key, attribution)
        return attribution

    def put(self, request: Request, attribution: Attribution) -> None:
        from safetensors.numpy import save_file

        path = self.path(request)
        if not path.parent.parent.exists():
            return  # the run was deleted while this was computed
        path.parent.mkdir(exist_ok=True)
        meta = {"method": attribution.method, "target": str(attribution.target),
                "seconds": repr(attribution.seconds),
                "extras": json.dumps(attribution.extras, default=float),
                "request": json.dumps(request.identity, default=str),
                "pid": str(os.getpid())}  # which process computed it (a worker, not the app)
        replace_atomically(path, lambda tmp: save_file(
            {"values": np.ascontiguousarray(attribution.values)}, str(tmp), metadata=meta))
        self._remember(request.key, attribution)

    def computed_by(self, request: Request) -> int | None:
        """The process id that computed a stored explanation."""
        from safetensors import safe_open

        try:
            with safe_open(str(self.path(request)), "np") as f:
                return int(f.metadata().get("pid", 0)) or None
        except Exception:
            return None

    def forget_memory(self) -> None:
        with self._lock:
            self._memory.clear()

    def _remember(self, key: str, attribution: Attribution) -> None:
        with self._lock:
            self._memory[key] = attribution
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)


def _read(path: Path) -> Attribution:
    from safetensors import safe_open

    with safe_open(str(path), "np") as f:
        meta = f.metadata()
        values = f.get_tensor("values")
    return Attribution(meta["method"], values, int(meta["target"]), float(meta["seconds"]),
                       json.loads(meta["extras"]))
