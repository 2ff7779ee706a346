"""Will it still work when the world moves? A finished model scored on shifted copies of its
test set: evaluation only, nothing is trained.

Each dataset kind has its own shifts, registered in `SHIFTS` under the kind:
- pictures ("image"): turned, noisy, blurred, faded and moved copies of the test pictures at
  three severities, with torchvision's transforms.v2 functional ops (the spirit of MNIST-C
  and ImageNet-C; the noise is drawn from a seeded generator, so a run is repeatable);
- tables and 2-D points ("tabular", "points"): covariate shift, a number moved or spread by
  some standard deviations (each numeric column in turn, the one that hurts most reported),
  and, for tables with categories or groups, one category made more common by resampling
  the test rows with a seeded generator.

- sentences ("text"): typos (a letter swapped with its neighbour, dropped or doubled) in a
  share of the words, and a share of the words dropped; the edited test sentences are
  encoded again with the run's own tokenizer, so a misspelt word falls apart into the pieces
  the model knows, as it would in the world.

Severity 0 is the clean test set itself, exactly. A later kind plugs in by registering its
shifts for its kind: `apply(split, target, level, rng)` returns the shifted TestSplit, and
`targets(data)` (optional) lists what to shift in turn (a column; the sentences and their
tokenizer).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torchvision.transforms.v2 import functional as TF

from playground.data.base import Dataset
from playground.data.columns import schema_from_feature_names
from playground.data.words import WORD
from playground.training.measure import evaluate

SEVERITIES = (1, 2, 3)
MIDDLE = 2  # the severity the summary number reads: clearly shifted, not destroyed


@dataclass(frozen=True)
class TestSplit:
    """The test examples as one shift sees them: inputs, labels and the sensitive groups
    (None without a sensitive attribute), all in the same row order."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None = None


# (split, target, severity 1..3, seeded generator) -> the shifted split
Apply = Callable[[TestSplit, Any, int, np.random.Generator], TestSplit]


def _one_target(data: Dataset) -> list[tuple[str, Any]]:
    return [("", None)]


@dataclass(frozen=True)
class Shift:
    """One way the world may move. `levels`: severities 1..3 in words ("10°"); `says`: a
    phrase with {level}, and {things} for pictures or {target} for the column hit
    ("turning {things} by {level}"); `targets(data)`: (name, target)
    pairs to shift in turn (a column), the worst at the middle severity is reported."""

    key: str
    label: str
    levels: tuple[str, str, str]
    says: str
    apply: Apply
    targets: Callable[[Dataset], list[tuple[str, Any]]] = _one_target

    def phrase(self, severity: int, dataset: str = "", target: str = "") -> str:
        """'turning the digits by 20°', 'moving income up by 1 sd'."""
        return self.says.format(level=self.levels[severity - 1], target=target or "a column",
                                things=THINGS.get(dataset, "the pictures"))


# What a dataset's pictures are called in a sentence ("turning the digits by 20°").
THINGS = {"digits": "the digits"}


SHIFTS: dict[str, dict[str, Shift]] = {}


def register_shift(kind: str, shift: Shift) -> Shift:
    """Add `shift` for datasets of `kind` (twice under one key is an error)."""
    table = SHIFTS.setdefault(kind, {})
    if shift.key in table:
        raise ValueError(f"shift {shift.key!r} is already registered for {kind}")
    table[shift.key] = shift
    return shift


def shifts_for(kind: str) -> list[Shift]:
    return list(SHIFTS.get(kind, {}).values())


def find(key: str) -> Shift | None:
    """The shift stored under `key`, whatever its kind."""
    return next((t[key] for t in SHIFTS.values() if key in t), None)


# -- pictures ------------------------------------------------------------------------------

ANGLES = (10.0, 20.0, 30.0)
NOISE = (0.1, 0.2, 0.35)  # standard deviation of the added noise, on the 0-1 ink scale
BLUR = (0.6, 0.9, 1.3)  # Gaussian sigma, in pixels
CONTRAST = (0.6, 0.4, 0.2)  # share of the contrast left
MOVE = (0.125, 0.25, 0.375)  # share of the picture's width (1, 2, 3 pixels on the digits)


