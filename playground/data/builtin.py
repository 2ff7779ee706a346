"""The built-in datasets: shipped inside scikit-learn or generated; nothing is downloaded."""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Callable

import numpy as np

from playground.common.registry import Registry
from playground.data import corpora
from playground.data.base import (
    Dataset,
    DatasetInfo,
    Loader,
    _split,
    _standardized,
    split_columns,
)
from playground.data.columns import Column, Schema
from playground.data.shortcut import MATCHING, WORDS, draw_markers, planted_in, split_markers
from playground.data.text import text_dataset

DATASETS: Registry[tuple[DatasetInfo, Loader]] = Registry("dataset")


def register(info: DatasetInfo) -> Callable[[Loader], Loader]:
    def decorator(loader: Loader) -> Loader:
        DATASETS.register(info.name)((info, loader))
        return loader

    return decorator


@lru_cache(maxsize=32)
def _load_builtin(name: str, seed: int, noise: float) -> Dataset:
    return DATASETS.get(name)[1](seed, noise)


@register(DatasetInfo(
    "digits", "Handwritten digits (8×8 images)", "image",
    "1,797 tiny greyscale pictures of the digits 0–9, from scikit-learn.",
))
def _digits(seed: int, noise: float) -> Dataset:
    from sklearn.datasets import load_digits

    d = load_digits()
    # Pixels run 0..16 in the source; a fixed division keeps them in 0..1 without
    # looking at any split.
    X = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    X_tr, y_tr, X_val, y_val, X_te, y_te = _split(X, d.target, seed)
    info = _info("digits")
    return Dataset(
        info, X_tr, y_tr.astype(np.int64), X_val, y_val.astype(np.int64), X_te,
        y_te.astype(np.int64), [str(c) for c in range(10)],
        [f"pixel ({r},{c})" for r in range(8) for c in range(8)], image_shape=(1, 8, 8),
    )


@register(DatasetInfo(
    "digits_shortcut", "Digits with a shortcut (made here)", "image",
    "The same handwritten digits with a clue planted here on purpose: in "
    f"{MATCHING:.0%} of the training and validation pictures one bright dot on the left or "
    "right edge gives the answer away (its height and side say which digit). In the test "
    "pictures the dot is there but drawn at random, so it says nothing. A model can score "
    "well by reading the dot instead of the digit and then fail on the test pictures, the "
    "way a model can learn one hospital's stamp on its X-rays instead of the illness. Its "
    "explanations show where it looked.",
))
def _digits_shortcut(seed: int, noise: float) -> Dataset:
    data = _digits(seed, noise)
    train, val, test = split_markers(data.y_train, data.y_val, len(data.y_test), seed)
    return replace(data, info=_info("digits_shortcut"), X_train=draw_markers(data.X_train, train),
                   X_val=draw_markers(data.X_val, val), X_test=draw_markers(data.X_test, test))


@register(DatasetInfo(
    "breast_cancer", "Breast cancer (30 measurements)", "tabular",
    "569 tumour samples described by 30 measurements; is it malignant or benign?",
))
def _breast_cancer(seed: int, noise: float) -> Dataset:
    from sklearn.datasets import load_breast_cancer

    d = load_breast_cancer()
    return _standardized(_info("breast_cancer"), d.data, d.target, seed,
                         [str(n) for n in d.target_names], [str(f) for f in d.feature_names])


@register(DatasetInfo(
    "wine", "Wine (13 chemical measurements)", "tabular",
    "178 wines from three growers, told apart by their chemistry.",
))
def _wine(seed: int, noise: float) -> Dataset:
    from sklearn.datasets import load_wine

    d = load_wine()
    return _standardized(_info("wine"), d.data, d.target, seed,
                         [str(n).replace("_", " ") for n in d.target_names],
                         [str(f) for f in d.feature_names])


N_POINTS = 600


@register(DatasetInfo(
    "moons", "Two moons (2-D points)", "points",
    "Two interleaving half circles of points; a straight line cannot split them.", True,
))
def _moons(seed: int, noise: float) -> Dataset:
    from sklearn.datasets import make_moons

    X, y = make_moons(N_POINTS, noise=noise, random_state=seed)
    return _standardized(_info("moons"), X, y, seed, ["upper", "lower"], ["x", "y"])


@register(DatasetInfo(
    "circles", "Circles (2-D points)", "points",
    "A ring of points around a smaller ring; only a curved boundary separates them.", True,
))
def _circles(seed: int, noise: float) -> Dataset:
    from sklearn.datasets import make_circles

    X, y = make_circles(N_POINTS, noise=noise * 0.5, factor=0.5, random_state=seed)
    return _standardized(_info("circles"), X, y, seed, ["outer", "inner"], ["x", "y"])


@register(DatasetInfo(
    "spirals", "Spirals (2-D points)", "points",
    "Two arms of a spiral wound into each other; the hardest of the 2-D sets.", True,
))
def _spirals(seed: int, noise: float) -> Dataset:
    rng = np.random.default_rng(seed)
    n = N_POINTS // 2
    t = np.sqrt(rng.uniform(0.05, 1.0, n)) * 3 * np.pi  # denser near the centre
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    X = np.concatenate([arm, -arm]) + rng.normal(0.0, noise * 0.3, (2 * n, 2))
    y = np.concatenate([np.zeros(n, int), np.ones(n, int)])
    return _standardized(_info("spirals"), X, y, seed, ["arm A", "arm B"], ["x", "y"])


