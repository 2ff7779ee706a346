"""Sections of BENCHMARKS.md that one part of the bench writes on its own (between
`<!-- NAME:start -->` and `<!-- NAME:end -->`), so it can be rerun without the rest."""
from __future__ import annotations

from pathlib import Path


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def replace_block(path: Path, name: str, lines: list[str]) -> None:
    """Put `lines` (which start and end with the markers) in place of the old block."""
    start, end = markers(name)
    text = path.read_text() if path.exists() else ""
    new = "\n".join(lines)
    if start in text and end in text:
        text = text[:text.index(start)] + new + text[text.index(end) + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + new + "\n"
    path.write_text(text)