def _pictures(fn: Callable[[torch.Tensor, int, np.random.Generator], torch.Tensor]) -> Apply:
    def apply(split: TestSplit, target, level: int, rng: np.random.Generator) -> TestSplit:
        x = fn(torch.from_numpy(split.X), level, rng)
        return replace(split, X=x.clamp(0.0, 1.0).numpy().astype(split.X.dtype))
    return apply


def _noise(x: torch.Tensor, level: int, rng: np.random.Generator) -> torch.Tensor:
    # drawn by numpy's seeded generator, not torch's global one: the run's own seed decides
    return x + torch.from_numpy(rng.normal(0.0, NOISE[level - 1], x.shape).astype(np.float32))


def _moved(x: torch.Tensor, level: int, rng) -> torch.Tensor:
    px = max(1, round(MOVE[level - 1] * x.shape[-1]))
    return TF.affine(x, angle=0.0, translate=[px, 0], scale=1.0, shear=[0.0, 0.0])


register_shift("image", Shift(
    "rotation", "Turned", tuple(f"{a:g}°" for a in ANGLES), "turning {things} by {level}",
    _pictures(lambda x, level, rng: TF.rotate(x, ANGLES[level - 1],
                                              interpolation=TF.InterpolationMode.BILINEAR))))
register_shift("image", Shift(
    "noise", "Noisy", tuple(f"noise {s:g}" for s in NOISE), "adding speckles ({level})",
    _pictures(_noise)))
register_shift("image", Shift(
    "blur", "Blurred", tuple(f"blur {s:g} px" for s in BLUR), "blurring {things} ({level})",
    _pictures(lambda x, level, rng: TF.gaussian_blur(x, [3, 3], [BLUR[level - 1]] * 2))))
register_shift("image", Shift(
    "contrast", "Faded", tuple(f"{c:.0%} contrast" for c in CONTRAST),
    "fading {things} to {level}",
    _pictures(lambda x, level, rng: TF.adjust_contrast(x, CONTRAST[level - 1]))))
register_shift("image", Shift(
    "translation", "Moved", tuple(f"{m:.0%} of the width" for m in MOVE),
    "moving {things} sideways by {level}", _pictures(_moved)))


# -- tables and points ---------------------------------------------------------------------

SIGMAS = (0.5, 1.0, 2.0)  # a column moved up by this many of its standard deviations
SPREAD = (1.5, 2.0, 3.0)  # a column's spread around its mean multiplied by this
SHARES = (0.5, 0.75, 0.9)  # the share of the test rows one category is made to hold


def numeric_targets(data: Dataset) -> list[tuple[str, Any]]:
    """Every column that is a number: (its name, its input position)."""
    schema = data.schema or schema_from_feature_names(data.feature_names)
    cols = [(c.name, c.features[0]) for c in schema if c.kind == "number"]
    if cols or data.feature_names:
        return cols
    return [(f"input {i + 1}", i) for i in range(data.n_features)]


def _column(fn: Callable[[np.ndarray, int], np.ndarray]) -> Apply:
    def apply(split: TestSplit, target: int, level: int, rng) -> TestSplit:
        X = split.X.copy()
        X[:, target] = fn(X[:, target], level).astype(X.dtype)
        return replace(split, X=X)
    return apply


def _category_of_rows(X: np.ndarray, features: Sequence[int]) -> np.ndarray:
    """Each row's category of a column made of `features`, as a row number of its unique
    input patterns (one-hot, a 0/1 input or a code alike)."""
    _, inverse = np.unique(X[:, list(features)], axis=0, return_inverse=True)
    return inverse.ravel()


def category_targets(data: Dataset) -> list[tuple[str, Any]]:
    """Each category of each category column (and of the sensitive groups): made more common
    in turn. A target is ("column", features or None for the groups, the category's pattern)."""
    schema = data.schema or schema_from_feature_names(data.feature_names)
    out: list[tuple[str, Any]] = []
    for col in schema:
        if col.kind == "number":
            continue
        codes = _category_of_rows(data.X_test, col.features)
        patterns = np.unique(data.X_test[:, list(col.features)], axis=0)
        for code in np.unique(codes):
            name = col.categories[code] if len(col.categories) == len(patterns) else str(code)
            out.append((f"{col.name} = {name}", (tuple(col.features), patterns[code])))
    if data.groups is not None:
        for g in np.unique(data.groups[2]):
            out.append((f"{data.sensitive} = {g}", (None, g)))
    return out


