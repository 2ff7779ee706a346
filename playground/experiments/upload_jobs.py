"""Uploads are checked by the workers, never by the app's server.

Decoding a ZIP of large pictures costs a core for a minute or more, and a room of browsers
shares the server. So the page stages the uploaded bytes (`uploads.staging`), asks here for a
check (a job in the same fair queue as runs, for the person who uploaded, once the permission
rule lets them upload), and polls cheaply until the worker has written what it found beside
the staged file. A bad, too large or too slow file ends the job with the plain message.
"""
from __future__ import annotations

from dataclasses import dataclass

from playground.common.permissions import Actor, Place, check
from playground.data.uploads import staging
from playground.data.uploads.limits import PREPARE_SECONDS
from playground.runs.jobs import HEAD_ONLY, JOB_KINDS, JOB_RUNS
from playground.runs.store import Job, Store

KIND = "prepare upload"


@dataclass(frozen=True)
class Check:
    """One check of one staged upload: its bytes, the file's name and the chosen target."""

    digest: str
    filename: str
    target: str | None = None

    @property
    def key(self) -> str:
        return staging.key_of(self.digest, self.filename, self.target)

    def to_json(self) -> dict:
        return {"digest": self.digest, "filename": self.filename, "target": self.target}


# -- in a worker ----------------------------------------------------------------------------


@JOB_KINDS.register(KIND)
def handler(store: Store):
    return lambda job: run_job(store, job)


@JOB_RUNS.register(KIND)
def runs_read(job: Job) -> list[str]:
    return []  # it reads a staged file, no run


HEAD_ONLY.add(KIND)  # the staged file lives in the head's data folder only


def run_job(store: Store, job: Job, seconds: float = PREPARE_SECONDS) -> str:
    """Check the staged upload (unless an earlier job already did) and end the job: finished
    with what was found kept beside the file, or failed with the plain problems."""
    asked = Check(**job.payload)
    staging.clean(store.home)  # what nobody saved within a day
    outcome = staging.read_outcome(asked.key, store.home) or staging.prepare_staged(
        asked.digest, asked.filename, asked.target, store.home, seconds)
    if outcome.problems:
        store.end_job(job.id, "failed", " ".join(outcome.problems))
        return "failed"
    store.finish_job(job.id, {"key": asked.key})
    return "finished"


# -- in the app's server --------------------------------------------------------------------


def request(store: Store, actor: Actor, data: bytes, filename: str,
            target: str | None = None, requester: str | None = None,
            active: tuple[Job, ...] | None = None) -> tuple[Check, str | None]:
    """Stage `data` and queue its check for `actor`, unless it was checked or is being
    checked already; returns the check and the new job's id (None: nothing queued).
    Raises Refused when the actor may not upload, and UploadError for a file above the
    size limit; neither stages nor queues anything. `active`: the waiting and running jobs
    (the page passes its shared snapshot's); without it the store is read."""
    check(actor, "upload", Place(actor.workspace, actor.name))
    asked = Check(staging.stage(data, filename, store.home), filename, target)
    if staging.read_outcome(asked.key, store.home) is not None:
        return asked, None
    if active is None:
        active = tuple(store.list_jobs(("queued", "running"), KIND))
    if any(j.kind == KIND and Check(**j.payload) == asked for j in active):
        return asked, None
    job_id = store.enqueue_job(KIND, asked.to_json(), 1, workspace=actor.workspace,
                               owner=actor.name if actor.in_workshop else None,
                               requester=requester)
    return asked, job_id


def ended_problem(store: Store, job_id: str) -> str | None:
    """Why a check's job ended without leaving what it found (a worker stopped or failed
    outside the check), or None while it is waiting or running."""
    job = store.get_job(job_id)
    if job is None:
        return "The check was lost (the server restarted?). Upload the file again."
    if job.active:
        return None
    return (job.error or f"The check ended ({job.status}).").split("\n")[0]

