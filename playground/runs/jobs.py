"""Kinds of jobs a worker can do besides training runs, registered by the features that own them.

The runs package knows nothing about explanations: `playground.explain.jobs` registers the
"explain" kind with a handler factory, and whoever starts a worker (the CLI's `worker`
command, tests) imports the features whose jobs it should do. A handler is made once per
worker process and kept, so what it loads (models, caches) serves the next job too.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Protocol

from playground.common.registry import Registry

if TYPE_CHECKING:
    from playground.runs.records import Job
    from playground.runs.store import Store


class Handler(Protocol):
    def __call__(self, job: Job) -> str:
        """Do the job, record how it ended in the store, return the final status."""


JOB_KINDS: Registry[Callable[[Store], Handler]] = Registry("job kind")

JOB_RUNS: Registry[Callable[[Job], list[str]]] = Registry("job kind's runs")
"""For each kind, the runs a job reads, so an executor on other machines can send them along."""

HEAD_ONLY: set[str] = set()
"""Kinds whose jobs read files only the machine with the data folder has (an upload staged by
the app's server): a dispatcher to other machines does them there, beside itself."""
