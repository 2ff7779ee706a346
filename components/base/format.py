"""Plain-language formatting of numbers and statuses."""
from __future__ import annotations

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


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def percent(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
