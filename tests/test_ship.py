"""Which run to ship: the pick equals a brute-force pick for random limits, every other run
is told why it is out in the person's units, and bad conditions are refused with the fix."""
from __future__ import annotations

import itertools
import random

import pytest

from playground.results import ship
from playground.runs.records import Run
from playground.training.audits import fairness
from playground.training.config import make_config
from playground.training.metrics import ACCURACY, LATENCY, SIZE
from playground.training.techniques.dp import EPSILON

CONFIG = make_config(dataset="digits", model="mlp")


def _run(i: int, rng: random.Random) -> Run:
    m = {ACCURACY.key: round(rng.uniform(0.6, 0.95), 3), SIZE.key: rng.choice([40e3, 90e3, 300e3]),
         LATENCY.key: round(rng.uniform(0.01, 0.2), 3), "test_examples": 400}
    if rng.random() < 0.6:
        m[EPSILON.key] = round(rng.uniform(0.3, 10), 2)
    if rng.random() < 0.7:
        m[fairness.STORED_UNDER] = {"demographic_parity_difference": round(rng.uniform(0, .3), 3),
                                    "equalized_odds_difference": round(rng.uniform(0, .3), 3),
                                    "by_group": {}}
    return Run(id=f"r{i}", status="finished", config=CONFIG, created=float(i), metrics=m)


def _brute(runs, limits):
    """Every run that meets every limit, the most accurate first, ties to the earlier."""
    ok = [r for r in runs if all(
        (v := lim.metric.number(r.metrics)) is not None and
        (v <= lim.bound if lim.metric.better == "lower" else v >= lim.bound) for lim in limits)]
    return max(ok, key=lambda r: (r.metrics[ACCURACY.key], -runs.index(r)), default=None)


def test_the_pick_equals_a_brute_force_pick_for_random_limits():
    rng = random.Random(7)
    for trial in range(200):
        runs = [_run(i, rng) for i in range(rng.randint(1, 7))]
        limits = []
        if rng.random() < 0.6:
            limits.append(ship.Limit(fairness.DP_DIFFERENCE, rng.uniform(0, 0.3)))
        if rng.random() < 0.6:
            limits.append(ship.Limit(EPSILON, rng.uniform(0.3, 10)))
        if rng.random() < 0.5:
            limits.append(ship.Limit(SIZE, rng.choice([50e3, 100e3, 1e6])))
        if rng.random() < 0.5:
            limits.append(ship.Limit(LATENCY, rng.uniform(0.01, 0.2)))
        got = ship.pick(runs, limits)
        want = _brute(runs, limits)
        assert (got.chosen and got.chosen.id) == (want and want.id), trial
        # Everyone but the pick is told why, and the reasons name a missed limit exactly
        # when the brute force finds one.
        assert set(got.out) == {r.id for r in runs} - {want.id if want else None}
        for r in runs:
            if r is want:
                continue
            missed = [lim for lim in limits
                      if not lim.meets(lim.metric.number(r.metrics))]
            assert len(got.out[r.id]) == max(1, len(missed))
            assert ("less accurate" in got.out[r.id][0]) == (not missed)


def test_reasons_are_in_the_persons_units():
    rng = random.Random(1)
    a, b, c = (_run(i, rng) for i in range(3))
    a.metrics.update({ACCURACY.key: 0.80, EPSILON.key: 2.0,
                      fairness.STORED_UNDER: {"demographic_parity_difference": 0.03}})
    b.metrics.update({ACCURACY.key: 0.90, EPSILON.key: 2.5,
                      fairness.STORED_UNDER: {"demographic_parity_difference": 0.12}})
    c.metrics.update({ACCURACY.key: 0.95, fairness.STORED_UNDER: {
        "demographic_parity_difference": 0.01}})
    c.metrics.pop(EPSILON.key, None)
    got = ship.pick([a, b, c], ship.parse("fairness gap<=5, epsilon<=3"))
    assert got.chosen is a
    assert got.summary({"r0": "A"}).startswith(
        "Ship A: the most accurate within your limits (fairness gap at most 5.0 points, "
        "privacy ε at most 3.00), at 80.0%.")
    assert got.reasons({"r1": "B"})[0] == ("B: its fairness gap is 12.0 points, above your "
                                          "5.0 points")
    assert "no privacy guarantee" in got.out["r2"][0]
    nothing = ship.pick([b], ship.parse("gap<=1"))
    assert nothing.chosen is None and nothing.summary().startswith("No run meets every limit")


@pytest.mark.parametrize("text, bound", [
    ("size<=100KB", 100 * 1024), ("size <= 1.5 MB", 1.5 * 1024 ** 2), ("size<=2048", 2048),
    ("latency<5ms", 5.0), ("fairness gap<=5", 0.05), ("gap ≤ 5%", 0.05), ("epsilon<=3", 3.0),
    ("ε<=0.5", 0.5)])
def test_conditions_as_people_type_them(text, bound):
    (limit,) = ship.parse(text)
    assert limit.bound == pytest.approx(bound)


@pytest.mark.parametrize("text, says", [
    ("fairness gap>=5", "lower fairness gap is better, so a limit on it is <="),
    ("colour<=3", "no number is called 'colour'"),
    ("size<=100 parsecs", "size unit 'parsecs': use bytes, KB or MB"),
    ("size<=lots", "is not a number"),
    ("size<=100TB", "size unit 'tb'"),
    ("epsilon", "write NAME<=NUMBER"),
])
def test_bad_conditions_name_the_problem_and_the_fix(text, says):
    with pytest.raises(ValueError, match="condition") as e:
        ship.parse(text)
    assert says in str(e.value)


def test_every_pair_of_limits_on_one_run():
    rng = random.Random(3)
    run = _run(0, rng)
    for lim_a, lim_b in itertools.combinations(
            [ship.Limit(SIZE, 1e9), ship.Limit(LATENCY, 1e9)], 2):
        assert ship.pick([run], [lim_a, lim_b]).chosen is run


def test_a_gap_just_above_the_limit_reads_above_it():
    """20.04 points against a limit of 20: the words show the difference, never '20.0 points,
    above your 20.0 points'; a gap well above keeps one decimal."""
    gap = fairness.DP_DIFFERENCE
    near = ship.Limit(gap, 0.20).why_out(0.2004)
    assert near == "its fairness gap is 20.04 points, above your 20.00 points", near
    value, bound = ship.said_apart(gap, 0.2004, 0.20)
    assert float(value.split()[0]) > float(bound.split()[0])
    assert ship.Limit(gap, 0.05).why_out(0.12) == ("its fairness gap is 12.0 points, above "
                                                   "your 5.0 points")


def test_a_limit_starts_where_it_tells_runs_apart():
    """A fairness limit starts at 5 points and privacy at the metric's usual limit, not at the
    worst run's value (which every run meets); other costs start at the loosest run."""
    assert ship.default_bound(fairness.DP_DIFFERENCE, [0.2004, 0.01]) == ship.FAIR_GAP == 0.05
    assert ship.default_bound(EPSILON, [8.0, 1.0]) == EPSILON.limit
    assert ship.default_bound(SIZE, [40e3, 90e3]) == 90e3
