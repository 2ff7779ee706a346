"""The Ray executor: queued runs and explanation jobs go to a real Ray cluster that the tests
start themselves (never one already running), inside the private network namespace that
`make test` gives them (scripts/private-network: Ray then stays on 127.0.0.1).

The dispatcher is the real worker process the app starts with PLAYGROUND_RAY_ADDRESS=local;
the two-node test uses ray.cluster_utils.Cluster, with the training node's data folder
pointing nowhere.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import ray
from ray.cluster_utils import Cluster

from playground.common.permissions import OPERATOR
from playground.data import uploads
from playground.data.catalog import load_dataset
from playground.data.uploads import staging
from playground.experiments import upload_jobs
from playground.explain import methods as M
from playground.explain.cache import ExplanationCache, Request
from playground.explain.jobs import ExplainJobs
from playground.runs import ray_executor
from playground.runs.store import Store
from playground.runs.supervisor import Supervisor
from playground.training.config import make_config

ROOT = Path(__file__).resolve().parent.parent
SMALL = dict(dataset="digits", model="mlp", width=32, depth=1, epochs=2)
LONG = dict(dataset="digits", model="mlp", width=256, depth=3, epochs=200)

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module", autouse=True)
def private_network():
    if os.environ.get("PLAYGROUND_PRIVATE_NETWORK") != "1":
        reason = ("Ray's tests run inside a private network namespace: run them through "
                  "`make test` (scripts/private-network), as root or with user namespaces")
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def wait_for(check, timeout: float = 180.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def ended(store: Store, run_id: str):
    run = store.get(run_id)
    return run if run is not None and not run.active else None


def ray_workers_running(task: str = "work_on_node") -> list[int]:
    """Ray names a worker process after the task it is executing (`ray::work_on_node`)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if cmdline.startswith(f"ray::{task}"):
                pids.append(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def cluster_home(tmp_path_factory):
    """What `PLAYGROUND_RAY_ADDRESS=local make run` does: the app's supervisor starts one
    dispatcher (`python -m playground worker`, which reads the variable) in place of its
    local workers, on a private local Ray with 2 CPUs (PLAYGROUND_WORKERS)."""
    home = tmp_path_factory.mktemp("ray-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv(ray_executor.ADDRESS_ENV, "local")
        env.setenv("PLAYGROUND_WORKERS", "2")
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")
        supervisor = Supervisor(Store(home)).start()
    assert supervisor.size == 1  # the dispatcher; Ray runs the work
    yield home, supervisor
    supervisor.stop(timeout=60)


QUEUE_SIX = textwrap.dedent("""
    import sys
    from playground.runs.store import Store
    from playground.training.config import make_config
    store = Store(sys.argv[1])
    for seed in range(int(sys.argv[2]), int(sys.argv[2]) + 6):
        print(store.enqueue(make_config(dataset="digits", model="mlp", width=32, depth=1,
                                        epochs=2, seed=seed)))
""")


def test_twelve_runs_queued_by_two_processes_each_finish_once_on_ray(cluster_home):
    home, supervisor = cluster_home
    queuers = [subprocess.Popen([sys.executable, "-c", QUEUE_SIX, str(home), str(start)],
                                cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
               for start in (0, 100)]  # both at once
    ids = [line for q in queuers for line in q.communicate(timeout=120)[0].split()]
    assert len(set(ids)) == 12
    store = Store(home)
    # Generous: twelve runs share one Ray node on two cores with whatever else CI runs.
    runs = [wait_for(lambda i=i: ended(store, i), timeout=400, what=f"run {i}") for i in ids]
    assert supervisor.alive() == 1 and supervisor.restarts == 0
    for run in runs:
        assert run.status == "finished", run.error
        assert run.executor == "ray" and "Ray node" in run.node
        assert run.worker_pid == supervisor.pids()[0]  # claimed by the dispatcher, once
        assert [e["epoch"] for e in store.epochs(run.id)] == [1, 2]  # trained once
        assert (store.artifact_dir(run.id) / "weights.safetensors").is_file()
    show = subprocess.run([sys.executable, "-m", "playground", "--home", str(home), "show",
                           ids[0], "--json"], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    assert '"executor": "ray"' in show.stdout


def test_a_private_student_learns_from_its_teacher_on_ray(cluster_home):
    """The teacher's weights travel in the parcel; ε streams back with every epoch."""
    home, _ = cluster_home
    store = Store(home)
    teacher = store.enqueue(make_config(**SMALL))
    wait_for(lambda: ended(store, teacher), what="the teacher")
    student = store.enqueue(make_config(**dict(SMALL, width=16, distill_from=teacher,
                                               dp_epsilon=4.0)))
    run = wait_for(lambda: ended(store, student), what="the student")
    assert run.status == "finished", run.error
    epochs = store.epochs(student)
    assert len(epochs) == 2 and all(e["epsilon"] > 0 for e in epochs)
    assert epochs[-1]["epsilon"] == pytest.approx(run.metrics["epsilon"])


def test_an_explanation_job_is_computed_on_ray_into_the_heads_cache(cluster_home):
    home, supervisor = cluster_home
    store = Store(home)
    run_id = store.enqueue(make_config(**SMALL))
    wait_for(lambda: ended(store, run_id), what="the run")
    x = load_dataset("digits", 0).X_test[0]
    jobs = ExplainJobs(store)
    requests = [Request(run_id, name, "float", 3, M.settings(name), x=x)
                for name in ("saliency", "ig")]
    assert jobs.submit(requests, requester="t") is not None
    progress = jobs.wait(requests, timeout=180)
    assert progress.done == 2 and not progress.errors
    cache = ExplanationCache(store)
    cache.forget_memory()
    assert all(cache.get(r).values.shape == x.shape for r in requests)
    computed_by = cache.computed_by(requests[0])
    assert computed_by not in (None, os.getpid(), *supervisor.pids())  # a Ray worker did it


def test_an_upload_check_is_done_on_the_head_where_the_file_is_staged(cluster_home):
    home, supervisor = cluster_home
    store = Store(home)
    csv = "x1,x2,label\n" + "\n".join(f"{i % 7},{i % 5},{'yes' if i % 3 else 'no'}"
                                       for i in range(60)) + "\n"
    asked, job_id = upload_jobs.request(store, OPERATOR, csv.encode(), "mine.csv", "label")
    assert job_id is not None
    wait_for(lambda: not store.get_job(job_id).active, what="the check")
    job = store.get_job(job_id)
    assert job.status == "finished", job.error
    assert job.worker_pid in supervisor.pids()  # the dispatcher itself, not a Ray node
    assert staging.read_outcome(asked.key, home).prepared.class_names == ["no", "yes"]


def test_a_cancel_reaches_the_task(cluster_home):
    home, _ = cluster_home
    store = Store(home)
    run_id = store.enqueue(make_config(**LONG))
    wait_for(lambda: len(store.epochs(run_id)) >= 2, what="two epochs")
    store.request_cancel(run_id)
    run = wait_for(lambda: ended(store, run_id), timeout=60, what="the cancel")
    assert run.status == "cancelled"
    epochs = len(store.epochs(run_id))
    # Once the Ray task has ended nothing more can arrive: then the count must be the same.
    wait_for(lambda: not ray_workers_running(), timeout=60, what="the task to stop")
    assert len(store.epochs(run_id)) == epochs < LONG["epochs"]  # it really stopped


def test_a_killed_ray_worker_fails_its_run_and_the_next_run_trains(cluster_home):
    home, supervisor = cluster_home
    store = Store(home)
    run_id = store.enqueue(make_config(**LONG))
    wait_for(lambda: len(store.epochs(run_id)) >= 1, what="an epoch")
    (pid,) = wait_for(ray_workers_running, what="the Ray worker")
    os.kill(pid, signal.SIGKILL)
    run = wait_for(lambda: ended(store, run_id), timeout=60, what="the failure")
    assert run.status == "failed"
    assert "Ray worker process" in run.error and "died" in run.error
    assert supervisor.alive() == 1 and supervisor.restarts == 0  # only the task died
    after = store.enqueue(make_config(**SMALL))
    assert wait_for(lambda: ended(store, after), what="the next run").status == "finished"


def test_stopping_the_app_interrupts_what_its_dispatcher_was_running(cluster_home):
    """Never left 'running', never run again (the app marks orphans the same way)."""
    home, supervisor = cluster_home
    store = Store(home)
    run_id = store.enqueue(make_config(**LONG))
    wait_for(lambda: len(store.epochs(run_id)) >= 1, what="an epoch")
    supervisor.stop(timeout=60)  # SIGTERM to the dispatcher, as when the app stops
    run = store.get(run_id)
    assert run.status == "interrupted" and "dispatcher was stopped" in run.error


def test_two_nodes_the_training_node_has_no_data_folder(tmp_path, monkeypatch):
    """The run trains on a node whose PLAYGROUND_HOME does not exist; its uploaded dataset
    comes through the object store and its weights come back to the head's folder."""
    home = tmp_path / "head"
    monkeypatch.setenv("PLAYGROUND_HOME", str(home))
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{'yes' if a + b > 0 else 'no'}"
            for a, b in rng.normal(size=(120, 2))]
    csv = ("x1,x2,label\n" + "\n".join(rows) + "\n").encode()
    uploads.save(uploads.prepare(csv, "mine.csv", "label", "mine"))
    store = Store(home)
    run_id = store.enqueue(make_config(dataset="mine", model="mlp", width=16, depth=1,
                                       epochs=3))
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "object_store_memory": 80 * 1024 ** 2, "include_dashboard": False})
    try:
        worker = cluster.add_node(num_cpus=1, object_store_memory=80 * 1024 ** 2, env_vars={
            "PLAYGROUND_HOME": str(tmp_path / "does-not-exist")})
        ray_executor.connect(cluster.address)
        dispatcher = ray_executor.Dispatcher(store)
        while dispatcher.done < 1:
            dispatcher.step()
        run = store.get(run_id)
        assert run.status == "finished", run.error
        assert worker.node_id[:8] in run.node  # it trained on the node, not the head
        assert (store.artifact_dir(run_id) / "weights.safetensors").is_file()
        assert len(store.epochs(run_id)) == 3
        assert not (tmp_path / "does-not-exist").exists()
    finally:
        ray.shutdown()
        cluster.shutdown()
