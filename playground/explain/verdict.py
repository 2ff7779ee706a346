"""One plain sentence per explanation: what weighed most, and whether the methods agree.

The page and `explain --json` both start from here, so a person reads the verdict before
any diagnostic. Tables speak of the person's own columns and values (a one-hot column's
inputs add up to the column, as SHAP's shares do); pictures say where in the picture, in
words when the important pixels gather in one part, else how far the methods' top pixels
overlap. Sentences speak of their words as typed ("All three methods say “not” counted
most towards “negative”"), each place in the sentence its own word. Each method's own
check (LIME's local fit, SHAP's sum, Integrated Gradients' completeness gap) comes with it,
in plain words, for a "details" view.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Mapping, Sequence

import numpy as np

from playground.data.units import RowCodec
from playground.explain import methods as M
from playground.explain.agreement import top_k_overlap
from playground.explain.charts import pixel_map

COUNT_WORDS = {2: "Both", 3: "All three", 4: "All four", 5: "All five", 6: "All six"}
# Pictures: the share of the most important pixels two methods must share to "agree".
TOP_SHARE = 0.1
AGREE_OVERLAP = 0.5
# A part of the picture "holds" what mattered when this share of the top pixels' weight
# lies in it: a quarter (or the centre) needs 0.6 of it, a half 0.7.
QUARTER_MASS, HALF_MASS = 0.6, 0.7
FOCUS = 0.3  # where-in-the-picture weighs the pixels at least this share of the strongest


@dataclass(frozen=True)
class MethodMap:
    """One method's explanation, with what a verdict needs to know about it."""

    title: str
    values: np.ndarray  # shaped like the input; positive pushed towards the class
    signed: bool = True  # False: sizes only (Saliency)
    check: str = ""  # the method's own check, e.g. "local fit R² 0.89"
    check_meaning: str = ""  # what that check says, in plain words


@dataclass(frozen=True)
class Detail:
    method: str  # a method's title, or "" for a note about all of them
    check: str
    meaning: str

    def to_json(self) -> dict[str, str]:
        return {"method": self.method, "check": self.check, "meaning": self.meaning}


@dataclass(frozen=True)
class Verdict:
    sentence: str
    agree: bool | None  # None: one method, nothing to agree on
    top: dict[str, str]  # method title -> what it says weighed most, in words
    details: tuple[Detail, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"sentence": self.sentence, "agree": self.agree, "top": dict(self.top),
                "details": [d.to_json() for d in self.details]}


def method_maps(attributions: Mapping[str, M.Attribution]) -> list[MethodMap]:
    """MethodMaps of finished attributions keyed by method name, each with its own check."""
    out = []
    for name, a in attributions.items():
        m = M.method(name)
        out.append(MethodMap(m.title, np.asarray(a.values), m.signed, m.note(a),
                             m.check_meaning))
    return out


def _details(maps: Sequence[MethodMap]) -> list[Detail]:
    return [Detail(m.title, m.check, m.check_meaning) for m in maps if m.check]


def _count(n: int) -> str:
    return COUNT_WORDS.get(n, f"All {n}")


def _names(titles: Sequence[str]) -> str:
    titles = list(titles)
    return titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + " and " + titles[-1]


def _groups(picks: dict[str, Any]) -> list[tuple[Any, list[str]]]:
    """Methods grouped by what they pick, the largest group first (ties: first named)."""
    groups: dict[Any, list[str]] = {}
    for title, pick in picks.items():
        groups.setdefault(pick, []).append(title)
    return sorted(groups.items(), key=lambda g: -len(g[1]))


# -- tables -------------------------------------------------------------------------------

@dataclass(frozen=True)
class TableColumn:
    """A column as the person knows it: its name, its model inputs, its value in words."""

    name: str
    features: tuple[int, ...]
    value: str


def table_columns(data, x: np.ndarray) -> list[TableColumn]:
    """The dataset's columns with this row's values in the person's units (the run's own
    preprocessing, read backwards)."""
    codec = RowCodec(data)
    raw = codec.to_raw(x)
    return [TableColumn(c.name, tuple(c.features), codec.format(c.name, raw[c.name]))
            for c in codec.schema]


