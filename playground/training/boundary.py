"""Where a model on 2-D points draws its line: the class it would pick, and how sure it is,
at every cell of a coarse grid over the plane, recorded while it trains.

A run on two numeric features (moons, circles, spirals, a two-column upload) gets a
`boundary/` folder among its artifacts: `grid.json` once (the grid's extent in the
standardised feature space the model sees, the class names and the training points), then
one small frame per epoch (`0000.npy` before training, `0001.npy` after the first epoch,
...): a uint8 array (2, size, size) of the predicted class and the confidence (the top
probability, 0-255), rows from the bottom of the plane up. Each frame is written before its
epoch is reported, so a page that sees epoch N in the store finds its frame, and on a Ray
node the frame travels with the epoch's event (files written in the run's folder go with
the next write to the store). If weights change after the last epoch (early stopping goes
back to its best epoch) the finished model's frame is `final.npy`.

The recording costs one batched forward pass of size² points per epoch (inference mode).
Reading needs only numpy (the app never imports torch).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from playground.common.files import replace_atomically, write_json

FOLDER = "boundary"
GRID_FILE = "grid.json"
FINAL = "final"
SIZE = 25  # cells per side: 625 points per frame, 1.3 kB on disk
MARGIN = 0.1  # share of the points' span added on every side
MAX_POINTS = 2000  # training points kept for the picture (a sample of a bigger upload)


def records(data) -> bool:
    """Whether a run on `data` gets its boundary recorded: two numeric features, no image."""
    X = data.X_train
    return (data.image_shape is None and X.ndim == 2 and X.shape[1] == 2
            and 2 <= data.n_classes <= 255)


@dataclass(frozen=True)
class Grid:
    x: tuple[float, float]  # the plane's extent (cell edges)
    y: tuple[float, float]
    size: int = SIZE

    def centres(self) -> np.ndarray:
        """The cells' centres, (size², 2) float32, row by row from the bottom (low y)."""
        def axis(lo, hi):
            step = (hi - lo) / self.size
            return lo + step * (np.arange(self.size) + 0.5)

        xx, yy = np.meshgrid(axis(*self.x), axis(*self.y))
        return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)


def grid_for(X: np.ndarray, size: int = SIZE) -> Grid:
    lo, hi = X.min(axis=0).astype(float), X.max(axis=0).astype(float)
    pad = np.maximum((hi - lo) * MARGIN, 0.25)
    return Grid((round(lo[0] - pad[0], 4), round(hi[0] + pad[0], 4)),
                (round(lo[1] - pad[1], 4), round(hi[1] + pad[1], 4)), size)


def encode(probs: np.ndarray, size: int) -> np.ndarray:
    """(size², classes) probabilities -> uint8 (2, size, size): class, confidence 0-255."""
    probs = np.asarray(probs, dtype=np.float32)
    cls = probs.argmax(axis=1).astype(np.uint8)
    conf = np.rint(probs.max(axis=1) * 255).astype(np.uint8)
    return np.stack([cls, conf]).reshape(2, size, size)


def frame_name(epoch: int | str) -> str:
    return f"{FINAL}.npy" if epoch == FINAL else f"{int(epoch):04d}.npy"


class Recorder:
    """Records a run's frames into `<out_dir>/boundary/`. `points` are the grid's centres
    as a tensor on the model's device, made once."""

    def __init__(self, data, out_dir: str | Path, device):
        import torch

        self.folder = Path(out_dir) / FOLDER
        self.folder.mkdir(parents=True, exist_ok=True)
        self.grid = grid_for(data.X_train)
        self.points = torch.from_numpy(self.grid.centres()).to(device)
        self.last: np.ndarray | None = None
        self.header: bytes | None = None
        self.seconds = 0.0  # spent recording the epochs' frames (the benchmark reads it)
        X, y = data.X_train, data.y_train
        if len(X) > MAX_POINTS:
            keep = np.sort(np.random.default_rng(0).choice(len(X), MAX_POINTS, replace=False))
            X, y = X[keep], y[keep]
        write_json(self.folder / GRID_FILE, {
            "size": self.grid.size, "x": list(self.grid.x), "y": list(self.grid.y),
            "class_names": [str(c) for c in data.class_names],
            "features": [str(f) for f in (data.feature_names or ["x", "y"])][:2],
            "points": [[round(float(a), 4), round(float(b), 4), int(c)]
                       for (a, b), c in zip(X, y, strict=True)],
        })

    def frame(self, model) -> np.ndarray:
        """The model's class and confidence at every cell (its train/eval mode is kept)."""
        import torch

        was_training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                # encode()'s numbers, computed on the device: one small copy to the host
                top, cls = model(self.points).float().softmax(dim=1).max(dim=1)
                packed = torch.stack([cls.to(torch.uint8),
                                      (top * 255).round_().to(torch.uint8)]).cpu().numpy()
        finally:
            model.train(was_training)
        return packed.reshape(2, self.grid.size, self.grid.size)

    def record(self, model, epoch: int) -> None:
        """Epoch 0 (before training) is written atomically: a page may look before any
        epoch is reported. Later frames are written in place, cheaper inside the loop: a
        page (or a Ray node's next event) reads an epoch's frame only once the epoch is
        reported, after its file was closed."""
        started = time.perf_counter()
        frame = self.last = self.frame(model)
        path = self.folder / frame_name(epoch)
        if epoch == 0:
            _save(path, frame)
        else:
            if self.header is None:  # every frame has the same .npy header: made once
                self.header = _npy(frame)[:-frame.nbytes]
            with open(path, "wb") as f:
                f.write(self.header + frame.tobytes())
            self.seconds += time.perf_counter() - started

    def finish(self, model) -> None:
        """The finished model's frame, if its weights changed after the last epoch."""
        frame = self.frame(model)
        if self.last is None or not np.array_equal(frame, self.last):
            _save(self.folder / frame_name(FINAL), frame)


def _save(path: Path, frame: np.ndarray) -> None:
    replace_atomically(path, lambda tmp: tmp.write_bytes(_npy(frame)))


def _npy(frame: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, frame, allow_pickle=False)
    return buffer.getvalue()


# -- reading (numpy only) ----------------------------------------------------------------------
def folder(run_dir: str | Path) -> Path:
    return Path(run_dir) / FOLDER


def has_frame(run_dir: str | Path, epoch: int | str) -> bool:
    return (folder(run_dir) / frame_name(epoch)).is_file()


def frames(run_dir: str | Path) -> list[int | str]:
    """The recorded frames in order: epochs (0 = before training), then "final" if any."""
    where = folder(run_dir)
    if not where.is_dir():
        return []
    names = {p.stem for p in where.glob("*.npy")}
    epochs = sorted(int(n) for n in names if n.isdigit())
    return [*epochs, *([FINAL] if FINAL in names else [])]


def read_grid(run_dir: str | Path) -> dict[str, Any] | None:
    path = folder(run_dir) / GRID_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def read_frame(run_dir: str | Path, epoch: int | str) -> np.ndarray:
    """uint8 (2, size, size): predicted class, confidence 0-255 (never unpickles)."""
    return np.load(folder(run_dir) / frame_name(epoch), allow_pickle=False)


def final_frame(run_dir: str | Path) -> tuple[int | str, np.ndarray] | None:
    """The finished model's frame and its name (the last epoch's, or "final")."""
    names = frames(run_dir)
    return (names[-1], read_frame(run_dir, names[-1])) if names else None


def grid_of(meta: dict[str, Any]) -> Grid:
    return Grid(tuple(meta["x"]), tuple(meta["y"]), int(meta["size"]))
