"""Words as a person reads them in a sentence (not the tokenizer's pieces): what a typo
touches, what a dropped word removes, what "sentences containing 'not'" means."""
from __future__ import annotations

import re

WORD = re.compile(r"\w+(?:'\w+)*")  # letters and digits; "I'm" and "don't" are one word


def words_of(text: str) -> list[str]:
    """The words of `text`, lower-cased, in order."""
    return [w.lower() for w in WORD.findall(str(text))]
