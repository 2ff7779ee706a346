"""The real text corpora kept in the repository (corpora/SOURCES.md says where they came
from, their licence and their checksums). Each file is checked against its SHA-256 and the
published counts before use, so a damaged or edited copy is refused, not learnt from."""
from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent / "corpora"
REVIEW_SITES = ("amazon", "imdb", "yelp")
REVIEW_FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt",
                "yelp": "yelp_labelled.txt"}
SMS_FILE = "SMSSpamCollection"
SHA256 = {
    "amazon_cells_labelled.txt":
        "47003fc0a0d4840b00e96e715b6189bad09e7443a3da41c4cbe12ffc79f86ae3",
    "imdb_labelled.txt": "c662b9360c1652babb990d164835af12aa105db7991f1fdb19038115f0e93de8",
    "yelp_labelled.txt": "b565b1eeb864d76842588c3a256731b08bcdd9faf6de507bfe211a96f8b81912",
    SMS_FILE: "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
}
# The counts the authors published (UCI pages): per review site 500 negative and 500
# positive sentences; 4,827 legitimate messages and 747 spam.
REVIEWS_PER_SITE = (500, 500)
SMS_COUNTS = (4827, 747)


class CorpusDamaged(RuntimeError):
    pass


@dataclass(frozen=True)
class Corpus:
    texts: np.ndarray  # object array of str
    labels: np.ndarray  # int64
    class_names: tuple[str, ...]
    sources: np.ndarray  # where each text came from (the review site), or ""


def checked_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[path.name]:
        raise CorpusDamaged(f"{path} does not match its published checksum (SHA-256 "
                            f"{digest[:12]}…, expected {SHA256[path.name][:12]}…); restore it "
                            "from the repository (git checkout -- playground/data/corpora)")
    return data


def _counts_problem(name: str, found, expected) -> None:
    if tuple(found) != tuple(expected):
        raise CorpusDamaged(f"{name} holds {tuple(found)} examples per class, the published "
                            f"counts are {tuple(expected)}")


@lru_cache(maxsize=1)
def reviews() -> Corpus:
    """Sentiment Labelled Sentences: 3,000 review sentences, negative (0) or positive (1)."""
    texts, labels, sources = [], [], []
    for site in REVIEW_SITES:
        name = REVIEW_FILES[site]
        lines = checked_bytes(HERE / "sentiment_labelled_sentences" / name).decode(
            "utf-8").splitlines()
        rows = [line.rsplit("\t", 1) for line in lines if line.strip()]
        site_labels = [int(score) for _, score in rows]
        _counts_problem(name, np.bincount(site_labels, minlength=2), REVIEWS_PER_SITE)
        texts += [sentence.strip() for sentence, _ in rows]
        labels += site_labels
        sources += [site] * len(rows)
    return Corpus(np.array(texts, dtype=object), np.array(labels, dtype=np.int64),
                  ("negative", "positive"), np.array(sources, dtype=object))


@lru_cache(maxsize=1)
def sms_spam() -> Corpus:
    """SMS Spam Collection: 5,574 text messages, legitimate (0) or spam (1)."""
    lines = checked_bytes(HERE / "sms_spam_collection" / SMS_FILE).decode("utf-8").splitlines()
    rows = [line.split("\t", 1) for line in lines if line.strip()]
    labels = np.array([1 if label == "spam" else 0 for label, _ in rows], dtype=np.int64)
    _counts_problem(SMS_FILE, np.bincount(labels, minlength=2), SMS_COUNTS)
    # The collection keeps some characters as HTML entities ("&lt;#&gt;", "&amp;"): read
    # them as the characters they stand for, so "lt" and "gt" are no words of a message.
    return Corpus(np.array([html.unescape(text.strip()) for _, text in rows], dtype=object),
                  labels,
                  ("legitimate", "spam"), np.array([""] * len(rows), dtype=object))
