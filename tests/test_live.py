"""The shared live feed: one store read per interval for the whole server, whatever the
number of sessions; the same snapshot object (and version) until something changed."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from playground.runs.live import LiveFeed
from playground.runs.store import Store
from playground.training.config import make_config


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(home: Path) -> Store:
    return Store(home)


def traced(feed: LiveFeed) -> list[str]:
    """Every statement the feed's own connection runs (SQLite's trace callback)."""
    statements: list[str] = []
    feed.snapshot()  # opens the connection
    feed._conn.set_trace_callback(statements.append)
    return statements


def sessions_poll(feed: LiveFeed, sessions: int) -> list:
    """`sessions` threads ask for the snapshot at the same moment, as a room's polls do."""
    got, start = [], threading.Barrier(sessions)

    def poll():
        start.wait()
        got.append(feed.snapshot())

    threads = [threading.Thread(target=poll) for _ in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return got


@pytest.mark.parametrize("sessions", [1, 30])
def test_the_store_is_read_once_per_interval_whatever_the_number_of_sessions(store, sessions):
    run_id = store.enqueue(make_config(dataset="moons", model="mlp", epochs=3))
    store.claim(os.getpid())
    clock = Clock()
    feed = LiveFeed(store, interval=0.5, clock=clock)
    statements = traced(feed)
    for epoch in range(1, 6):
        clock.now += 0.5  # the next interval begins
        store.add_epoch(run_id, epoch, {"val_accuracy": 0.5 + epoch / 100}, epoch / 5)
        for _ in range(3):  # each session polls several times within the interval
            seen = sessions_poll(feed, sessions)
            assert {s.version for s in seen} == {seen[0].version}
            assert len(seen[0].epochs[run_id]) == epoch
    looks = [s for s in statements if s.startswith("PRAGMA data_version")]
    reads = [s for s in statements if s.startswith("SELECT * FROM runs")]
    assert len(looks) == 5 and len(reads) == 5  # one look and one read per interval
    assert feed.checks == 6 and feed.reads == 6  # (and the first snapshot)


def test_nothing_changed_means_no_read_and_the_same_snapshot(store):
    store.enqueue(make_config(dataset="moons", model="mlp"))
    clock = Clock()
    feed = LiveFeed(store, clock=clock)
    statements = traced(feed)
    first = feed.snapshot()
    for _ in range(4):
        clock.now += 1.0
        assert feed.snapshot() is first
    assert not [s for s in statements if s.startswith("SELECT")]  # looked, never read
    assert len([s for s in statements if s.startswith("PRAGMA")]) == 4

    # A write by anyone (another connection: a worker, another session) is seen at the
    # next interval, and only a real change makes a new version.
    store.enqueue(make_config(dataset="moons", model="mlp", seed=1))
    assert feed.snapshot() is first  # same interval: the shared snapshot
    clock.now += 1.0
    second = feed.snapshot()
    assert second.version == first.version + 1 and len(second.active) == 2
    assert second.counts["queued"] == 2


def test_a_write_that_shows_nothing_new_keeps_the_version(store):
    run_id = store.enqueue(make_config(dataset="moons", model="mlp"))
    store.request_cancel(run_id)  # ended: leaves the active list
    clock = Clock()
    feed = LiveFeed(store, clock=clock)
    first = feed.snapshot()
    # A commit that changes nothing a page shows (an ended run's row).
    store.add_epoch(run_id, 1, {"val_accuracy": 0.5}, 1.0)
    clock.now += 1.0
    assert feed.snapshot() is first and feed.reads == 2  # read, found the same


def test_fresh_asks_look_now_and_the_snapshot_knows_the_queue_order(store):
    clock = Clock()
    feed = LiveFeed(store, clock=clock)
    assert not feed.snapshot().active
    ana = store.enqueue(make_config(dataset="moons", model="mlp"), workspace="w", owner="ana")
    ben = store.enqueue(make_config(dataset="moons", model="mlp"), workspace="w", owner="ben")
    ana2 = store.enqueue(make_config(dataset="moons", model="mlp", seed=2), workspace="w",
                         owner="ana")
    assert not feed.snapshot().active  # within the interval: the shared one
    snap = feed.snapshot(max_age=0)  # a full page run after a click looks at once
    assert [r.id for r in snap.active] == [ana2, ben, ana]
    # The order the workers will take them: people take turns.
    from playground.runs.queue import queue_positions

    places = queue_positions(store)
    assert [snap.place(i) for i in (ana, ben, ana2)] == [places[ana], places[ben], places[ana2]]
    assert snap.place("nope") is None


def test_ended_runs_change_the_ended_mark_and_leave_the_active_list(store):
    clock = Clock()
    feed = LiveFeed(store, clock=clock)
    run_id = store.enqueue(make_config(dataset="moons", model="mlp"))
    before = feed.snapshot(max_age=0)
    store.claim(os.getpid())
    store.finish(run_id, {"accuracy": 0.9}, "cpu")
    after = feed.snapshot(max_age=0)
    assert before.run(run_id) is not None and after.run(run_id) is None
    assert after.ended != before.ended and after.counts == {"finished": 1}
    store.delete(run_id)
    assert feed.snapshot(max_age=0).ended != after.ended  # a deletion too