def _more_common(split: TestSplit, target, level: int, rng: np.random.Generator) -> TestSplit:
    features, value = target
    if features is None:
        inside = np.asarray(split.groups) == value
    else:
        inside = np.all(split.X[:, list(features)] == value, axis=1)
    n, share = len(split.y), SHARES[level - 1]
    k = round(share * n)
    if inside.sum() == 0 or (~inside).sum() == 0:
        return split
    rows = np.concatenate([rng.choice(np.flatnonzero(inside), k),
                           rng.choice(np.flatnonzero(~inside), n - k)])
    return TestSplit(split.X[rows], split.y[rows],
                     None if split.groups is None else split.groups[rows])


for _kind in ("tabular", "points"):
    register_shift(_kind, Shift(
        "moved", "A number moved", tuple(
            f"{s:g} standard deviation{'' if s == 1 else 's'}" for s in SIGMAS),
        "moving {target} up by {level}", _column(lambda c, level: c + SIGMAS[level - 1] * c.std()),
        numeric_targets))
    register_shift(_kind, Shift(
        "spread", "A number spread", tuple(f"{s:g} times as wide" for s in SPREAD),
        "spreading {target} to {level}", _column(
            lambda c, level: c.mean() + (c - c.mean()) * SPREAD[level - 1]), numeric_targets))
register_shift("tabular", Shift(
    "more_common", "A group more common", tuple(f"{s:.0%} of the rows" for s in SHARES),
    "making {target} hold {level}", _more_common, category_targets))


# -- sentences ---------------------------------------------------------------------------------

TYPOS = (0.1, 0.25, 0.5)  # share of the words with a typo
DROPS = (0.1, 0.25, 0.5)  # share of the words left out
LETTERS = re.compile(r"\w+")


def _share_words(share: float) -> str:
    return {0.1: "one word in ten", 0.25: "a quarter of the words",
            0.5: "half the words"}.get(share, f"{share:.0%} of the words")


def sentence_targets(data: Dataset) -> list[tuple[str, Any]]:
    """The test sentences and the run's tokenizer (none: nothing to edit, the shift is left
    out)."""
    if data.texts is None or data.coder is None or len(data.texts[2]) != len(data.y_test):
        return []
    return [("", (data.texts[2], data.coder))]


def typo(word: str, rng: np.random.Generator) -> str:
    """One slip of the keyboard: two neighbouring letters swapped, one left out, or one
    typed twice (a one-letter word can only be doubled)."""
    if len(word) < 2:
        return word * 2
    kind, at = rng.integers(3), int(rng.integers(len(word) - 1))
    if kind == 0:
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    if kind == 1:
        return word[:at] + word[at + 1:]
    return word[:at + 1] + word[at] + word[at + 1:]


def _typo_in_word(word: str, rng: np.random.Generator) -> str:
    # inside its longest run of letters, so "didn't" stays one word ("didnn't", not "didnt'")
    start, end = max((m.span() for m in LETTERS.finditer(word)), key=lambda s: s[1] - s[0])
    return word[:start] + typo(word[start:end], rng) + word[end:]


def with_typos(text: str, share: float, rng: np.random.Generator) -> str:
    """`text` with each word given a typo with probability `share`; punctuation and spaces
    kept as they were."""
    return WORD.sub(lambda m: _typo_in_word(m.group(), rng) if rng.random() < share
                    else m.group(), str(text))


def without_words(text: str, share: float, rng: np.random.Generator) -> str:
    """`text` with each word left out with probability `share` (one is always kept, so a
    sentence stays a sentence); punctuation stays."""
    text = str(text)
    n = len(WORD.findall(text))
    if not n:
        return text
    drop = iter(rng.random(n) < share)
    keep = rng.integers(n)
    kept = WORD.sub(lambda m: "" if next(drop) else m.group(), text)
    if not WORD.search(kept):  # every word drawn: keep one of them
        kept = WORD.findall(text)[keep]
    return " ".join(kept.split())


