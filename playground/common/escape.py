"""Text a person typed or uploaded, made safe before it meets HTML, Markdown or a spreadsheet.

Class names (CSV target values, ZIP folder names), upload and column names, display names
and run labels are user data: shown raw, `<style>` or `<form>` would reach the page through
`st.html`, and `[a](http://...)` or `![x](http://...)` would become links and remote
pictures in Markdown. One helper per destination, used everywhere such text is shown:

- `html(text)`: for `st.html`, `unsafe_allow_html` and the HTML report;
- `md(text)`: for `st.markdown`, `st.caption`, `st.info`/`st.warning`/..., headings, labels
  (Streamlit renders Markdown in all of those): Markdown's special characters are
  backslash-escaped, so the text shows exactly as typed, as plain text;
- `csv_cell(value)`: for CSV exports: a cell a spreadsheet would run as a formula (it starts
  with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading apostrophe, OWASP's rule
  for CSV injection; numbers stay numbers.
"""
from __future__ import annotations

import html as _html
import re
from typing import Any

__all__ = ["csv_cell", "html", "md"]

# Everything CommonMark treats as punctuation that may start or end markup, plus `$` (math in
# Streamlit) and `:` (Streamlit's :color[...] and :material/...: directives).
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:=\"'&])")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# GitHub-flavoured Markdown (Streamlit's) also turns bare addresses into links ("http://...",
# "www.x", "a@b.org"), found in the text after escapes are read. A word joiner (U+2060:
# invisible, no line break) right after each such start keeps the address plain text.
_AUTOLINK_START = re.compile(r"(?i)(?:https?|www)(?=[:.])|@")
WORD_JOINER = "\u2060"


def html(text: Any) -> str:
    """`text` as inert HTML: `<`, `>`, `&` and both quotes become entities."""
    return _html.escape(str(text), quote=True)


def md(text: Any) -> str:
    """`text` as inert Markdown: shown exactly as typed, never as a link, picture, heading,
    HTML tag or Streamlit directive. Line breaks become spaces (one line of text in, one out).
    Web and mail addresses get an invisible word joiner, so they are not made links."""
    flat = _AUTOLINK_START.sub(lambda m: m.group(0) + WORD_JOINER, " ".join(str(text).split()))
    return _MD_SPECIAL.sub(r"\\\1", flat)


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text, never runs: strings that start like a formula
    get a leading apostrophe. Numbers (and None) pass unchanged, so a negative number stays a
    number."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
