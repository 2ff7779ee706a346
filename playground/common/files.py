"""Writing files that other processes read while we write: they see the old file or the new
one, never half of one (write to a temporary name beside it, then rename over it)."""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator


def temporary_beside(path: Path) -> Path:
    """A name beside `path` no other process or thread of ours writes at the same time."""
    return path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` writes the new content to a temporary file, which then replaces `path`."""
    tmp = temporary_beside(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: Any, *, indent: int | None = None) -> None:
    replace_atomically(path, lambda tmp: tmp.write_text(json.dumps(data, indent=indent)))


def create_json(path: Path, data: Any, mode: int = 0o600) -> bool:
    """Write `path` only if nothing is there yet (of two processes creating one name at once
    exactly one wins, and readers never see half a file); False if the name was taken."""
    tmp = temporary_beside(path)
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode)
        with os.fdopen(fd, "w") as f:
            json.dump(data, f)
        os.link(tmp, path)  # fails if `path` exists: the claim and the content in one step
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def held_once(lock: Path, stale_s: float = 60.0) -> Iterator[bool]:
    """An exclusive lock file, so that something is done once across processes (two presses
    of one button): yields True while this process holds it (removed afterwards), False when
    another does. A lock older than `stale_s`, left by a process that died, is removed so the
    next call can take it."""
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            if time.time() - lock.stat().st_mtime > stale_s:
                lock.unlink()
        except OSError:
            pass
        yield False
        return
    try:
        yield True
    finally:
        os.close(fd)
        lock.unlink(missing_ok=True)
