"""Pareto fronts against brute force, and the numbers a run contributes to them."""
from __future__ import annotations

import math
import random
import re

import pytest

from playground.results import charts, tradeoff_charts
from playground.results.answers import unique_labels
from playground.results.pareto import flat_words, front_rows, hover_rows, pareto_mask
from playground.results.shipped import RunPoint, run_point, switched_on
from playground.runs.store import Run
from playground.training.config import make_config
from playground.training.metrics import ACCURACY, LATENCY, SIZE
from playground.training.techniques import TECHNIQUES
from playground.training.techniques.dp import EPSILON


def brute_force(xs, ys, x_better="lower", y_better="higher") -> list[bool]:
    """Straight from the definition: i is on the front unless some j is at least as good on
    both and strictly better on one. Points with a missing number are never on it."""
    def ok(v):
        return v is not None and math.isfinite(v)

    def better_or_equal(a, b, way):
        return a <= b if way == "lower" else a >= b

    out = []
    for i, (xi, yi) in enumerate(zip(xs, ys, strict=True)):
        if not (ok(xi) and ok(yi)):
            out.append(False)
            continue
        beaten = False
        for j, (xj, yj) in enumerate(zip(xs, ys, strict=True)):
            if i == j or not (ok(xj) and ok(yj)):
                continue
            if (better_or_equal(xj, xi, x_better) and better_or_equal(yj, yi, y_better)
                    and (xj != xi or yj != yi)):
                beaten = True
                break
        out.append(not beaten)
    return out


@pytest.mark.parametrize("x_better,y_better", [("lower", "higher"), ("higher", "higher"),
                                               ("lower", "lower"), ("higher", "lower")])
def test_front_matches_brute_force_on_random_points_with_ties(x_better, y_better):
    rng = random.Random(1234)
    for trial in range(400):
        n = rng.randint(0, 30)
        # Small integer grids make ties and exact duplicates common.
        grid = rng.choice([3, 5, 10, 1000])
        xs = [float(rng.randint(0, grid)) for _ in range(n)]
        ys = [float(rng.randint(0, grid)) for _ in range(n)]
        if n and trial % 3 == 0:  # some exact duplicates of existing points
            for _ in range(rng.randint(1, 4)):
                k = rng.randrange(n)
                xs.append(xs[k])
                ys.append(ys[k])
        assert pareto_mask(xs, ys, x_better, y_better) == brute_force(xs, ys, x_better,
                                                                      y_better), (xs, ys)


def test_front_on_continuous_random_points_and_missing_values():
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(1, 40)
        xs = [rng.random() for _ in range(n)]
        ys = [rng.random() for _ in range(n)]
        for k in rng.sample(range(n), k=min(n, rng.randint(0, 3))):
            (xs if rng.random() < 0.5 else ys)[k] = rng.choice([None, math.nan, math.inf])
        assert pareto_mask(xs, ys) == brute_force(xs, ys)


def test_duplicates_share_the_front_and_a_strictly_better_point_beats_all():
    assert pareto_mask([1, 1], [0.9, 0.9]) == [True, True]
    assert pareto_mask([1, 1, 0.5], [0.9, 0.9, 0.95]) == [False, False, True]
    # Same cost, different score: only the better one stays.
    assert pareto_mask([2, 2], [0.8, 0.9]) == [False, True]
    # Same score, different cost: only the cheaper one stays.
    assert pareto_mask([1, 2], [0.9, 0.9]) == [True, False]
    assert pareto_mask([], []) == []
    with pytest.raises(ValueError):
        pareto_mask([1, 2], [1])


def _run(run_id: str, metrics: dict, **config) -> Run:
    return Run(id=run_id, status="finished", config=make_config(**config), created=0.0,
               metrics=metrics)


def test_a_quantized_run_counts_its_shipped_size_speed_and_accuracy():
    base = {"accuracy": 0.9, "f1_macro": 0.88, "size_bytes": 4000, "latency_ms": 0.2,
            "train_seconds": 1.5}
    plain = _run("a", base, dataset="wine", model="mlp")
    q = _run("b", {**base, "quantized": {"mode": "int8", "size_bytes": 1200,
                                         "latency_ms": 0.1, "accuracy": 0.89}},
             dataset="wine", model="mlp", quantize="int8")
    skipped = _run("c", {**base, "quantized": {"mode": "bf16", "skipped": "no support"}},
                   dataset="wine", model="mlp", quantize="bf16")
    pa, pq, ps = run_point(plain), run_point(q), run_point(skipped)
    assert (pq.size_bytes, pq.latency_ms, pq.accuracy, pq.quantized) == (1200, 0.1, 0.89, True)
    assert (ps.size_bytes, ps.accuracy, ps.quantized) == (4000, 0.9, False)
    assert pa.get(EPSILON) is None and pa.label == "plain" and pq.label == "quantization int8"

    rows = front_rows([pa, pq], "size_bytes")
    # The int8 run is smaller but a point less accurate: neither beats the other.
    assert [r["on_front"] for r in rows] == [True, True]
    # Without privacy noise there is no ε: nothing to plot, nothing on the front.
    assert [r["plotted"] for r in front_rows([pa, pq], EPSILON.key)] == [False, False]


