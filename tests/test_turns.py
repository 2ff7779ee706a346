"""Whose turn it is in the queue: owners take turns (round robin), first come first served
within an owner, nobody starves, per-person caps refuse with a clear message, and concurrent
claims from real processes still hand each run to exactly one worker.

The reference for the order is a brute-force replay of the rule (least recently served
owner first, oldest run first within an owner) written independently of the SQL.
"""
from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path

import pytest

from playground.experiments.workshop import (
    Lesson,
    Limits,
    WorkshopError,
    open_workspace,
    owner_runs,
    run_size,
    submit_to_workspace,
    update_workspace,
)
from playground.runs.store import Store
from playground.runs.turns import queue_order
from playground.training.config import make_config
from tests.old_store import write_oldest_store
from tests.store_support import claim_until_empty, dead_pid, run_in_all

CONFIG = make_config(dataset="moons", model="mlp", epochs=3)


def claim_all(store: Store) -> list[str]:
    """Claim (and finish) until the queue is empty; the ids in the order claimed."""
    order = []
    while (run := store.claim(os.getpid())) is not None:
        order.append(run.id)
        store.finish(run.id, {}, "test")
    return order


def replay(queued: list[tuple[str, str]], served: dict[str, float] | None = None) -> list[str]:
    """Brute force: repeatedly serve the owner with the oldest last service (never = -1),
    ties to the owner whose next run is oldest; their oldest run goes."""
    served = dict(served or {})
    waiting = list(queued)  # (run_id, owner) oldest first
    out, clock = [], 10**12
    while waiting:
        def rank(item):
            i, (run_id, who) = item
            return (served.get(who, -1), i)
        firsts = {}
        for i, (run_id, who) in enumerate(waiting):
            firsts.setdefault(who, (i, (run_id, who)))
        i, (run_id, who) = min(firsts.values(), key=rank)
        out.append(run_id)
        waiting.pop(i)
        clock += 1
        served[who] = clock
    return out


def test_owners_take_turns_and_each_owner_is_first_come_first_served(home: Path):
    store = Store(home)
    queued = []
    for owner, n in (("ana", 5), ("ben", 3), ("cy", 1)):
        for _ in range(n):
            queued.append((store.enqueue(CONFIG, workspace="room", owner=owner), owner))
    ids = {owner: [r for r, o in queued if o == owner] for owner in ("ana", "ben", "cy")}

    predicted = [r.id for r in queue_order(store.list_runs(("queued",))[::-1],
                                           store.last_served())]
    order = claim_all(store)
    a, b, c = ids["ana"], ids["ben"], ids["cy"]
    assert order == [a[0], b[0], c[0], a[1], b[1], a[2], b[2], a[3], a[4]]
    assert order == replay(queued) == predicted
    for runs in ids.values():  # FIFO within each owner
        assert [r for r in order if r in runs] == runs


def test_a_newcomer_does_not_wait_behind_a_long_queue(home: Path):
    store = Store(home)
    flood = [store.enqueue(CONFIG, workspace="room", owner="ana") for _ in range(30)]
    first = store.claim(os.getpid())
    assert first.id == flood[0]
    late = store.enqueue(CONFIG, workspace="room", owner="ben")
    # ben was never served, ana just was: ben goes next, not after 29 of ana's runs.
    assert store.claim(os.getpid()).id == late
    assert store.claim(os.getpid()).id == flood[1]


def test_random_arrivals_follow_the_rule(home: Path):
    store = Store(home)
    rng = random.Random(7)
    owners = ["ana", "ben", "cy", "dee", None]  # None: runs queued outside any workshop
    waiting: list[tuple[str, str]] = []  # the reference's view of the queue
    served: dict[str, float] = {}
    clock = 0
    for _ in range(120):
        if rng.random() < 0.55:
            who = rng.choice(owners)
            run_id = store.enqueue(CONFIG, workspace="room" if who else None, owner=who)
            waiting.append((run_id, store.get(run_id).owner_key))
        elif waiting:
            run = store.claim(os.getpid())
            assert run.id == replay(waiting, served)[0]
            store.finish(run.id, {}, "test")
            waiting = [(r, o) for r, o in waiting if r != run.id]
            clock += 1
            served[run.owner_key] = clock
    assert claim_all(store) == replay(waiting, served)


def test_no_owner_waits_more_than_one_turn_per_other_owner(home: Path):
    store = Store(home)
    owners = ["ana", "ben", "cy", "dee"]
    for k in range(8):  # interleaved arrivals, uneven amounts
        for i, who in enumerate(owners):
            if k < 2 + 2 * i:
                store.enqueue(CONFIG, workspace="room", owner=who)
    turns = []
    while (run := store.claim(os.getpid())) is not None:
        turns.append(run.owner)
        store.finish(run.id, {}, "test")
    # While an owner still has runs waiting, at most len(owners) - 1 others go between
    # two of their turns.
    for who in owners:
        idx = [i for i, o in enumerate(turns) if o == who]
        assert all(b - a <= len(owners) for a, b in zip(idx, idx[1:], strict=False))
    assert Counter(turns) == {"ana": 2, "ben": 4, "cy": 6, "dee": 8}