def _sentences(edit: Callable[[str, float, np.random.Generator], str],
               shares: Sequence[float]) -> Apply:
    def apply(split: TestSplit, target, level: int, rng: np.random.Generator) -> TestSplit:
        texts, coder = target
        edited = [edit(t, shares[level - 1], rng) for t in texts]
        return replace(split, X=coder.encode(edited).astype(split.X.dtype))
    return apply


register_shift("text", Shift(
    "typos", "Typos", tuple(_share_words(s) for s in TYPOS), "putting typos in {level}",
    _sentences(with_typos, TYPOS), sentence_targets))
register_shift("text", Shift(
    "dropped_words", "Dropped words", tuple(_share_words(s) for s in DROPS),
    "leaving out {level}", _sentences(without_words, DROPS), sentence_targets))


# -- scoring -------------------------------------------------------------------------------

# (the shifted split, the model's probabilities on it) -> decisions; None: the likeliest class
Decide = Callable[[TestSplit, np.ndarray], np.ndarray]


def _predict(model, split: TestSplit, device, decide: Decide | None) -> np.ndarray:
    X = torch.from_numpy(split.X).to(device)
    y = torch.from_numpy(split.y).to(device)
    probs = evaluate(model, X, y)[2].cpu().numpy()
    return probs.argmax(axis=1) if decide is None else np.asarray(decide(split, probs))


def clean_split(data: Dataset) -> TestSplit:
    return TestSplit(data.X_test, data.y_test, None if data.groups is None else data.groups[2])


def shifted(shift: Shift, split: TestSplit, target, severity: int, seed: int) -> TestSplit:
    """The test split under `shift` at `severity` (0: the split itself, untouched)."""
    if severity == 0:
        return split
    rng = np.random.default_rng([seed, severity, SEVERITIES[-1] + 1])
    return shift.apply(split, target, severity, rng)


def measure(model, data: Dataset, device, seed: int, decide: Decide | None = None,
            clean_pred: np.ndarray | None = None) -> tuple[dict, dict]:
    """({shift: {"0".."3": accuracy}}, details) for the model on its shifted test sets.

    `decide` turns probabilities into decisions where a technique of the run decides;
    `clean_pred`: the run's own test decisions (severity 0), so it is the clean accuracy
    exactly. Details: the column each table shift hit hardest, the seconds it took."""
    started = time.perf_counter()
    model.eval()
    split = clean_split(data)
    if clean_pred is None:
        clean_pred = _predict(model, split, device, decide)
    clean = float(np.mean(np.asarray(clean_pred) == split.y)) if len(split.y) else 0.0
    result: dict[str, dict[str, float]] = {}
    worst: dict[str, str] = {}
    right: dict[str, dict[str, str]] = {}  # per example, packed: paired luck tests read them

    def answers(shift: Shift, target, severity: int) -> tuple[float, str]:
        s = shifted(shift, split, target, severity, seed)
        ok = _predict(model, s, device, decide) == s.y
        return float(np.mean(ok)), pack(ok)

    for shift in shifts_for(data.info.kind):
        targets = shift.targets(data)
        if not targets:
            continue
        # the column that costs most at the middle severity is the one to report
        middle = [(*answers(shift, t, MIDDLE), name, t) for name, t in targets]
        at_middle, bits, name, target = min(middle, key=lambda m: m[0])
        scored = {MIDDLE: (at_middle, bits)} | {
            s: answers(shift, target, s) for s in SEVERITIES if s != MIDDLE}
        result[shift.key] = {"0": clean, **{str(s): scored[s][0] for s in SEVERITIES}}
        right[shift.key] = {str(s): scored[s][1] for s in SEVERITIES}
        if name:
            worst[shift.key] = name
    return result, {"seconds": time.perf_counter() - started, "targets": worst,
                    "examples": len(split.y), "right": right}


def pack(right: np.ndarray) -> str:
    """Right/wrong per example as hex (a bit each): 360 test digits are 90 characters."""
    return np.packbits(np.asarray(right, bool)).tobytes().hex()


def unpack(text: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(bytes.fromhex(text), np.uint8))[:n].astype(bool)


def summary(table: dict[str, dict[str, float]] | None) -> float | None:
    """Mean accuracy over the shifts at the middle severity (None: not measured)."""
    values = [v[str(MIDDLE)] for v in (table or {}).values() if str(MIDDLE) in v]
    return float(np.mean(values)) if values else None