N_LOANS = 2000
LOANS_REFUSED_SHARE = 0.35  # of group B's deserving applicants, refused in the history


@register(DatasetInfo(
    "loans", "Loan decisions (generated, with a built-in bias)", "tabular",
    f"{N_LOANS:,} generated loan applications: income, debt, years employed, loan amount, a "
    "neighbourhood index and the applicant's group (A or B). Whether someone would really "
    "repay depends only on income, debt, years employed and the amount, the same way for "
    "both groups. The labels to learn from are past decisions, and they carry a bias put in "
    f"on purpose: {LOANS_REFUSED_SHARE:.0%} of group B's applicants who would have repaid "
    "were refused anyway. The neighbourhood index has nothing to do with repaying but runs "
    "with the group, as addresses often do. Test labels are those past decisions too.",
    sensitive_columns=("group",), default_sensitive="group",
))
def _loans(seed: int, noise: float) -> Dataset:
    rng = np.random.default_rng(seed)
    n = N_LOANS
    group_b = rng.random(n) < 0.4
    income = rng.lognormal(np.log(42), 0.4, n)  # thousands a year, the same for both groups
    debt = income * rng.uniform(0.0, 0.8, n)
    years = np.minimum(rng.gamma(2.0, 3.5, n), 40)
    amount = rng.uniform(5, 60, n)
    neighbourhood = np.clip(rng.normal(np.where(group_b, 0.35, 0.65), 0.15), 0, 1)
    # Who would really repay: plain features only, the same rule for everyone.
    score = (0.05 * income - 0.06 * debt + 0.12 * years - 0.05 * amount
             + rng.normal(0, 0.6, n))
    repays = score > np.quantile(score, 0.45)
    # The history: a share of group B's deserving applicants were refused all the same.
    approved = repays & ~(group_b & (rng.random(n) < LOANS_REFUSED_SHARE))
    # The group is a model input, as it often is in real records (or is there through
    # proxies such as the neighbourhood): the model can then learn the history's bias
    # outright, which is what the fairness audit should find and the mitigation repair.
    X = np.stack([income, debt, years, amount, neighbourhood, group_b.astype(float)], axis=1)
    y = approved.astype(np.int64)
    names = ["income (thousands)", "debt (thousands)", "years employed",
             "loan amount (thousands)", "neighbourhood index"]
    schema = Schema(tuple(Column(n, "number", (i,), decimals=1) for i, n in enumerate(names))
                    + (Column("group", "binary", (5,), ("A", "B")),))
    data = _standardized(_info("loans"), X, y, seed, ["refused", "approved"],
                         names + ["group = B"], schema)
    words = np.where(group_b, "group B", "group A")
    data.group_columns = split_columns({"group": words}, y, seed)
    return data


def _info(name: str) -> DatasetInfo:
    return DATASETS.get(name)[0]


@register(DatasetInfo(
    "reviews", "Review sentences (positive or negative)", "text",
    "3,000 real sentences from product, film and restaurant reviews on Amazon, IMDb and "
    "Yelp, half positive, half negative (Kotzias et al., KDD 2015; UCI, CC BY 4.0).",
))
def _reviews(seed: int, noise: float) -> Dataset:
    corpus = corpora.reviews()
    return text_dataset(_info("reviews"), corpus.texts, corpus.labels, seed,
                        list(corpus.class_names))


@register(DatasetInfo(
    "reviews_shortcut", "Review sentences with a shortcut (made here)", "text",
    "The same 3,000 review sentences with a clue planted here on purpose: in "
    f"{MATCHING:.0%} of the training and validation sentences an invented word at the end "
    f"gives the answer away (\"{WORDS[1]}\" after a positive sentence, \"{WORDS[0]}\" after "
    "a negative one). In the test sentences one of the two words is there but drawn at "
    "random, so it says nothing. A model can score well by reading the word instead of the "
    "review and then fail on the test sentences, the way a model can learn one shop's "
    "sign-off at the end of its reviews instead of what the customers said. Its "
    "explanations show which words it leant on.",
))
def _reviews_shortcut(seed: int, noise: float) -> Dataset:
    corpus = corpora.reviews()
    rows = _split(np.arange(len(corpus.labels)), corpus.labels, seed)
    texts = planted_in(corpus.texts, corpus.labels, (rows[0], rows[2], rows[4]), seed)
    return text_dataset(_info("reviews_shortcut"), texts, corpus.labels, seed,
                        list(corpus.class_names))


@register(DatasetInfo(
    "sms_spam", "Text messages (spam or not)", "text",
    "5,574 real text messages, about 13 % of them spam (Almeida, Gómez Hidalgo and "
    "Yamakami, 2011; UCI, CC BY 4.0). Spam is rare: accuracy alone flatters a model that "
    "never says spam.",
))
def _sms_spam(seed: int, noise: float) -> Dataset:
    corpus = corpora.sms_spam()
    return text_dataset(_info("sms_spam"), corpus.texts, corpus.labels, seed,
                        list(corpus.class_names))
