"""Numbers in words, the same on every page, in narratives and in exports."""
from __future__ import annotations

_UNITS = ("bytes", "KB", "MB", "GB")


def human_bytes(n: float, unit: str | None = None) -> str:
    """'812 bytes', '31.5 KB', '2.1 MB'. With `unit` ('KB' or 'MB'), sizes of a kilobyte or
    more are all given in that unit, so numbers side by side compare at a glance."""
    if n < 1024:
        return f"{n:,.0f} bytes"
    if unit is not None:
        return f"{n / 1024 ** _UNITS.index(unit):,.1f} {unit}"
    for u in _UNITS[1:]:
        n /= 1024
        if n < 1024 or u == _UNITS[-1]:
            return f"{n:,.1f} {u}"
    raise AssertionError("unreachable")


def percent(x: float | None) -> str:
    """'97.2%'; '—' for a number that is missing."""
    return "—" if x is None else f"{x:.1%}"


def points(diff: float) -> str:
    """A difference of two shares in percentage points, without its sign: '3.5 points'."""
    return f"{abs(diff) * 100:.1f} points"