def test_labels_say_what_was_switched_on():
    config = make_config(dataset="wine", model="mlp", dropout=0.3, dp_noise=1.5)
    assert switched_on(config) == "dp 1.5 + dropout 0.3"
    assert switched_on(make_config(dataset="wine", model="mlp")) == "plain"


def _point(i: int, **values) -> RunPoint:
    return RunPoint(run_id=f"r{i}", label="plain", values=values)


def test_a_metric_that_does_not_differ_is_said_in_words_not_drawn():
    same = [_point(i, **{SIZE.key: 40_000.0, LATENCY.key: 0.03395 + i * 0.0002})
            for i in range(3)]
    assert flat_words(same, SIZE) == ("Every run here has the same weight size: "
                                      f"{SIZE.format(40_000.0)}.")
    # 0.03395 to 0.03435 ms: about 1 % apart, well within timing noise.
    assert "less than measurement noise" in flat_words(same, LATENCY)
    apart = [_point(0, **{SIZE.key: 40_000.0, LATENCY.key: 0.03}),
             _point(1, **{SIZE.key: 10_000.0, LATENCY.key: 0.06})]
    assert flat_words(apart, SIZE) is None and flat_words(apart, LATENCY) is None
    assert flat_words(same[:1], SIZE) is None  # one run: nothing to compare


def test_axes_start_at_zero_and_shares_run_to_one_hundred_percent():
    rows = front_rows([_point(i, **{ACCURACY.key: a, LATENCY.key: lat})
                       for i, (a, lat) in enumerate([(0.85, 0.034), (0.887, 0.035)])],
                      LATENCY.key)
    spec = tradeoff_charts.pareto_chart(rows, LATENCY.key).to_dict()
    encodings = [layer["encoding"] for layer in spec["layer"]]
    assert all(e["y"]["scale"] == {"domain": [0, 1]} for e in encodings)
    assert all(e["x"]["scale"]["zero"] is True for e in encodings)
    curve = charts.curves_chart(charts.curves_frame(
        [{"run_id": "a", "epoch": 1, "val_accuracy": 0.86}], {"a": "a"}), "accuracy", False)
    assert curve.to_dict()["encoding"]["y"]["scale"] == {"domain": [0, 1]}


def test_a_hover_names_runs_in_words_never_by_id_or_code_name():
    base = {"accuracy": 0.9, "f1_macro": 0.88, "size_bytes": 4000, "latency_ms": 0.2,
            "train_seconds": 1.5}
    runs = [_run("k3x9q", base, dataset="wine", model="mlp"),
            _run("p7w2z", {**base, "accuracy": 0.86, "epsilon": 2.5, "size_bytes": 3000},
                 dataset="wine", model="mlp", dp_noise=1.1, quantize="int8", dropout=0.2),
            _run("m4v8t", {**base, "accuracy": 0.86, "epsilon": 2.5, "size_bytes": 3000},
                 dataset="wine", model="mlp", dp_noise=1.1, dropout=0.2)]
    points = [run_point(r) for r in runs]
    names = unique_labels(runs)
    rows = hover_rows(front_rows(points, SIZE.key), points, runs, names)
    spec = tradeoff_charts.pareto_chart(rows, SIZE.key).to_dict()
    hovered = {t["field"] for layer in spec["layer"]
               for t in layer["encoding"].get("tooltip", [])}
    assert "run_id" not in hovered and "run" in hovered
    data = next(iter(spec["datasets"].values()))
    shown = " ".join(str(d[f]) for d in data for f in hovered)
    # A code name that is not also the plain word ('dp', 'quantization' is both).
    code_names = {n for n in TECHNIQUES.names() if n != TECHNIQUES.get(n).words()}
    for run in runs:
        assert run.id not in shown
    for word in code_names:  # as whole words, never shown
        assert word not in re.findall(r"[a-z_]+", shown), word
    assert len({d["run"] for d in data}) == len(runs)  # each hover names a different run
    assert {d["label"] for d in data} >= {"nothing switched on"}
    assert any(SIZE.label in f for f in hovered)  # numbers under their plain labels
