"""Training a real run now, in this process, as a worker would: for tests that need a
finished run to look at."""
from __future__ import annotations

import os

from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config


def train_now(store: Store, **values) -> str:
    """Queue a run with these settings, train it here, and return its id (finished)."""
    run_id = store.enqueue(make_config(**values))
    run = store.claim(os.getpid())
    assert run is not None and run.id == run_id
    assert execute(store, run) == "finished", store.get(run_id).error
    return run_id
