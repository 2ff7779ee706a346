"""The run store: SQLite (WAL, busy timeout) plus one artifact folder per run.

The store is also the queue: queuing a run is inserting a row; a worker claims the next
queued row with one atomic UPDATE, so two workers can never get the same run. Work that is
not a run (explanations) queues as a job in the same queue, taken in the same turns.
Each thread keeps its own connection, so one store is safe to share between threads, and
any number of processes may open the same folder.

`Store` is what callers use; it is put together from one piece per concern:
- `schema`: the tables and their versioned migrations, applied on opening;
- `database`: the file, the artifact folders, each thread's connection;
- `records`: `Run` and `Job` as read from their rows;
- `turns` and `claims`: whose turn it is, and claiming the next run or job;
- `lifecycle`: a run from queued to ended, and reading runs;
- `actions`: what a person asks of a run, checked against who they are;
- `job_store`: the jobs' table.
"""
from __future__ import annotations

from playground.runs.actions import CheckedActions
from playground.runs.claims import Claims
from playground.runs.job_store import JobStore
from playground.runs.lifecycle import Lifecycle, pid_alive
from playground.runs.records import (
    ACTIVE,
    ENDED,
    Job,
    Run,
    epoch_from_row,
    job_from_row,
    run_from_row,
    runs_waited_for,
)

# Callers across the app import these from here; they live in the modules named above.
__all__ = ["ACTIVE", "ENDED", "Job", "Run", "Store", "epoch_from_row", "job_from_row",
           "pid_alive", "run_from_row", "runs_waited_for"]


class Store(Claims, Lifecycle, CheckedActions, JobStore):
    """The run store under `home` (default: PLAYGROUND_HOME or ./.playground/), opened and
    brought to the latest schema on construction."""
