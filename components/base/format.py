"""Plain-language formatting of numbers and statuses."""
from __future__ import annotations

from typing import Any

import pandas as pd

from playground.common import escape
from playground.common.formatting import human_bytes, percent

__all__ = ["STATUS_WORDS", "human_bytes", "md_table", "ordinal", "percent", "status_text"]

STATUS_WORDS = {
    "queued": ("⏳", "waiting in line"),
    "running": ("🏃", "training"),
    "finished": ("✅", "finished"),
    "failed": ("❌", "failed"),
    "cancelled": ("⏹️", "cancelled"),
    "interrupted": ("⚠️", "interrupted"),
}


def status_text(status: str) -> str:
    icon, words = STATUS_WORDS.get(status, ("", status))
    return f"{icon} {words}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _md_cell(value: Any) -> Any:
    return escape.md(value) if isinstance(value, str) else value


def md_table(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` ready for `st.table`, which renders Markdown in cells and headings: every text
    cell, column name and row name escaped, so a class, group or person's name shows as typed.
    Numbers stay numbers."""
    return frame.map(_md_cell).rename(index=_md_cell, columns=_md_cell)
