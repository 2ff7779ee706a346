"""When two people's names are the same name: compared by what a reader sees, not by bytes.

"Веn" (a Cyrillic В and е), "Ben.", " BEN " and "Ben" all read as Ben on a projector, so a
workshop must treat them as one name. `name_key` folds a name the way UTS #39 ("Unicode
Security Mechanisms") says to detect lookalikes: NFKC first (full-width and styled letters
become plain ones), then its confusable skeleton, case folded, with spaces, punctuation and
symbols left out (`same_name` compares two names so). `mixed_scripts` refuses a name that
mixes writing systems (Latin with Cyrillic, say), UTS #39's "highly restrictive" level: one
script, or Latin with the scripts Chinese, Japanese and Korean are written in together.

The confusables come from Unicode's own table (confusables.txt) as the kept package
`confusable-homoglyphs` stores it: each line "source → prototype" both ways. The package
finds lookalikes but has no skeleton, so it is rebuilt here: prototypes are never sources
in Unicode's table, so every group of single-letter lookalikes is a star around its
prototype, and each letter maps to one member of its group (the prototype where the data
shows which one it is); a source whose prototype is several letters ("m" → "rn") maps to
them. Equal keys here are exactly equal UTS #39 skeletons, up to renaming the prototypes.
"""
from __future__ import annotations

import functools
import unicodedata

from confusable_homoglyphs import categories, confusables

__all__ = ["mixed_scripts", "name_key", "name_keys", "same_name", "scripts", "skeleton"]

# Direction marks the package keeps around right-to-left letters in its table.
_MARKS = str.maketrans("", "", "\u200e\u200f")
# Scripts that mark no writing system of their own (digits, punctuation, combining accents).
_NEUTRAL = {"COMMON", "INHERITED", "Unknown"}
# UTS #39 "highly restrictive": Latin may be mixed with these sets, and nothing else mixes.
_CJK_SETS = ({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}, {"LATIN", "HAN", "BOPOMOFO"},
             {"LATIN", "HAN", "HANGUL"})


@functools.cache
def _prototypes() -> dict[str, str]:
    """Each confusable character -> the text every character of its group maps to."""
    edges: dict[str, set[str]] = {}
    to_many: dict[str, str] = {}
    for key, found in confusables.confusables_data.items():
        a = key.translate(_MARKS)
        for entry in found:
            b = entry["c"].translate(_MARKS)
            if len(a) == 1 and len(b) == 1:
                _link(edges, a, b)
            elif len(a) == 1 and len(b) > 1:
                to_many[a] = b  # a single letter that reads as several
            # The table's comments show accented letters composed ("ȧ → å"); the skeleton
            # decomposes first, so the accents themselves are the lookalikes (̇ and ̊).
            da, db = unicodedata.normalize("NFD", a), unicodedata.normalize("NFD", b)
            if (da, db) != (a, b) and len(da) == len(db):
                differ = [(x, y) for x, y in zip(da, db, strict=True) if x != y]
                if len(differ) == 1:
                    _link(edges, *differ[0])
    out: dict[str, str] = {}
    for start in edges:
        if start in out:
            continue
        group, todo = set(), [start]
        while todo:
            c = todo.pop()
            if c not in group:
                group.add(c)
                todo.extend(edges[c] - group)
        # The prototype is the letter the others point to (the centre of the star); a pair
        # does not say which one it is, and either is as good a key.
        centre = min(group, key=lambda c: (-len(edges[c]), ord(c)))
        out.update(dict.fromkeys(group, centre))
    # A several-letter prototype is written with letters that may have lookalikes too.
    out.update({source: "".join(out.get(t, t) for t in target)
                for source, target in to_many.items() if source not in edges})
    return out


def _link(edges: dict[str, set[str]], a: str, b: str) -> None:
    edges.setdefault(a, set()).add(b)
    edges.setdefault(b, set()).add(a)


def skeleton(text: str) -> str:
    """UTS #39's skeleton: NFD, each character replaced by its prototype, NFD again."""
    table = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in decomposed))


def _letters(text: str) -> str:
    """Only letters, digits and marks: spaces, punctuation, symbols and controls go."""
    return "".join(c for c in text if unicodedata.category(c)[0] in "LNM")


def name_keys(name: str) -> tuple[str, str]:
    """What a name reads as, twice: case folded before the skeleton ("ALICE" is "Alice",
    though a capital I reads as l and a small i does not) and after it ("Веn" is "Ben",
    though a capital В reads as B and a small в does not). Two names are the same name
    when either key agrees."""
    text = _letters(unicodedata.normalize("NFKC", name or ""))
    small = skeleton(text.casefold()).casefold()
    capital = skeleton(skeleton(text).casefold()).casefold()
    return (_letters(unicodedata.normalize("NFKC", small)),
            _letters(unicodedata.normalize("NFKC", capital)))


def name_key(name: str) -> str:
    """The name's key with case folded first (empty: no letter or digit in it)."""
    return name_keys(name)[0]


def same_name(a: str, b: str) -> bool:
    return any(x == y for x, y in zip(name_keys(a), name_keys(b), strict=True))


def scripts(name: str) -> set[str]:
    """The writing systems a name uses (Unicode's Script property), neutral ones left out."""
    return {categories.alias(c) for c in unicodedata.normalize("NFKC", name or "")} - _NEUTRAL


def mixed_scripts(name: str) -> bool:
    """True when a name mixes writing systems a reader could mistake for each other."""
    used = scripts(name)
    return len(used) > 1 and not any(used <= allowed for allowed in _CJK_SETS)