def test_runs_without_owner_count_as_one_owner_and_names_are_per_workspace(home: Path):
    store = Store(home)
    cli = [store.enqueue(CONFIG) for _ in range(3)]  # CLI / Train page outside workshops
    room1 = [store.enqueue(CONFIG, workspace="room1", owner="sam") for _ in range(2)]
    room2 = store.enqueue(CONFIG, workspace="room2", owner="sam")  # another Sam
    order = claim_all(store)
    assert order == [cli[0], room1[0], room2, cli[1], room1[1], cli[2]]


def test_a_student_still_waits_for_its_teacher_while_others_go(home: Path):
    store = Store(home)
    teacher = store.enqueue(CONFIG, workspace="room", owner="ana")
    student = store.enqueue(make_config(dataset="moons", model="mlp", epochs=3,
                                        distill_from=teacher), workspace="room", owner="ana")
    other = store.enqueue(CONFIG, workspace="room", owner="ben")
    assert store.claim(os.getpid()).id == teacher
    # ana's student is not ready while its teacher trains, even though ana's turn order
    # would otherwise allow it: ben's run goes, then nothing is ready.
    assert store.claim(os.getpid()).id == other
    assert store.claim(os.getpid()) is None and not store.has_queued()
    store.finish(teacher, {}, "test")
    assert store.claim(os.getpid()).id == student


def test_old_store_gains_the_owner_columns_in_place(home: Path):
    write_oldest_store(home, [("old", "queued", json.dumps(CONFIG.model_dump()))])
    store = Store(home)
    old = store.get("old")
    assert old.workspace is None and old.owner is None and old.owner_key == ""
    new = store.enqueue(CONFIG, workspace="room", owner="ana")
    assert (store.get(new).workspace, store.get(new).owner) == ("room", "ana")
    assert store.get(new).to_json()["owner"] == "ana"
    assert claim_all(store) == ["old", new]
    Store(home)  # opening again migrates nothing twice


# -- caps ------------------------------------------------------------------------------------


def test_caps_refuse_with_a_message_and_queue_nothing(home: Path):
    store = Store(home)
    ws, key = open_workspace(home, "room")
    ws = update_workspace(home, "room", key, limits=Limits(max_active=2, max_size=2000))
    small = make_config(dataset="moons", model="mlp", epochs=3)  # 3 × 360 examples
    assert run_size(small) == 3 * 360
    submit_to_workspace(store, ws, "ana", small)
    submit_to_workspace(store, ws, "ana", small)
    with pytest.raises(WorkshopError) as exc:
        submit_to_workspace(store, ws, "ana", small)
    assert "you already have 2 runs waiting or training" in exc.value.problems[0]
    assert "each person may have 2 at once" in exc.value.problems[0]
    big = make_config(dataset="moons", model="mlp", epochs=6)
    with pytest.raises(WorkshopError) as exc:
        submit_to_workspace(store, ws, "ben", big)
    assert exc.value.problems == [
        "run size: 6 epochs × 360 training examples = 2,160, above this workshop's limit "
        "of 2,000; use fewer epochs or less data"]
    assert len(owner_runs(store, "room")) == 2  # nothing queued by the refusals
    # Another person is not affected by ana's cap; the presenter is not capped at all.
    submit_to_workspace(store, ws, "ben", small)
    for _ in range(3):
        submit_to_workspace(store, ws, "presenter", big, presenter=True)
    # Once ana's runs end she may queue again.
    for run in owner_runs(store, "room", "ana"):
        store.request_cancel(run.id)
    submit_to_workspace(store, ws, "ana", small)
    assert len(owner_runs(store, "room", "ana", ("queued",))) == 1


def test_a_distillation_run_counts_its_twin_against_the_cap(home: Path):
    store = Store(home)
    ws, key = open_workspace(home, "room")
    ws = update_workspace(home, "room", key, limits=Limits(max_active=2, max_size=10**6))
    teacher = store.enqueue(CONFIG)
    student = make_config(dataset="moons", model="mlp", epochs=3, width=8,
                          distill_from=teacher)
    submit_to_workspace(store, ws, "ana", CONFIG)
    with pytest.raises(WorkshopError, match="it also trains the same model without distillation"):
        submit_to_workspace(store, ws, "ana", student)
    submit_to_workspace(store, ws, "ben", student)
    mine = owner_runs(store, "room", "ben")
    assert len(mine) == 2 and {("distillation" in r.config.techniques) for r in mine} == {
        True, False}


