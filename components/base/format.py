"""Plain-language formatting of numbers and statuses."""
from __future__ import annotations

from playground.common.formatting import human_bytes, percent

__all__ = ["STATUS_WORDS", "human_bytes", "ordinal", "percent", "status_text"]

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