def _column_scores(values: np.ndarray, columns: Sequence[TableColumn],
                   signed: bool) -> np.ndarray:
    flat = np.asarray(values, dtype=np.float64).ravel()
    if not signed:
        flat = np.abs(flat)
    return np.array([flat[list(c.features)].sum() for c in columns])


def _way(score: float, class_name: str) -> str:
    return f"towards “{class_name}”" if score > 0 else f"against “{class_name}”"


def table_verdict(maps: Sequence[MethodMap], columns: Sequence[TableColumn],
                  class_name: str) -> Verdict:
    """Which column weighed most by each method, and whether they say the same thing.

    A column's weight is the sum of its inputs' attributions (a one-hot category's inputs
    together); its direction the sign of that sum (methods without a sign have no say)."""
    if not maps:
        raise ValueError("a verdict needs at least one explanation")
    picks: dict[str, int] = {}
    signs: dict[str, float] = {}
    for m in maps:
        scores = _column_scores(m.values, columns, m.signed)
        best = int(np.argmax(np.abs(scores)))
        picks[m.title] = best
        if m.signed and scores[best] != 0:
            signs[m.title] = float(np.sign(scores[best]))
    top = {t: columns[i].name for t, i in picks.items()}
    details = tuple(_details(maps))
    groups = _groups(picks)
    if len(groups) > 1:
        said = ", ".join(
            f"{_names(titles)} say{'s' if len(titles) == 1 else ''} {columns[i].name}"
            for i, titles in groups)
        return Verdict(f"The methods disagree: {said}; treat this with care.", False, top,
                       details)
    column = columns[groups[0][0]]
    what = f"{column.name} ({column.value})" if column.value else column.name
    ways = set(signs.values())
    if len(ways) > 1:
        towards = [t for t, s in signs.items() if s > 0]
        against = [t for t, s in signs.items() if s < 0]
        return Verdict(
            f"The methods agree that {what} counted most but not on which way: "
            f"{_names(towards)} say{'s' if len(towards) == 1 else ''} towards "
            f"“{class_name}”, {_names(against)} against; treat this with care.",
            False, top, details)
    way = "" if not ways else " " + _way(next(iter(ways)), class_name)
    if len(maps) == 1:
        only = maps[0]
        tail = "" if only.signed else " (it shows size, not direction)"
        return Verdict(f"{only.title} says {what} counted most{way}{tail}.", None, top,
                       details)
    return Verdict(f"{_count(len(maps))} methods say {what} counted most{way}.", True, top,
                   details)


# -- sentences ----------------------------------------------------------------------------

def text_verdict(maps: Sequence[MethodMap], words: Sequence[str], class_name: str) -> Verdict:
    """Which word weighed most by each method (a word is one place in the sentence), and
    whether they agree on it and on its direction."""
    columns = [TableColumn(f"“{w}”", (i,), "") for i, w in enumerate(words)]
    return table_verdict(maps, columns, class_name)


# -- pictures -----------------------------------------------------------------------------

def _overlap_1d(n: int, lo: float, hi: float) -> np.ndarray:
    """How much of each of n unit cells lies in [lo, hi) (fractions of the length n)."""
    edges = np.arange(n, dtype=np.float64)
    return np.clip(np.minimum(edges + 1, hi * n) - np.maximum(edges, lo * n), 0, 1)


PARTS = {  # words: (rows from, rows to, columns from, columns to), fractions of the picture
    "the upper left": (0, .5, 0, .5), "the upper right": (0, .5, .5, 1),
    "the lower left": (.5, 1, 0, .5), "the lower right": (.5, 1, .5, 1),
    "the centre": (.25, .75, .25, .75),
    "the upper half": (0, .5, 0, 1), "the lower half": (.5, 1, 0, 1),
    "the left half": (0, 1, 0, .5), "the right half": (0, 1, .5, 1),
}


