"""What recording the decision boundary costs the training loop (`make bench`): a run on the
two moons trained as a worker trains it (the store's reporter, its artifact folder, the
worker's torch threads), with the boundary recorded every epoch and without, alternating,
median of the rounds. Goal: throughput with recording ≥ 0.9 of without.

Alone: `scripts/private-network python -m playground.bench.boundary --out BENCHMARKS.md`
replaces only its own block.
"""
from __future__ import annotations

import os
import statistics
import tempfile
from pathlib import Path

import torch

from playground.bench import blocks
from playground.bench.blocks import markers
from playground.runs.store import Store
from playground.runs.supervisor import default_worker_count, worker_threads
from playground.runs.worker import StoreReporter
from playground.training import boundary as B
from playground.training.config import RunConfig, make_config
from playground.training.loop import train

ROUNDS = 9
START, END = markers("boundary")
CONFIG = dict(dataset="moons", model="mlp", epochs=40)


def _seconds(store: Store, config: RunConfig, record: bool, shares: list | None = None) -> float:
    run_id = store.enqueue(config, status="running", pid=0)
    result = train(config, StoreReporter(store, run_id), out_dir=store.artifact_dir(run_id),
                   store=store, boundary=record)
    frames = B.frames(store.artifact_dir(run_id))
    assert len(frames) == (config.epochs + 1 if record else 0), frames
    m = result.metrics
    if record and shares is not None:  # the same run's own account: time inside the frames
        shares.append((m["boundary_seconds"] / m["train_seconds"], m["boundary_seconds"]))
    return m["train_seconds"]


def measure() -> dict:
    torch.set_num_threads(worker_threads(default_worker_count()))  # as a worker trains
    config = make_config(**CONFIG)
    on, off, shares = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        _seconds(store, config, True)  # first-call costs belong to neither side
        for i in range(ROUNDS):  # alternating (and which goes first), so drift hits both
            for record in ((True, False) if i % 2 else (False, True)):
                (on if record else off).append(_seconds(store, config, record, shares))
    on_s, off_s = statistics.median(on), statistics.median(off)
    # Each round's pair ran back to back: the median of their ratios follows the machine's
    # load drifting between rounds less than the ratio of the two medians does.
    paired = statistics.median(b / a for a, b in zip(on, off, strict=True))
    return {"label": config.label(), "epochs": config.epochs, "on_s": on_s, "off_s": off_s,
            "ratio": paired, "ratio_of_medians": off_s / on_s,
            "inside": 1 - statistics.median(s for s, _ in shares),
            "frame_ms": statistics.median(t for _, t in shares) / config.epochs * 1000,
            "threads": torch.get_num_threads(), "spread_on": (min(on), max(on)),
            "spread_off": (min(off), max(off)), "load": os.getloadavg()[0]}


def markdown(r: dict) -> list[str]:
    met = "met" if r["ratio"] >= 0.9 else "missed"
    return [
        START,
        "## (g) Decision boundary: what recording it every epoch costs",
        "",
        f"{r['label']} (batches of 64: six steps an epoch), trained as a worker trains it "
        f"(the store's reporter, the run's artifact folder, {r['threads']} torch "
        "thread(s)), with the "
        f"boundary recorded ({B.SIZE}×{B.SIZE} grid: one forward pass in inference mode and a "
        f"{2 * B.SIZE * B.SIZE / 1000:.1f} kB file per epoch) and without; median of "
        f"{ROUNDS} alternating rounds each; the ratio is the median of the rounds' own "
        f"ratios (the ratio of the two medians: {r['ratio_of_medians']:.2f}).",
        "",
        "| measure | recording off | recording on | ratio (throughput on / off) |",
        "|---|---|---|---|",
        f"| training loop | {r['off_s']:.3f} s ({r['spread_off'][0]:.3f}–"
        f"{r['spread_off'][1]:.3f}) | {r['on_s']:.3f} s ({r['spread_on'][0]:.3f}–"
        f"{r['spread_on'][1]:.3f}) | {r['ratio']:.2f} (goal ≥ 0.9: {met}) |",
        f"| throughput kept, from the recording runs' own clocks (1 − time inside the "
        f"frames / training time) | | | {r['inside']:.2f} |",
        "",
        f"About {r['frame_ms']:.1f} ms per frame (the runs' own clocks). A moons epoch is "
        "only six small steps, so this is the worst case: on bigger data a frame is the "
        "same size and an epoch is longer. Load average while measuring: "
        f"{r['load']:.1f} on {os.cpu_count()} cores "
        "(other processes shared the machine, so absolute times are noisy; the ratio is "
        "measured side by side).",
        END,
    ]


def main(argv: list[str] | None = None) -> int:
    return blocks.main("boundary", __doc__, measure, markdown, argv)


if __name__ == "__main__":
    raise SystemExit(main())
