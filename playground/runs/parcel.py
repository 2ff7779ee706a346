"""Work that leaves this machine: what a run or a job reads, packed to travel, and the store
stand-in it is done against on the other side.

A Ray node has no data folder, and only the head writes the run store. So the head packs
what the work reads (its datasets, and the records and files of the runs it uses: a
distillation teacher, the run an explanation is about) into a Parcel. On the node a
NodeStore answers those reads and turns every write into an event for the head, carrying
the files written since the previous event; the head replays the events on the real store
(`apply`), files first, so a run is marked finished only once its weights are in place.
The worker's own `execute` and JobDesk run unchanged against it: one code path.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from playground.common.files import replace_atomically
from playground.data.base import Dataset
from playground.data.catalog import load_dataset
from playground.runs.jobs import JOB_KINDS, JOB_RUNS
from playground.runs.records import Job, Run, runs_waited_for
from playground.runs.store import Store

# What a node may ask the store to do; each becomes an event that the head replays.
WRITES = ("set_executor", "set_progress", "add_epoch", "finish", "end",
          "job_progress", "finish_job", "end_job")
SKIPPED_FOLDERS = ("explanations",)  # caches the work never reads: not worth the trip

DatasetKey = tuple[str, int, float]
Files = dict[str, dict[str, bytes]]  # run id -> path inside its folder -> content
Event = tuple[str, tuple, dict, Files]


@dataclass
class Parcel:
    item: Run | Job
    runs: dict[str, Run] = field(default_factory=dict)  # the runs the work reads
    # Finished runs on the same data, records only: what a run compares itself with at the
    # end (a distilled student's twin trained alone).
    peers: list[Run] = field(default_factory=list)
    files: Files = field(default_factory=dict)
    dataset_keys: list[DatasetKey] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)  # modules that register job kinds


def runs_read(store: Store, item: Run | Job) -> list[Run]:
    """The finished runs a run (its teacher, the run it starts from) or a job (what it
    explains) reads."""
    if isinstance(item, Run):
        ids = runs_waited_for(item.config)
    else:
        ids = JOB_RUNS.get(item.kind)(item) if item.kind in JOB_RUNS else []
    return [run for i in dict.fromkeys(ids) if (run := store.get(i)) is not None]


def read_files(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] not in SKIPPED_FOLDERS}


def pack(store: Store, item: Run | Job) -> Parcel:
    """Everything `item` reads, without the datasets (they travel on their own, once)."""
    runs = runs_read(store, item)
    configs = [r.config for r in runs] + ([item.config] if isinstance(item, Run) else [])
    keys = list(dict.fromkeys((c.dataset, c.seed, c.noise) for c in configs))
    modules = [JOB_KINDS.get(item.kind).__module__] if isinstance(item, Job) else []
    peers = []
    if isinstance(item, Run) and item.config.techniques:  # only techniques look for twins
        data = (item.config.dataset, item.config.seed, item.config.noise)
        peers = [r for r in store.list_runs(("finished",))
                 if (r.config.dataset, r.config.seed, r.config.noise) == data]
    return Parcel(item, {r.id: r for r in runs}, peers,
                  {r.id: read_files(store.artifact_dir(r.id)) for r in runs}, keys, modules)


def load_datasets(keys: list[DatasetKey]) -> dict[DatasetKey, Dataset]:
    """Read on the head (uploads are in its data folder), shipped to the node."""
    return {key: load_dataset(*key) for key in keys}


def _inside(folder: Path, relative: str) -> Path:
    path = (folder / relative).resolve()
    if folder.resolve() not in path.parents:
        raise ValueError(f"refusing to write {relative!r} outside the run's folder")
    return path


def write_files(store: Store, files: Files) -> None:
    """Write what a node produced into the runs' folders (of runs that still exist)."""
    for run_id, entries in files.items():
        if store.get(run_id) is None:
            continue  # deleted meanwhile
        folder = store.artifact_dir(run_id)
        for relative, data in entries.items():
            path = _inside(folder, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_atomically(path, lambda tmp, data=data: tmp.write_bytes(data))


def apply(store: Store, event: Event) -> None:
    """Replay one of a node's writes on the real store, its files first."""
    name, args, kwargs, files = event
    if name not in WRITES:
        raise ValueError(f"a node may not call store.{name}")
    write_files(store, files)
    result = getattr(store, name)(*args, **kwargs)
    if name == "finish" and result is False:
        store.delete(args[0])  # deleted while training: drop what was written


class NodeStore:
    """The store as seen by work on a node: reads from the parcel, writes sent as events.

    `emit` gets each event; `cancelled` is set when the head cancels the work.
    """

    def __init__(self, home: str | os.PathLike, parcel: Parcel, emit: Callable[[Event], Any]):
        self.home = Path(home)
        self.runs_dir = self.home / "runs"
        self._emit = emit
        self._runs = dict(parcel.runs)
        self._peers = {r.id: r for r in parcel.peers}
        if isinstance(parcel.item, Run):
            self._runs[parcel.item.id] = parcel.item
        self.cancelled = threading.Event()
        for run_id in self._runs:
            self.artifact_dir(run_id).mkdir(parents=True, exist_ok=True)
        for run_id, entries in parcel.files.items():
            folder = self.artifact_dir(run_id)
            for relative, data in entries.items():
                path = _inside(folder, relative)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        self._seen = self._stamps()

    def artifact_dir(self, run_id: str) -> Path:
        return self.runs_dir / run_id

    def get(self, run_id: str) -> Run | None:
        return self._runs.get(run_id) or self._peers.get(run_id)

    def list_runs(self, statuses: tuple[str, ...] | None = None, **_) -> list[Run]:
        runs = {**self._peers, **self._runs}.values()
        return [r for r in runs if statuses is None or r.status in statuses]

    def cancel_requested(self, run_id: str) -> bool:
        return self.cancelled.is_set()

    def job_cancel_requested(self, job_id: str) -> bool:
        return self.cancelled.is_set()

    def _stamps(self) -> dict[Path, tuple[int, int]]:
        return {p: (s.st_size, s.st_mtime_ns) for p in self.runs_dir.rglob("*")
                if p.is_file() and (s := p.stat())}

    def _changed_files(self) -> Files:
        now = self._stamps()
        files: Files = {}
        for path, stamp in now.items():
            if self._seen.get(path) != stamp:
                run_id, *rest = path.relative_to(self.runs_dir).parts
                files.setdefault(run_id, {})[str(Path(*rest))] = path.read_bytes()
        self._seen = now
        return files

    def __getattr__(self, name: str):
        if name not in WRITES:
            raise AttributeError(f"work on a Ray node cannot use store.{name}")

        def write(*args, **kwargs):
            self._emit((name, args, kwargs, self._changed_files()))
            return True

        return write