def where(values: np.ndarray) -> str | None:
    """Where the strongest pixels of a map gather, in words ("the upper half"), or None
    when they are spread out."""
    importance = np.abs(pixel_map(np.asarray(values, dtype=np.float64)))
    if importance.ndim != 2 or importance.sum() == 0:
        return None
    h, w = importance.shape
    focus = np.where(importance >= FOCUS * importance.max(), importance, 0.0)
    total = focus.sum()
    best, best_mass = None, 0.0
    for words, (r0, r1, c0, c1) in PARTS.items():
        weight = np.outer(_overlap_1d(h, r0, r1), _overlap_1d(w, c0, c1))
        mass = float((focus * weight).sum() / total)
        need = HALF_MASS if words.endswith("half") else QUARTER_MASS
        # smaller parts are listed first: a half wins only when no quarter holds it
        if mass >= need and (best is None or (mass > best_mass and not
                                              words.endswith("half"))):
            best, best_mass = words, mass
    return best


def picture_overlap(maps: Sequence[MethodMap]) -> float | None:
    """Mean share of the most important tenth of the pixels that two methods both pick."""
    pixel = [np.abs(pixel_map(np.asarray(m.values))) for m in maps]
    if len(pixel) < 2:
        return None
    k = max(1, int(round(TOP_SHARE * pixel[0].size)))
    return float(np.mean([top_k_overlap(a, b, k) for a, b in combinations(pixel, 2)]))


OVERLAP_MEANING = ("overlap: of the most important tenth of the pixels, the share two "
                   "methods both pick, averaged over every pair of methods (1: the same "
                   "pixels, 0: none in common)")


def picture_verdict(maps: Sequence[MethodMap], class_name: str) -> Verdict:
    if not maps:
        raise ValueError("a verdict needs at least one explanation")
    places = {m.title: where(m.values) for m in maps}
    top = {t: p or "spread across the picture" for t, p in places.items()}
    details = _details(maps)
    overlap = picture_overlap(maps)
    if overlap is not None:
        details.append(Detail("", f"overlap {overlap:.1f}", OVERLAP_MEANING))
    details_t = tuple(details)
    if len(maps) == 1:
        title, place = next(iter(places.items()))
        if place is None:
            return Verdict(f"{title} finds what mattered for “{class_name}” spread across "
                           "the picture.", None, top, details_t)
        return Verdict(f"{title} says {place} of the picture mattered most for "
                       f"“{class_name}”.", None, top, details_t)
    groups = _groups(places)
    if len(groups) == 1 and groups[0][0] is not None:
        return Verdict(f"{_count(len(maps))} methods say {groups[0][0]} of the picture "
                       f"mattered most for “{class_name}” (overlap {overlap:.1f}).", True, top,
                       details_t)
    if overlap >= AGREE_OVERLAP:
        mostly = groups[0][0] if len(groups[0][1]) > len(maps) / 2 else None
        tail = f", mostly {mostly}" if mostly else ""
        return Verdict(f"The methods agree on which pixels mattered for “{class_name}” "
                       f"(overlap {overlap:.1f}){tail}.", True, top, details_t)
    if len(groups) == 1:
        return Verdict(f"The methods disagree on which pixels mattered (overlap "
                       f"{overlap:.1f}); treat this with care.", False, top, details_t)
    said = ", ".join(f"{_names(titles)} point{'s' if len(titles) == 1 else ''} to "
                     f"{place or 'pixels spread across the picture'}"
                     for place, titles in groups)
    return Verdict(f"The methods disagree on which pixels mattered (overlap {overlap:.1f}): "
                   f"{said}; treat this with care.", False, top, details_t)


def verdict_for(data, x: np.ndarray, attributions: Mapping[str, M.Attribution],
                class_name: str) -> Verdict:
    """The verdict on one input's explanations by the methods named in `attributions`."""
    maps = method_maps(attributions)
    if data.info.kind == "image":
        return picture_verdict(maps, class_name)
    if data.info.kind == M.TEXT:
        words = next((a.words for a in attributions.values() if a.words), None)
        if words is None:
            raise ValueError("a verdict on a sentence needs its words")
        return text_verdict(maps, words, class_name)
    return table_verdict(maps, table_columns(data, x), class_name)
