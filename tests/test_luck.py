"""Luck, measured: McNemar's exact test and bootstrap intervals against hand counts and
SciPy-free references, and real runs: two seeds are within luck, strong privacy noise is not."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from playground.cli import main as cli
from playground.results import luck
from playground.runs.store import Store
from playground.runs.worker import execute
from playground.training.config import make_config

DIGITS = dict(dataset="digits", model="mlp", epochs=4, width=64)


def _exact_two_sided(k: int, n: int) -> float:
    """The exact binomial two-sided p-value at p = 1/2 from the formula (no SciPy): twice the
    smaller tail, at most 1."""
    tail = sum(math.comb(n, i) for i in range(0, min(k, n - k) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def test_mcnemar_counts_the_discordant_pairs_by_hand():
    rng = np.random.default_rng(3)
    right_a = rng.random(500) < 0.80
    right_b = right_a.copy()
    flip = rng.choice(500, 60, replace=False)
    right_b[flip] = ~right_b[flip]
    hand_only_a = sum(1 for x, y in zip(right_a, right_b, strict=True) if x and not y)
    hand_only_b = sum(1 for x, y in zip(right_a, right_b, strict=True) if y and not x)
    got = luck.paired("a", "b", right_a, right_b)
    assert (got.only_a, got.only_b) == (hand_only_a, hand_only_b)
    assert got.diff == pytest.approx((hand_only_b - hand_only_a) / 500)
    assert got.p_value == pytest.approx(_exact_two_sided(hand_only_b, hand_only_a + hand_only_b))
    assert got.low <= got.diff <= got.high


def test_a_clear_difference_is_beyond_luck_and_a_tiny_one_within():
    right_a = np.array([True] * 700 + [False] * 300)
    right_b = right_a.copy()
    right_b[700:760] = True  # b gets 60 more right, a none that b misses
    clear = luck.paired("a", "b", right_a, right_b)
    assert clear.beyond and clear.p_value < 1e-10 and clear.low > 0
    assert clear.verdict("A", "B").startswith("beyond luck: B is more accurate than A, by 6.0")
    tiny = right_a.copy()
    tiny[700:703] = True
    tiny[0:1] = False
    near = luck.paired("a", "b", right_a, tiny)
    assert not near.beyond and near.low < 0 < near.high
    assert near.verdict().startswith("within luck: equally accurate")
    same = luck.paired("a", "b", right_a, right_a)
    assert same.p_value == 1.0 and same.diff == 0 and not same.beyond


def test_the_paired_bootstrap_matches_resampling_examples():
    """Drawing the three counts is the same bootstrap as resampling examples one by one."""
    rng = np.random.default_rng(0)
    right_a = rng.random(400) < 0.7
    right_b = np.where(rng.random(400) < 0.2, ~right_a, right_a)
    got = luck.paired("a", "b", right_a, right_b)
    d = right_b.astype(float) - right_a
    slow = [d[rng.integers(0, 400, 400)].mean() for _ in range(4000)]
    low, high = np.percentile(slow, [2.5, 97.5])
    assert got.low == pytest.approx(low, abs=0.006)
    assert got.high == pytest.approx(high, abs=0.006)


def test_unpaired_uses_fishers_exact_test():
    a = np.array([True] * 80 + [False] * 20)
    b = np.array([True] * 60 + [False] * 40)
    got = luck.unpaired("a", "b", a, b)
    # Fisher's exact p for [[80, 20], [60, 40]], from the hypergeometric formula.
    total, right, n = 200, 140, 100

    def pmf(k):
        return math.comb(right, k) * math.comb(total - right, n - k) / math.comb(total, n)

    observed = pmf(80)
    p = sum(pmf(k) for k in range(40, 101) if pmf(k) <= observed * (1 + 1e-7))
    assert got.p_value == pytest.approx(p, rel=1e-6)
    assert not got.paired and got.diff == pytest.approx(-0.2) and got.beyond


def test_seed_band():
    band = luck.seed_band([0.85, 0.887, 0.86])
    assert (band.low, band.high, band.seeds) == (0.85, 0.887, 3)
    assert luck.within_band(0.027, band) and not luck.within_band(0.05, band)
    assert luck.seed_band([0.9]) is None


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("luck") / "home")
    queued = {
        "plain": dict(DIGITS),
        "other_seed": dict(DIGITS, seed=1),
        "private": dict(DIGITS, dp_epsilon=0.5),
        "wine": dict(DIGITS, dataset="wine"),
    }
    ids = {k: store.enqueue(make_config(**v)) for k, v in queued.items()}
    while (run := store.claim(0)) is not None:
        execute(store, run)
    got = {k: store.get(i) for k, i in ids.items()}
    for name, run in got.items():
        assert run.status == "finished", (name, run.error)
    return store, got


def test_two_runs_differing_only_by_seed_are_within_luck(runs):
    store, r = runs
    result = luck.compare(store, r["plain"], r["other_seed"])
    assert result.comparable and not result.paired  # another seed splits the data anew
    assert not result.beyond, result.verdict()
    assert result.verdict().startswith("within luck")


def test_privacy_noise_at_epsilon_half_on_digits_is_beyond_luck(runs):
    store, r = runs
    result = luck.compare(store, r["plain"], r["private"])
    assert result.paired and result.examples == r["plain"].metrics["test_examples"]
    assert result.diff == pytest.approx(
        r["private"].metrics["accuracy"] - r["plain"].metrics["accuracy"])
    assert result.beyond and result.diff < 0, result.verdict()
    assert f"run {r['plain'].id} ({r['plain'].metrics['accuracy']:.1%}) is more accurate" \
        in result.verdict()
    assert result.to_json()["beyond_luck"] is True


def test_runs_on_different_data_cannot_be_compared(runs):
    store, r = runs
    result = luck.compare(store, r["plain"], r["wine"])
    assert not result.comparable and "different data" in result.verdict()
    assert result.words() == "not comparable"


def _cli(store, capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["--home", str(store.home), "compare", *args])
    got = capsys.readouterr()
    return code, got.out, got.err


def test_cli_compare_gives_each_pair_with_its_luck_verdict(runs, capsys, monkeypatch):
    store, r = runs
    monkeypatch.setenv("PLAYGROUND_HOME", str(store.home))  # main() sets it; undone after
    ids = [r["plain"].id, r["other_seed"].id, r["private"].id]
    code, out, _ = _cli(store, capsys, *ids, "--json")
    assert code == 0
    data = json.loads(out)
    assert [(p["a"], p["b"]) for p in data["luck"]] == [
        (ids[0], ids[1]), (ids[0], ids[2]), (ids[1], ids[2])]
    by_pair = {(p["a"], p["b"]): p for p in data["luck"]}
    assert by_pair[ids[0], ids[1]]["beyond_luck"] is False
    assert by_pair[ids[0], ids[2]]["beyond_luck"] is True
    assert by_pair[ids[0], ids[2]]["verdict"].startswith("beyond luck")
    assert "pick" not in data


def test_cli_compare_picks_the_run_to_ship(runs, capsys, monkeypatch):
    store, r = runs
    monkeypatch.setenv("PLAYGROUND_HOME", str(store.home))  # main() sets it; undone after
    ids = [r["plain"].id, r["private"].id]
    code, out, _ = _cli(store, capsys, *ids, "--pick", "epsilon<=3,size<=100MB", "--json")
    assert code == 0
    pick = json.loads(out)["pick"]
    assert pick["ship"] == r["private"].id  # the only run with a privacy guarantee
    (out_run,) = pick["out"]
    assert out_run["run_id"] == r["plain"].id and "no privacy guarantee" in out_run["why"][0]


@pytest.mark.parametrize("pick, says", [
    ("epsilon>=3", "so a limit on it is <="),
    ("happiness<=3", "no number is called 'happiness'"),
    ("", "no condition given"),
])
def test_cli_refuses_bad_conditions_with_exit_2(runs, capsys, monkeypatch, pick, says):
    store, r = runs
    monkeypatch.setenv("PLAYGROUND_HOME", str(store.home))  # main() sets it; undone after
    code, out, err = _cli(store, capsys, r["plain"].id, r["private"].id, "--pick", pick)
    assert code == 2 and says in err and out == ""
    code, _, err = _cli(store, capsys, r["plain"].id, "nope")
    assert code == 2 and "no run with id 'nope'" in err


_GAP = re.compile(r"by (\d+\.\d) points(?:, but the | \()95 % interval (?:of that gap, )?"
                  r"([+-]?\d+\.\d) to ([+-]?\d+\.\d) points")


@pytest.mark.parametrize("pair", [("plain", "other_seed"), ("other_seed", "plain"),
                                  ("plain", "private"), ("private", "plain")])
def test_the_stated_gap_lies_inside_its_stated_interval(runs, pair):
    """The verdict tells one difference, the leading run minus the other, and its interval is
    of that same difference: whichever order the runs come in, the gap lies inside it."""
    store, r = runs
    result = luck.compare(store, r[pair[0]], r[pair[1]])
    said = result.verdict("A", "B")
    found = _GAP.search(said)
    assert found, said
    gap, low, high = (float(x) for x in found.groups())
    assert gap == pytest.approx(abs(result.diff) * 100, abs=0.051)
    assert low <= gap <= high, said
    ahead = "B" if result.diff > 0 else "A"
    assert f"{ahead} is " in said.split("by")[0], said
    # Beyond luck both ends lie on the gap's side of zero; within luck the interval holds zero.
    assert (low > 0) == result.beyond, said
