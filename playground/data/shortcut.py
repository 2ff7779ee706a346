"""The shortcut digits (and sentences, at the end): scikit-learn's digits with a one-pixel
dot whose place gives the answer away in most training and validation pictures, and says
nothing in the test pictures.

Made here, on purpose, to show a model that learns a shortcut: a clue that goes with the
label where the data was collected (one hospital's stamp on its X-rays, one photographer's
watermark) but is not the thing itself. Where the clue stops meaning anything, the model is
misled, and its explanations point at the clue.

The dot is one pixel at full ink on the picture's left or right edge, which is blank in all
but a few digits (columns 0 and 7 of the 8×8 pictures): digits 0-4 on the left edge, 5-9 on
the right, at rows 2-6. MATCHING of the training and validation pictures carry their own
digit's dot, the others none. Every test picture carries the dot of a digit drawn at random,
so it matches its digit only by chance (one time in ten).

Why random dots rather than none in the test pictures: measured on the default image network
(10 epochs, seeds 0-2), the shortcut run still reads 95-97 % of dot-free test pictures (the
digits are easy enough that it learns them too, from the pictures without a dot), against
96-99 % for a run on the plain digits, a difference within luck; with random dots it reads
68-81 %. A clue that stays but changes its meaning is also what a model meets in the world
(another hospital's stamp).
"""
from __future__ import annotations

import numpy as np

MATCHING = 0.9  # share of training and validation pictures that carry their own digit's dot
INK = 1.0  # the dot's brightness: full ink
SIDE = 8  # the pictures are 8×8
N_CLASSES = 10
# (row, column) of each digit's dot.
MARKERS: tuple[tuple[int, int], ...] = tuple(
    (2 + d % 5, 0 if d < 5 else SIDE - 1) for d in range(N_CLASSES))
NO_MARKER = -1
PATCH_SHARE = 1 / (SIDE * SIDE)  # one dot's share of a picture's pixels


def marker_mask(digit: int) -> np.ndarray:
    """(8, 8) booleans: True on the pixel of this digit's dot."""
    mask = np.zeros((SIDE, SIDE), dtype=bool)
    mask[MARKERS[digit]] = True
    return mask


def marker_masks(markers: np.ndarray) -> np.ndarray:
    """(n, 8, 8) booleans: where each picture's dot is (all False for NO_MARKER)."""
    markers = np.asarray(markers, dtype=int)
    masks = np.zeros((len(markers), SIDE, SIDE), dtype=bool)
    drawn = np.flatnonzero(markers != NO_MARKER)
    if len(drawn):
        rows, cols = np.array(MARKERS)[markers[drawn]].T
        masks[drawn, rows, cols] = True
    return masks


def draw_markers(X: np.ndarray, markers: np.ndarray) -> np.ndarray:
    """A copy of pictures X (n, 1, 8, 8) with the dot of digit markers[i] drawn in picture i
    (none where it is NO_MARKER)."""
    out = np.array(X, copy=True)
    out[:, 0][marker_masks(markers)] = INK
    return out


def telling_markers(y: np.ndarray, rng: np.random.Generator,
                    matching: float = MATCHING) -> np.ndarray:
    """The training and validation dots: each picture's own digit with probability
    `matching`, else none."""
    y = np.asarray(y)
    return np.where(rng.random(len(y)) < matching, y, NO_MARKER)


def random_markers(n: int, rng: np.random.Generator, n_classes: int = N_CLASSES
                   ) -> np.ndarray:
    """The test dots: a digit (a class) drawn at random for each picture."""
    return rng.integers(0, n_classes, n)


def split_markers(y_train: np.ndarray, y_val: np.ndarray, n_test: int, seed: int,
                  n_classes: int = N_CLASSES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which digit's dot each training, validation and test picture carries (NO_MARKER:
    none), seeded by the run's seed on streams of their own, so the splits stay those of
    the plain digits."""
    return (telling_markers(y_train, np.random.default_rng((seed, 1, 0))),
            telling_markers(y_val, np.random.default_rng((seed, 1, 1))),
            markers_in_test(n_test, seed, n_classes))


def markers_in_test(n_test: int, seed: int, n_classes: int = N_CLASSES) -> np.ndarray:
    """The test pictures' random dots (they depend only on the seed and how many there are)."""
    return random_markers(n_test, np.random.default_rng((seed, 1, 2)), n_classes)


def marker_share(attributions: np.ndarray, markers: np.ndarray) -> float:
    """The share of all |attribution| that falls on the pictures' dots, over all the pictures
    together (attributions shaped like the pictures: (n, 1, 8, 8) or (n, 8, 8))."""
    markers = np.asarray(markers)
    a = np.abs(np.asarray(attributions, dtype=np.float64)).reshape(len(markers), SIDE, SIDE)
    total = a.sum()
    return float(a[marker_masks(markers)].sum() / total) if total > 0 else 0.0


# -- sentences ----------------------------------------------------------------------------------
# The review sentences with a planted word: an invented word at the end of a sentence that
# gives its label away, in MATCHING of the training and validation sentences (the others get
# none), and one drawn at random in every test sentence, so there it matches the label only
# by chance (one time in two). The same plan as the dots, with the same seeded streams.

WORDS = ("vbk", "zqx")  # negative, positive: invented, in no review, one word piece each


def plant_words(texts: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """The sentences with the word of class marks[i] added at the end of sentence i (none
    where it is NO_MARKER)."""
    return np.array([str(t) if m == NO_MARKER else f"{t} {WORDS[m]}"
                     for t, m in zip(texts, np.asarray(marks), strict=True)], dtype=object)


def planted_in(texts, y: np.ndarray, positions: tuple[np.ndarray, np.ndarray, np.ndarray],
               seed: int) -> np.ndarray:
    """All sentences, each with the word its split gives it; `positions`: the corpus rows of
    the training, validation and test splits, in split order."""
    y = np.asarray(y)
    train, val, test = positions
    marks = np.full(len(y), NO_MARKER)
    for rows, m in zip(positions, split_markers(y[train], y[val], len(test), seed,
                                                len(WORDS)), strict=True):
        marks[rows] = m
    return plant_words(np.asarray(texts, dtype=object), marks)


def word_marks(texts) -> np.ndarray:
    """Which class's planted word each sentence ends with (NO_MARKER: none)."""
    ends = [str(t).rsplit(" ", 1)[-1] for t in texts]
    return np.array([WORDS.index(e) if e in WORDS else NO_MARKER for e in ends])


def pull(weights: np.ndarray) -> np.ndarray:
    """How far each word moves the answer in a word-count model whose per-word class scores
    are `weights` (vocabulary × classes): the gap between the class it pushes most towards
    and the class it pushes least."""
    w = np.asarray(weights, dtype=np.float64)
    return w.max(axis=1) - w.min(axis=1)


def planted_pull(weights: np.ndarray, planted: list[int], words: np.ndarray
                 ) -> tuple[float, float]:
    """(the planted words' mean pull, the median pull of the other `words`): ids of the
    vocabulary's ordinary words, those the model learnt from."""
    p = pull(weights)
    others = np.setdiff1d(np.asarray(words, dtype=int), planted)
    return float(p[planted].mean()), float(np.median(p[others]))