def test_a_locked_lesson_setting_is_enforced(home: Path):
    store = Store(home)
    ws, key = open_workspace(home, "room")
    ws = update_workspace(home, "room", key, lesson=Lesson(
        values={"dataset": "moons", "dp_noise": 1.0}, lock=["dataset", "dp_noise"]))
    with pytest.raises(WorkshopError) as exc:
        submit_to_workspace(store, ws, "ana", make_config(dataset="circles", model="mlp",
                                                          dp_noise=1.0))
    assert exc.value.problems == [
        "Dataset: Two moons (2-D points), fixed by the presenter for this lesson (you have "
        "Circles (2-D points)); change it back, or ask the presenter"]
    with pytest.raises(WorkshopError, match=r"Privacy noise \(DP-SGD\), noise .*: 1, fixed by "
                                            r"the presenter .*you have it switched off"):
        submit_to_workspace(store, ws, "ana", make_config(dataset="moons", model="mlp"))
    submit_to_workspace(store, ws, "ana", make_config(dataset="moons", model="mlp",
                                                      epochs=2, dp_noise=1))


# -- real processes ------------------------------------------------------------------------


def test_concurrent_fair_claims_from_processes_never_double_claim(pool, home: Path):  # noqa: F811
    store = Store(home)
    queued = [store.enqueue(CONFIG, workspace="room", owner=f"p{i % 5}") for i in range(40)]
    queued += [store.enqueue(CONFIG) for _ in range(5)]
    results = dict(run_in_all(pool, claim_until_empty, str(home), 0.01))
    claimed = [run_id for got in results.values() for run_id, _, _ in got]
    assert Counter(claimed) == Counter(queued)
    assert store.counts() == {"finished": len(queued)}
    # Each worker still sees each owner's runs in that owner's queue order.
    for got in results.values():
        mine = [run_id for run_id, _, _ in got]
        for who in {store.get(r).owner_key for r in mine}:
            seq = [queued.index(r) for r in mine if store.get(r).owner_key == who]
            assert seq == sorted(seq)


# -- jobs (explanations) share the queue -------------------------------------------------


def claim_everything(store: Store) -> list[str]:
    """Claim runs and jobs until both are gone; ids in the order claimed."""
    order = []
    while (item := store.claim_next(os.getpid())) is not None:
        order.append(item.id)
        if item.id.startswith("j"):
            store.finish_job(item.id, {})
        else:
            store.finish(item.id, {}, "test")
    return order


def test_jobs_take_turns_with_runs_and_go_first_within_their_owner(home: Path):
    store = Store(home)
    ana_run = store.enqueue(CONFIG, workspace="room", owner="ana")
    ana_run2 = store.enqueue(CONFIG, workspace="room", owner="ana")
    ben_run = store.enqueue(CONFIG, workspace="room", owner="ben")
    ana_job = store.enqueue_job("explain", {}, 1, workspace="room", owner="ana")
    cat_job = store.enqueue_job("explain", {}, 1, workspace="room", owner="cat")
    # Never served: everyone in turn, oldest first among them; within ana, her job (a
    # person waiting for an answer on screen) goes before her queued runs.
    assert claim_everything(store) == [ana_job, ben_run, cat_job, ana_run, ana_run2]


def test_a_job_counts_as_a_turn(home: Path):
    store = Store(home)
    job = store.enqueue_job("explain", {}, 1, workspace="room", owner="ana")
    assert store.claim_next(os.getpid()).id == job  # ana was served (a job)
    store.finish_job(job, {})
    ana = store.enqueue(CONFIG, workspace="room", owner="ana")
    ben = store.enqueue(CONFIG, workspace="room", owner="ben")
    assert [r.id for r in iter(lambda: store.claim(os.getpid()), None)] == [ben, ana]


def test_runs_only_claims_leave_jobs_and_jobs_only_leave_runs(home: Path):
    store = Store(home)
    run = store.enqueue(CONFIG)
    job = store.enqueue_job("explain", {}, 1)
    assert store.claim_next(os.getpid(), kinds=("run",)).id == run
    assert store.claim(os.getpid()) is None and store.has_queued()
    assert store.claim_next(os.getpid(), kinds=("job",)).id == job
    assert not store.has_queued()


def test_a_dead_workers_job_fails_with_the_reason_and_restarts_are_recovered(home: Path):
    store = Store(home)
    job = store.enqueue_job("explain", {}, 2)
    store.claim_next(dead_pid())  # a worker that is gone
    assert store.recover_orphans() == []  # no run, but the job is ended
    ended = store.get_job(job)
    assert ended.status == "interrupted" and "this job" in ended.error
    other = store.enqueue_job("explain", {}, 1)
    store.claim_next(os.getpid())
    store.fail_runs_of(os.getpid(), "The worker process training this run was killed.")
    assert store.get_job(other).status == "failed"


def test_a_session_drops_its_own_queued_jobs_and_stops_its_running_one(home: Path):
    store = Store(home)
    running = store.enqueue_job("explain", {}, 3, requester="s1")
    store.claim_next(os.getpid())
    queued = store.enqueue_job("explain", {}, 1, requester="s1")
    theirs = store.enqueue_job("explain", {}, 1, requester="s2")
    assert store.cancel_jobs(requester="s1", kind="explain") == 1
    assert store.get_job(queued).status == "cancelled"
    assert store.get_job(theirs).status == "queued"
    assert store.job_cancel_requested(running)  # it stops after the piece it is on
    assert store.get_job(running).status == "running"
