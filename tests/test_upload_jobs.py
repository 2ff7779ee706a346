"""Uploads are checked by a worker job, never by the app's server: the job finds what
`uploads.prepare` finds on the same bytes; a bad, too slow or refused file ends with the plain
message and loses nothing; the Your data page, served with a real worker process, shows what
that process found while this (the server's) process never decodes a thing."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from playground.common.permissions import LOCAL, VISITOR, Actor, Refused
from playground.data import uploads
from playground.data.uploads import folder, pictures, staging, tables
from playground.experiments import upload_jobs
from playground.runs.store import Store
from playground.runs.worker import JobDesk, drain_jobs
from tests.test_uploads import BAD, MIXED, picture_zip

ROOT = Path(__file__).resolve().parent.parent


def same_prepared(found: uploads.Prepared, expected: uploads.Prepared) -> None:
    assert found.kind == expected.kind and found.name == expected.name
    np.testing.assert_array_equal(found.X, expected.X)  # NaN for missing cells on both sides
    assert found.X.dtype == expected.X.dtype and found.y.dtype == expected.y.dtype
    np.testing.assert_array_equal(found.y, expected.y)
    assert found.class_names == expected.class_names
    assert found.feature_names == expected.feature_names
    assert found.notes == expected.notes and found.warnings == expected.warnings
    assert found.source == expected.source and found.target == expected.target
    assert found.image_shape == expected.image_shape
    assert found.not_groups == expected.not_groups and list(found.groups) == list(expected.groups)
    for column, values in expected.groups.items():
        np.testing.assert_array_equal(found.groups[column], values)
    assert (found.schema is None) == (expected.schema is None)
    if expected.schema is not None:
        assert found.schema.to_json() == expected.schema.to_json()
    if expected.preview is None:
        assert found.preview is None
    else:
        pd.testing.assert_frame_equal(found.preview, expected.preview)
    assert found.description == expected.description


def check_in_job(home: Path, data: bytes, filename: str, target: str | None = None):
    store = Store(home)
    asked, job_id = upload_jobs.request(store, LOCAL, data, filename, target)
    assert job_id is not None
    assert drain_jobs(store) == 1
    return store.get_job(job_id), staging.read_outcome(asked.key, home)


@pytest.mark.parametrize("filename,data,target", [
    ("customers.csv", MIXED, None),  # the target guessed, the columns listed
    ("customers.csv", MIXED, "smoker"),
    ("shapes.zip", picture_zip(colour=True), None),
])
def test_the_jobs_result_is_what_prepare_finds_on_the_same_bytes(home, filename, data, target):
    job, found = check_in_job(home, data, filename, target)
    assert job.status == "finished", job.error
    chosen = target or ("label" if filename.endswith(".csv") else None)
    same_prepared(found.prepared,
                  uploads.prepare(data, filename, chosen, staging.PLACEHOLDER_NAME))
    assert found.target == chosen
    assert found.columns == (list(uploads.read_table(data, filename)[0].columns)
                             if filename.endswith(".csv") else None)
    # Kept for the page: private files, arrays without pickle, named by the content.
    files = list(staging.staging_dir(home).iterdir())
    assert {p.suffix for p in files} == {".upload", ".json", ".npz"}
    assert all(p.name.startswith(staging.digest_of(data)) for p in files)
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in files)
    assert not (home / "data").exists()  # nothing saved before the person says so


@pytest.mark.parametrize("case", ["path traversal", "pdf", "zip bomb"])
def test_a_bad_files_job_ends_with_the_plain_message_and_loses_nothing(home, tmp_path, case):
    filename, data, target, words = BAD[case]
    data = data(tmp_path) if callable(data) else data
    with pytest.raises(uploads.UploadError) as expected:
        uploads.prepare(data, filename, target)
    job, found = check_in_job(home, data, filename, target)
    assert job.status == "failed"
    assert job.error == str(expected.value) and found.problems == expected.value.problems
    assert all(w in job.error for w in words)
    assert found.prepared is None
    assert (staging.staging_dir(home) / f"{staging.digest_of(data)}.upload").read_bytes() == data


def test_a_check_past_its_time_limit_ends_with_the_plain_message(home):
    store = Store(home)
    data = picture_zip()
    asked, job_id = upload_jobs.request(store, LOCAL, data, "shapes.zip")
    job = store.claim_next(os.getpid(), kinds=("job",))
    assert upload_jobs.run_job(store, job, seconds=0.0) == "failed"
    assert "took too long to check" in store.get_job(job_id).error
    assert "Fix:" in store.get_job(job_id).error
    # The same bytes with time to spare are fine.
    again = staging.prepare_staged(asked.digest, "shapes.zip", None, home)
    assert again.prepared is not None and len(again.prepared.y) == 24


def test_one_check_per_file_and_target_however_often_it_is_asked(home):
    store = Store(home)
    first, job_id = upload_jobs.request(store, LOCAL, MIXED, "customers.csv")
    assert upload_jobs.request(store, LOCAL, MIXED, "customers.csv") == (first, None)
    drain_jobs(store)
    assert upload_jobs.request(store, LOCAL, MIXED, "customers.csv") == (first, None)  # found
    other, other_job = upload_jobs.request(store, LOCAL, MIXED, "customers.csv", "smoker")
    assert other_job is not None and other.key != first.key


def test_the_permission_rule_is_asked_before_anything_is_staged_or_queued(home):
    store = Store(home)
    outsider = VISITOR  # looks and joins, uploads nothing
    with pytest.raises(Refused):
        upload_jobs.request(store, outsider, MIXED, "customers.csv")
    assert not staging.staging_dir(home).exists() and store.list_jobs() == []
    person = Actor("participant", "room", "ada", "p1")
    upload_jobs.request(store, person, MIXED, "customers.csv")
    (job,) = store.list_jobs()
    assert (job.workspace, job.owner) == ("room", "ada")  # the acting person recorded


def test_a_file_above_the_limit_is_never_staged(home):
    with pytest.raises(uploads.UploadError, match="above the upload limit"):
        upload_jobs.request(Store(home), LOCAL, b"a,b\n" * (uploads.MAX_UPLOAD_BYTES // 4 + 1),
                            "big.csv")
    assert not staging.staging_dir(home).exists()


def test_staged_files_go_after_a_save_or_after_a_day(home):
    store = Store(home)
    data = picture_zip()
    asked, _ = upload_jobs.request(store, LOCAL, data, "shapes.zip")
    drain_jobs(store)
    kept = staging.read_outcome(asked.key, home).prepared
    assert staging.clean(home) == 0  # fresh
    assert staging.discard(asked.digest, home) == 3
    assert staging.read_outcome(asked.key, home) is None
    uploads.save(uploads.prepare(picture_zip(), "shapes.zip", name="shapes"), home)
    assert uploads.manifest_of("shapes", home)["rows"] == len(kept.y)
    upload_jobs.request(store, LOCAL, MIXED, "customers.csv")
    old = time.time() - staging.KEEP_SECONDS - 60
    for path in staging.staging_dir(home).iterdir():
        os.utime(path, (old, old))
    assert staging.clean(home) == 1 and list(staging.staging_dir(home).iterdir()) == []
    # The check waiting on a file cleaned away ends with a message, not a traceback.
    job = store.claim_next(os.getpid(), kinds=("job",))
    assert JobDesk(store).execute(job) == "failed"
    assert "upload it again" in store.get_job(job.id).error


def test_the_your_data_page_never_decodes_in_the_server_process(app_home, monkeypatch):
    """The page, served here, with a real worker process: what the page shows came from
    that process (its pid on the job), and here every decoder refuses to run."""
    from tests.test_pages import open_app

    def not_here(*args, **kwargs):
        raise AssertionError("an upload was decoded in the app's server process")

    for module, name in [(folder, "prepare"), (staging, "prepare"), (uploads, "prepare"),
                         (folder, "_prepare_zip"), (folder, "_prepare_csv"),
                         (pictures, "_decode_picture"), (tables, "read_table"),
                         (uploads, "read_table"), (staging, "read_table")]:
        monkeypatch.setattr(module, name, not_here)
    env = {k: v for k, v in os.environ.items() if k != "PLAYGROUND_HOME"}  # --home must do
    worker = subprocess.Popen(
        [sys.executable, "-m", "playground", "--home", str(app_home), "worker", "--threads", "1"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
    try:
        at = open_app("pages/your_data.py")
        at.file_uploader(key="your_data_file").set_value(("customers.csv", MIXED,
                                                          "text/csv")).run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("Checking the data" in i.value for i in at.info)
        deadline = time.monotonic() + 240  # a bound on waiting, not a timed assertion
        while not at.selectbox and time.monotonic() < deadline:
            time.sleep(0.5)
            at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert at.selectbox(key="your_data_target").value == "label"
        text = " ".join(m.value for m in at.markdown).replace("\\", "")
        assert "**200** rows" in text and "**5** input columns" in text
        (job,) = Store(app_home).list_jobs()
        assert job.kind == upload_jobs.KIND and job.status == "finished"
        assert job.worker_pid == worker.pid != os.getpid()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
