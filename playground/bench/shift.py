"""What scoring a run on its shifted test sets costs (`make bench`): the default run and a
run on a table and on 2-D points, trained as a worker trains them (the store's reporter, the
worker's torch threads); the shift evaluation's seconds against the same run's training
seconds, median over rounds. Goal: ≤ 0.2 of the training time.

Alone: `python -m playground.bench.shift --out BENCHMARKS.md` replaces only its own block.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from playground.bench import blocks
from playground.bench.blocks import markers
from playground.runs.store import Store
from playground.runs.supervisor import default_worker_count, worker_threads
from playground.runs.worker import StoreReporter
from playground.training import shift as S
from playground.training.audits import shift as shift_audit
from playground.training.config import make_config
from playground.training.loop import train

ROUNDS = 5
START, END = markers("shift")
CONFIGS = (dict(), dict(dataset="loans", model="mlp"), dict(dataset="moons", model="mlp"))
GOAL = 0.2


def _one(store: Store, values: dict) -> dict:
    config = make_config(**values)
    run_id = store.enqueue(config, status="running", pid=0)
    result = train(config, StoreReporter(store, run_id), out_dir=store.artifact_dir(run_id),
                   store=store)
    m = result.metrics
    # the same evaluation again on the finished model: warm, without first-call costs
    started = time.perf_counter()
    S.measure(result.model, result.dataset, "cpu", config.seed)
    return {"label": config.label(), "train_s": m["train_seconds"],
            "shift_s": shift_audit.details(m)["seconds"],
            "again_s": time.perf_counter() - started,
            "shifts": len(shift_audit.report(m) or {})}


def measure() -> list[dict]:
    torch.set_num_threads(worker_threads(default_worker_count()))  # as a worker trains
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        _one(store, dict(CONFIGS[0], epochs=1))  # first-call costs belong to no row
        for values in CONFIGS:
            rounds = [_one(store, values) for _ in range(ROUNDS)]
            out.append({
                "label": rounds[0]["label"], "shifts": rounds[0]["shifts"],
                "train_s": statistics.median(r["train_s"] for r in rounds),
                "shift_s": statistics.median(r["shift_s"] for r in rounds),
                "again_s": statistics.median(r["again_s"] for r in rounds),
                # each round's own ratio: the machine's load drifts between rounds
                "ratio": statistics.median(r["shift_s"] / r["train_s"] for r in rounds),
            })
    return out


def markdown(rows: list[dict]) -> list[str]:
    lines = [
        START,
        "## (h) Under shift: what scoring each run on shifted test sets costs",
        "",
        "Every finished run is also scored on shifted copies of its test set (pictures: "
        f"turned, noisy, blurred, faded, moved; tables and points: a column moved or spread, a "
        f"group made more common), each at {len(S.SEVERITIES)} strengths; nothing is "
        "retrained. Trained as a worker trains it, the run's own clocks: seconds in the shift "
        f"evaluation against its training seconds, median of {ROUNDS} rounds (the ratio is the "
        "median of the rounds' own ratios); 'again' is the same evaluation repeated on the "
        f"finished model, warm. Goal ≤ {GOAL:g}.",
        "",
        "| run | shifts | training | shift evaluation | again, warm | ratio (shift / training) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = "met" if r["ratio"] <= GOAL else "missed"
        lines.append(f"| {r['label']} | {r['shifts']} | {r['train_s']:.2f} s | "
                     f"{r['shift_s']:.3f} s | {r['again_s']:.3f} s | {r['ratio']:.3f} "
                     f"(goal ≤ {GOAL:g}: {met}) |")
    lines += ["", f"Load average while measuring: {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores (absolute times are noisy; the ratio is each run's own).",
              END]
    return lines


def main(argv: list[str] | None = None) -> int:
    return blocks.main("shift", __doc__, measure, markdown, argv)


if __name__ == "__main__":
    raise SystemExit(main())
