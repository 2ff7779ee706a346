"""Sections of BENCHMARKS.md that one part of the bench writes on its own (between
`<!-- NAME:start -->` and `<!-- NAME:end -->`), so it can be rerun without the rest."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable


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


def main(name: str, doc: str, measure: Callable[[], Any],
         markdown: Callable[[Any], list[str]], argv: list[str] | None = None) -> int:
    """Measure one part alone and put its block into BENCHMARKS.md (or --out)."""
    parser = argparse.ArgumentParser(description=doc)
    parser.add_argument("--out", default="BENCHMARKS.md")
    args = parser.parse_args(argv)
    block = markdown(measure())
    replace_block(Path(args.out), name, block)
    print("\n".join(block))
    return 0
