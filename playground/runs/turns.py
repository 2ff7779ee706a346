"""Whose turn it is: the queue's order, in SQL for the claim and in Python to show it.

Owners take turns (round robin): the next thing to start belongs to the owner served least
recently, and each owner's work goes first come, first served. The claim runs the SQL; the
live feed and the queue's positions replay the same rule in Python over the queued runs.
"""
from __future__ import annotations

import time

from playground.runs.records import Run

# A queued run may wait for another (its techniques say which: a distillation student for
# its teacher); it is ready once that run is neither queued nor training.
READY_SQL = ("(waits_for IS NULL OR waits_for NOT IN"
             " (SELECT id FROM runs WHERE status IN ('queued', 'running')))")

# Whose turn it is: a workshop participant is workspace + name; every run without an owner
# counts as one owner together. Run.owner_key is the same key in Python.
_OWNER_KEY = ("(CASE WHEN {t}owner IS NULL THEN '' ELSE"
              " COALESCE({t}workspace, '') || char(31) || {t}owner END)")
# When each owner was last served: the latest start among their runs and jobs.
SERVED_SQL = (
    "SELECT who, MAX(last) AS last FROM ("
    "SELECT " + _OWNER_KEY.format(t="") + " AS who, MAX(started) AS last FROM runs"
    " WHERE started IS NOT NULL GROUP BY who UNION ALL "
    "SELECT " + _OWNER_KEY.format(t="") + " AS who, MAX(started) AS last FROM jobs"
    " WHERE started IS NOT NULL GROUP BY who) GROUP BY who"
)
# What may start now: ready queued runs and queued jobs. Within one owner a job (a person
# waiting for an explanation on screen, a second's work) goes before their queued runs.
_CANDIDATES = {
    "run": ("SELECT 'run' AS kind, q.seq AS seq, q.created AS created, 1 AS rank, "
            + _OWNER_KEY.format(t="q.") + " AS who FROM runs q WHERE q.status='queued' AND "
            + READY_SQL),
    "job": ("SELECT 'job' AS kind, j.seq AS seq, j.created AS created, 0 AS rank, "
            + _OWNER_KEY.format(t="j.") + " AS who FROM jobs j WHERE j.status='queued'"),
}


def next_sql(kinds: tuple[str, ...]) -> str:
    """A query for the next thing to start, one row (kind, seq) or none: the owner served
    least recently (never served comes first; ties go to the owner who has waited longest),
    then within that owner jobs before runs, then first come, first served."""
    candidates = " UNION ALL ".join(_CANDIDATES[k] for k in kinds)
    return (f"SELECT c.kind, c.seq, MIN(c.created) OVER (PARTITION BY c.who) AS waiting"
            f" FROM ({candidates}) c LEFT JOIN ({SERVED_SQL}) s ON s.who = c.who"
            " ORDER BY COALESCE(s.last, 0), waiting, c.rank, c.created, c.seq LIMIT 1")


def queue_order(queued: list[Run], last_served: dict[str, float]) -> list[Run]:
    """The order the store's claim will hand out `queued` (given oldest first) if nothing
    new arrives: the owner served least recently goes next, first come first served within
    an owner. (A student waiting for its teacher may go a little later than shown.)"""
    pending: dict[str, list[tuple[int, Run]]] = {}
    for seq, run in enumerate(queued):
        pending.setdefault(run.owner_key, []).append((seq, run))
    served = {who: last_served.get(who) or 0.0 for who in pending}
    order: list[Run] = []
    tick = max([time.time(), *served.values()])
    while pending:
        who = min(pending, key=lambda w: (served[w], pending[w][0][0]))
        order.append(pending[who].pop(0)[1])
        if not pending[who]:
            del pending[who]
        tick += 1
        served[who] = tick  # just served: behind everyone else now
    return order
