"""Text in the bench (`make bench`): the tiny BERT's epoch time, queued -> finished of the
default text run through a worker (goal ≤ 15 s on 2 cores), masked-word pretraining's time,
fine-tuned against from scratch at 5 / 25 / 100 % of the reviews' labels, and DP-SGD against
plain epoch time on text.

Alone: `scripts/private-network python -m playground.bench.text --out BENCHMARKS.md`
replaces only its own block.
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from models.base import model_info
from playground.bench import blocks
from playground.bench.blocks import markers
from playground.runs.store import Store
from playground.runs.supervisor import Supervisor, default_worker_count, worker_threads
from playground.runs.worker import execute
from playground.training.config import RunConfig, make_config
from playground.training.loop import train
from playground.training.privacy import EpsilonService

START, END = markers("text")
# The tiny BERT at its own learning rate (at the playground's default 0.01 it stays at
# chance); the defaults otherwise: width 64, depth 2, 10 epochs.
TEXT_RUN = dict(dataset="reviews", model="bert", lr=model_info("bert").default_lr)
PRETRAIN = dict(TEXT_RUN, epochs=3, pretrain_also="sms_spam")
FRACTIONS = (0.05, 0.25, 1.0)
FINE_TUNE_EPOCHS = 5
ROUNDS = 3
GOAL_S = 15.0


def _finish(store: Store, config: RunConfig):
    """Queue a run and train it here as a worker would; the finished run."""
    run_id = store.enqueue(config)
    assert store.claim_run(run_id, os.getpid())
    status = execute(store, store.get(run_id))
    run = store.get(run_id)
    assert status == "finished", run.error
    return run


def _queued_to_finished(store: Store, config: RunConfig) -> float:
    supervisor = Supervisor(store, workers=1).start()
    try:
        warm = store.enqueue(make_config(**dict(TEXT_RUN, epochs=1, width=16, depth=1)))
        _wait(lambda: store.get(warm).status == "finished")  # the worker imports torch first
        times = []
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            run_id = store.enqueue(config)
            _wait(lambda rid=run_id: not store.get(rid).active)
            assert store.get(run_id).status == "finished", store.get(run_id).error
            times.append(time.perf_counter() - t0)
        return statistics.median(times)
    finally:
        supervisor.stop()


def _wait(predicate, timeout: float = 600.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(0.01)
    raise TimeoutError("benchmark run did not finish in time")


def _per_epoch(config: RunConfig, epsilons: EpsilonService | None = None) -> float:
    m = train(config, epsilons=epsilons).metrics
    return m["train_seconds"] / m["epochs_run"]


def _dp_against_plain(model: str) -> dict:
    """Median per-epoch seconds, plain and DP-SGD (noise 1) alternating, or why DP failed."""
    base = dict(dataset="reviews", model=model, epochs=1, lr=model_info(model).default_lr)
    epsilons = EpsilonService()
    plain, noisy = [], []
    try:
        for _ in range(ROUNDS):
            plain.append(_per_epoch(make_config(**base)))
            noisy.append(_per_epoch(make_config(**base, dp_noise=1.0), epsilons))
    except Exception as exc:  # DP on a text model may not be ready on this branch: say so
        return {"model": model, "failed": f"{type(exc).__name__}: {exc}"[:200]}
    finally:
        epsilons.close()
    return {"model": model, "plain_s": statistics.median(plain),
            "noisy_s": statistics.median(noisy)}


def measure() -> dict:
    torch.set_num_threads(worker_threads(default_worker_count()))  # as a worker trains
    out: dict = {"threads": torch.get_num_threads()}
    default = make_config(**TEXT_RUN)
    out["label"] = default.label()
    with tempfile.TemporaryDirectory() as tmp:
        old = os.environ.get("PLAYGROUND_HOME")
        os.environ["PLAYGROUND_HOME"] = tmp  # fine-tunes find the tokenizer in its folder
        try:
            store = Store(Path(tmp))
            out["epoch_s"] = statistics.median(
                _per_epoch(make_config(**dict(TEXT_RUN, epochs=2))) for _ in range(ROUNDS))
            out["queued_s"] = _queued_to_finished(store, default)
            pre = _finish(store, make_config(**PRETRAIN))
            p = pre.metrics["pretraining"]
            out["pretrain"] = {"label": pre.config.label(), "seconds": pre.metrics[
                "train_seconds"], "sentences": p["sentences"], "loss_before": p[
                "loss_before"], "loss_after": p["loss_after"], "guessed": p["guessed"]}
            rows = []
            for fraction in FRACTIONS:
                target = dict(TEXT_RUN, epochs=FINE_TUNE_EPOCHS, train_fraction=fraction)
                scratch = _finish(store, make_config(**target))
                tuned = _finish(store, make_config(**target, init_from=pre.id))
                rows.append({"fraction": fraction,
                             "labels": sum(scratch.metrics["train_class_counts"]),
                             "scratch": scratch.metrics["accuracy"],
                             "tuned": tuned.metrics["accuracy"],
                             "scratch_s": scratch.metrics["train_seconds"],
                             "tuned_s": tuned.metrics["train_seconds"]})
            out["fine_tune"] = rows
            # int8 beside float: the same trained model, quantized by the technique itself.
            small = _finish(store, make_config(**TEXT_RUN, quantize="int8"))
            q = small.metrics["quantized"]
            out["int8"] = {"bytes": q["size_bytes"] / q["float_size_bytes"],
                           "latency": q["latency_ms"] / small.metrics["latency_ms"],
                           "batch": q["latency_ms_batch256"]
                           / small.metrics["latency_ms_batch256"],
                           "float_acc": small.metrics["accuracy"], "int8_acc": q["accuracy"],
                           "float_bytes": q["float_size_bytes"], "int8_bytes": q["size_bytes"],
                           "method": q["method"]}
        finally:
            if old is None:
                os.environ.pop("PLAYGROUND_HOME", None)
            else:
                os.environ["PLAYGROUND_HOME"] = old
    out["private"] = [_dp_against_plain("bert"), _dp_against_plain("bow")]
    out["load"] = os.getloadavg()[0]
    return out


def markdown(r: dict) -> list[str]:
    met = "met" if r["queued_s"] <= GOAL_S else "missed"
    p = r["pretrain"]
    lines = [
        START,
        "## (i) Text: the tiny BERT, pretraining, fine-tuning, int8, DP",
        "",
        f"{r['label']} ({r['threads']} torch thread(s), as a worker trains).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| tiny BERT, one epoch on the reviews | {r['epoch_s']:.2f} s |",
        f"| default text run, queued → finished through a worker | {r['queued_s']:.1f} s "
        f"(goal ≤ {GOAL_S:.0f} s: {met}) |",
        f"| masked-word pretraining ({p['label']}, {p['sentences']:,} sentences) | "
        f"{p['seconds']:.1f} s; guessing loss {p['loss_before']:.2f} → {p['loss_after']:.2f}, "
        f"{p['guessed']:.1%} of hidden words guessed |",
        "",
        f"Fine-tuned from that pretraining run against from scratch ({FINE_TUNE_EPOCHS} "
        "epochs, the same seed, test accuracy on the same 600 test reviews):",
        "",
        "| labels used | from scratch | pretrained, then fine-tuned | difference |",
        "|---|---|---|---|",
    ]
    for row in r["fine_tune"]:
        diff = (row["tuned"] - row["scratch"]) * 100
        lines.append(f"| {row['fraction']:.0%} ({row['labels']:,} sentences) | "
                     f"{row['scratch']:.1%} ({row['scratch_s']:.1f} s) | {row['tuned']:.1%} "
                     f"({row['tuned_s']:.1f} s) | {diff:+.1f} points |")
    q = r["int8"]
    lines += [
        "", f"int8 against float, the same tiny BERT ({q['method']}):", "",
        "| bytes int8 / float (goal ≤ 0.35) | one sentence int8 / float (goal ≤ 0.7) | "
        "256 sentences int8 / float | accuracy float → int8 |", "|---|---|---|---|",
        f"| {q['bytes']:.2f} ({q['int8_bytes']:,} / {q['float_bytes']:,}) | "
        f"{q['latency']:.2f} | {q['batch']:.2f} | {q['float_acc']:.1%} → {q['int8_acc']:.1%} |"]
    lines += ["", "| DP-SGD against plain, seconds per epoch | plain | DP (noise 1) | ratio |",
              "|---|---|---|---|"]
    for d in r["private"]:
        if "failed" in d:
            lines.append(f"| {d['model']} | | failed: {d['failed']} | |")
        else:
            lines.append(f"| {d['model']} | {d['plain_s']:.2f} s | {d['noisy_s']:.2f} s | "
                         f"{d['noisy_s'] / d['plain_s']:.1f}× |")
    lines += ["", f"Load average while measuring: {r['load']:.1f} on {os.cpu_count()} cores "
              "(absolute times are noisy; each comparison ran side by side).", END]
    return lines


def main(argv: list[str] | None = None) -> int:
    return blocks.main("text", __doc__, measure, markdown, argv)


if __name__ == "__main__":
    raise SystemExit(main())
