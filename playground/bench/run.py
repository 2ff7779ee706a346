"""`make bench`: side-by-side measurements, written to BENCHMARKS.md as ratios and latencies.

    python -m playground.bench --out BENCHMARKS.md

(a) The playground's training loop (with its real store reporter) against a bare PyTorch
    loop on the same model, data, batch size and epochs, alternated and repeated.
(b) Through a real worker process: time from queuing the default run to its first progress
    update and to the finished run.
(d) Explanations: the playground's settings beside each library's defaults
    (playground/bench/explain.py).
(g) Recording the decision boundary of a 2-D run every epoch, on against off
    (playground/bench/boundary.py).
(h) Scoring a run on shifted copies of its test set, against its training time
    (playground/bench/shift.py).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch.nn import functional as F

from models.base import build_model
from playground.bench import attacks as attacks_bench
from playground.bench import boundary as boundary_bench
from playground.bench import explain as explain_bench
from playground.bench import ray_bench
from playground.bench import shift as shift_bench
from playground.bench import text as text_bench
from playground.common import device as devices
from playground.data.catalog import load_dataset
from playground.runs.store import Store
from playground.runs.supervisor import Supervisor, default_worker_count, worker_threads
from playground.runs.worker import StoreReporter
from playground.training.build import make_optimizer, model_spec, seed_everything
from playground.training.config import RunConfig, make_config
from playground.training.loop import train
from playground.training.privacy import EpsilonService
from playground.training.techniques.dp import EPSILON

ROUNDS = 5


def bare_loop_seconds(config: RunConfig, fused: bool = False) -> float:
    """The textbook loop: shuffled batches, forward, loss, backward, step. Nothing else.
    `fused`: with the fused Adam the playground uses, to show the loop's own overhead."""
    device = devices.resolve(config.device)
    data = load_dataset(config.dataset, config.seed, config.noise)
    generator = seed_everything(config.seed)
    model = build_model(config.model, model_spec(config, data)).to(device)
    optimizer = (make_optimizer(model, config.lr) if fused
                 else torch.optim.Adam(model.parameters(), lr=config.lr))
    X = torch.from_numpy(data.X_train).to(device)
    y = torch.from_numpy(data.y_train).to(device)
    start = time.perf_counter()
    for _ in range(config.epochs):
        model.train()
        order = torch.randperm(len(X), generator=generator).to(device)
        for i in range(0, len(X), config.batch_size):
            idx = order[i:i + config.batch_size]
            loss = F.cross_entropy(model(X[idx]), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def playground_loop_seconds(config: RunConfig, store: Store) -> float:
    run_id = store.enqueue(config, status="running", pid=0)
    result = train(config, StoreReporter(store, run_id))
    return result.metrics["train_seconds"]


def loop_ratio(config: RunConfig, store: Store) -> dict:
    bare, fused, ours = [], [], []
    bare_loop_seconds(config)  # warm-up: first-call costs belong to neither side
    for _ in range(ROUNDS):
        bare.append(bare_loop_seconds(config))
        fused.append(bare_loop_seconds(config, fused=True))
        ours.append(playground_loop_seconds(config, store))
    b, f, o = statistics.median(bare), statistics.median(fused), statistics.median(ours)
    return {"label": config.label(), "bare_s": b, "fused_s": f, "ours_s": o, "ratio": b / o,
            "fused_ratio": f / o}


def wait_for(predicate, timeout: float = 120.0, every: float = 0.002):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError("benchmark run did not finish in time")


def worker_latency(home: Path) -> dict:
    store = Store(home)
    supervisor = Supervisor(store, workers=1).start()
    try:
        # Let the worker boot (import torch) before timing: the app keeps it warm.
        warm = store.enqueue(make_config(epochs=1))
        wait_for(lambda: store.get(warm).status == "finished")
        first, done = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            run_id = store.enqueue(make_config())  # the default run: digits, CNN, 10 epochs
            wait_for(lambda rid=run_id: (store.get(rid).progress or 0) > 0)
            first.append(time.perf_counter() - t0)
            run = wait_for(lambda rid=run_id: (r := store.get(rid)).status == "finished" and r)
            done.append(time.perf_counter() - t0)
            assert run.status == "finished"
        return {"first_s": statistics.median(first), "done_s": statistics.median(done)}
    finally:
        supervisor.stop()


def _alternating_seconds(a: RunConfig, b: RunConfig, store: Store,
                         rounds: int = 5) -> tuple[float, float]:
    """Median training seconds of two configs, trained in turn so drift hits both."""
    times: tuple[list, list] = ([], [])
    for _ in range(rounds):
        for config, out in zip((a, b), times, strict=True):
            out.append(train(config, store=store).metrics["train_seconds"])
    return statistics.median(times[0]), statistics.median(times[1])


def _dp_epoch_seconds(base: RunConfig, store: Store, rounds: int = 5):
    """Per-epoch seconds, plain and DP alternating: (plain, DP with ε not yet known, DP
    with ε remembered). A worker remembers ε per privacy setting, so only the first run
    with new settings has the accountant working beside it."""

    dp_config = make_config(**{**base.model_dump(), "dp_noise": 1.0})

    epsilons = EpsilonService()  # as a worker keeps one for all its runs

    def per_epoch(config: RunConfig) -> float:
        m = train(config, store=store, epsilons=epsilons).metrics
        return m["train_seconds"] / m["epochs_run"]

    plain, cold, warm = [], [], []
    try:
        for _ in range(rounds):
            plain.append(per_epoch(base))
            epsilons.forget()
            cold.append(per_epoch(dp_config))
            warm.append(per_epoch(dp_config))
    finally:
        epsilons.close()
    return statistics.median(plain), statistics.median(cold), statistics.median(warm)


def techniques_bench(home: Path) -> dict:
    """DP, int8 and distillation, each against its plain twin, side by side."""
    store = Store(home)

    out: dict = {"dp_time": [], "int8": []}
    here = torch.get_num_threads()
    try:
        for threads in dict.fromkeys((here, worker_threads(default_worker_count()))):
            torch.set_num_threads(threads)
            for base in (make_config(epochs=3), make_config(model="mlp", width=256, epochs=3)):
                out["dp_time"].append((base.label(), threads,
                                       *_dp_epoch_seconds(base, store)))
    finally:
        torch.set_num_threads(here)
    for base in (make_config(model="mlp", width=256), make_config()):
        m = train(make_config(**{**base.model_dump(), "quantize": "int8"}), store=store).metrics
        q = m["quantized"]
        out["int8"].append((base.label(), q["size_bytes"] / q["float_size_bytes"],
                            q["latency_ms_batch256"] / m["latency_ms_batch256"],
                            (m["accuracy"] - q["accuracy"]) * 100))
    plain_acc = train(make_config(), store=store).metrics["accuracy"]
    dp_m = train(make_config(dp_epsilon=8.0, dp_delta=1e-5), store=store).metrics
    out["dp_acc"] = (plain_acc, dp_m["accuracy"], EPSILON.value(dp_m))
    out["distill"] = distillation_bench(store)
    return out


# The student setting was chosen on seeds 0-4 among the ~35 tried (listed in the report);
# these seeds were not used to choose it, so the share below is not flattered by the search.
DISTILL_SEEDS = tuple(range(10, 20))
DISTILL_STUDENT = dict(model="mlp", width=16, depth=1, epochs=20, augment=1.0)


def distillation_bench(store: Store) -> dict:
    """A CNN teaches a one-layer MLP (width 16). With augmentation the teacher scores the
    same augmented batch as the student (consistent views); without it, its outputs are
    computed once. On 360 test images one seed's gap is a handful of answers, so the share
    is pooled over seeds: mean gain over mean gap (a per-seed share divides by gaps near 0)."""
    rows, plain_rows = [], []
    plain = {k: v for k, v in DISTILL_STUDENT.items() if k != "augment"}
    for seed in DISTILL_SEEDS:
        teacher_cfg = make_config(model="cnn", epochs=10, seed=seed)
        teacher_id = store.enqueue(teacher_cfg, status="running", pid=0)
        teacher = train(teacher_cfg, out_dir=store.artifact_dir(teacher_id), store=store)
        store.finish(teacher_id, teacher.metrics, teacher.metrics["device"])
        t = teacher.metrics["accuracy"]
        for student, out in ((DISTILL_STUDENT, rows), (plain, plain_rows)):
            alone = train(make_config(**student, seed=seed), store=store).metrics
            distilled = train(make_config(**student, seed=seed, distill_from=teacher_id),
                              store=store).metrics
            out.append((t, alone["accuracy"], distilled["accuracy"]))
            if seed == DISTILL_SEEDS[0] and student is DISTILL_STUDENT:
                live_ratio = distilled["train_seconds"] / alone["train_seconds"]
        if seed == DISTILL_SEEDS[0]:
            once_alone, once = _alternating_seconds(
                make_config(**plain, seed=seed),
                make_config(**plain, seed=seed, distill_from=teacher_id), store)
    return {"rows": rows, "plain_rows": plain_rows, "share": pooled_share(rows),
            "plain_share": pooled_share(plain_rows),
            "shares": [(d - a) / (t - a) if t > a else float("nan") for t, a, d in rows],
            "time_ratio": once / once_alone, "live_time_ratio": live_ratio}


def pooled_share(rows: list[tuple[float, float, float]]) -> float:
    """(mean distilled - mean alone) / (mean teacher - mean alone) over (t, a, d) rows."""
    t, a, d = (statistics.mean(r[i] for r in rows) for i in range(3))
    return (d - a) / (t - a) if t > a else float("nan")


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="BENCHMARKS.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "loop")
        loops = [loop_ratio(make_config(), store),
                 loop_ratio(make_config(model="mlp", width=128), store)]
        worker = worker_latency(Path(tmp) / "worker")
        tech = techniques_bench(Path(tmp) / "techniques")

    explained = explain_bench.explanations_bench()
    on_ray = ray_bench.measure()
    attacked = attacks_bench.measure()
    drawn = boundary_bench.measure()
    shifted = shift_bench.measure()
    texted = text_bench.measure()

    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {time.strftime('%Y-%m-%d')}, "
        f"{devices.describe('auto')}, Python {platform.python_version()}, "
        f"torch {torch.__version__}. Ratios are measured side by side in one run "
        f"(median of {ROUNDS} alternating rounds), so they travel between machines better "
        "than the absolute times beside them.",
        "",
        "## (a) Training loop: playground vs bare PyTorch",
        "",
        "Same model, data, batch size and epochs. The bare loop does only forward, loss, "
        "backward and step, with torch's default Adam; the playground loop also evaluates on "
        "the validation split every epoch, records epochs and progress in the SQLite store "
        "and checks for cancellation. The playground steps with the fused Adam (one kernel "
        "per step, same algorithm): against the textbook loop it is faster per step. The "
        "last columns compare it with a bare loop that uses the fused Adam too, like for "
        "like: that ratio is the cost of the loop's own bookkeeping (validation every "
        "epoch, mostly), and the goal is judged there as well.",
        "",
        "| run | bare loop | playground loop | throughput ratio (goal ≥ 0.9) | bare loop, "
        "fused Adam | like-for-like ratio (goal ≥ 0.9) |",
        "|---|---|---|---|---|---|",
    ]
    for r in loops:
        lines.append(f"| {r['label']} | {r['bare_s']:.3f} s | {r['ours_s']:.3f} s | "
                     f"{r['ratio']:.2f} ({verdict(r['ratio'] >= 0.9)}) | "
                     f"{r['fused_s']:.3f} s | {r['fused_ratio']:.2f} "
                     f"({verdict(r['fused_ratio'] >= 0.9)}) |")
    lines += [
        "",
        "## (b) Through the real worker process",
        "",
        "A warm worker (started by the supervisor, torch already imported) trains the default "
        "run (digits, CNN, 10 epochs); median of 3.",
        "",
        "| measure | time | goal |",
        "|---|---|---|",
        f"| queued → first progress update | {worker['first_s']:.3f} s | ≤ 1 s "
        f"({verdict(worker['first_s'] <= 1)}) |",
        f"| queued → finished default run | {worker['done_s']:.2f} s | ≤ 5 s "
        f"({verdict(worker['done_s'] <= 5)}) |",
        "",
        "## (c) What techniques cost, each beside its plain twin",
        "",
        "DP-SGD on these Linear/Conv2d networks uses the playground's book-keeping clipper "
        "(`playground/training/techniques/dp_clipping.py`: each example's gradient norm from "
        "the layer inputs "
        "and output gradients of one backward pass) with Opacus' Poisson sampler and PRV "
        "accountant; ε for every epoch is worked out by a forked helper process, at the "
        "lowest CPU priority, while the model trains, and an epoch whose answer is not in yet "
        "is reported again when it is (training never waits for it; the run's end does). "
        "*First run* clears the process's memory of ε, as for the first run with "
        "new privacy settings in a worker; *again* is the same settings once more (another "
        "seed, a sweep, a workshop class), where ε is remembered. Per epoch, median of 5 "
        "alternating rounds.",
        "",
        "Measured with this process's torch threads and with a worker's (workers leave "
        "one core to the app, so on 2 cores a worker trains on 1 thread and the helper "
        "gets the other core, as does the next step's noise, drawn ahead there). With every "
        "core training, the helper has only the moments training leaves idle, and one PRV "
        "answer costs 10-25 ms of CPU here (as much as an epoch of the plain MLP); the "
        "noise, drawn in place then, is ~0.2 ms of the MLP's ~1 ms step (measured "
        "2026-11-23). Both loops step with the fused Adam, which speeds up the plain epoch "
        "more than the DP one (clipping and noise dominate there), so it raised these "
        "ratios.",
        "",
        "| run | torch threads | plain epoch | DP-SGD epoch, first run | DP-SGD epoch, "
        "again | DP / plain, first run (goal ≤ 2.0) | DP / plain, again (goal ≤ 2.0) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, threads, plain, cold, warm in tech["dp_time"]:
        lines.append(f"| {label} | {threads} | {plain:.3f} s | {cold:.3f} s | {warm:.3f} s | "
                     f"{cold / plain:.2f} ({verdict(cold / plain <= 2.0)}) | "
                     f"{warm / plain:.2f} ({verdict(warm / plain <= 2.0)}) |")
    plain_acc, dp_acc, eps = tech["dp_acc"]
    lines += [
        "",
        f"DP accuracy at ε = {eps:.2f} (target 8, δ = 1e-5; digits, CNN, 10 epochs): "
        f"{dp_acc:.1%} vs {plain_acc:.1%} without privacy, a ratio of "
        f"**{dp_acc / plain_acc:.2f}** (goal ≥ 0.9, {verdict(dp_acc / plain_acc >= 0.9)}).",
        "",
        "| int8 (torch.ao static, calibrated, CPU) | bytes int8 / float (goal ≤ 0.3) | "
        "latency at batch 256, int8 / float (goal ≤ 0.5) | accuracy drop (goal ≤ 0.5 points) |",
        "|---|---|---|---|",
    ]
    for label, size, lat, drop in tech["int8"]:
        lines.append(f"| {label} | {size:.2f} ({verdict(size <= 0.3)}) | {lat:.2f} "
                     f"({verdict(lat <= 0.5)}) | {drop:+.2f} ({verdict(drop <= 0.5)}) |")
    dist = tech["distill"]

    def means(rows):
        return tuple(statistics.mean(r[i] for r in rows) for i in range(3))

    t, a, d = means(dist["rows"])
    _, pa, pd = means(dist["plain_rows"])
    finite = [x for x in dist["shares"] if x == x] or [float("nan")]
    lines += [
        "",
        f"Distillation (teacher: the CNN, 10 epochs; student: MLP width 16, one layer, 20 "
        f"epochs, augmentation 1.0; T and weight at their defaults), mean over "
        f"{len(dist['rows'])} seeds: teacher {t:.1%}, student alone {a:.1%}, distilled "
        f"{d:.1%}. Share of the teacher–student gap recovered: **{dist['share']:.2f}** "
        f"(goal ≥ 0.5, {verdict(dist['share'] >= 0.5)}); mean of the per-seed shares "
        f"{statistics.mean(finite):.2f} (range {min(finite):.2f} to {max(finite):.2f}). "
        "This student setting was chosen on seeds 0-4 out of about 35 tried; the seeds here "
        f"({DISTILL_SEEDS[0]}-{DISTILL_SEEDS[-1]}) played no part in choosing it. Time "
        "distilled / alone with the teacher's outputs computed once (no augmentation): "
        f"**{dist['time_ratio']:.2f}** (goal ≤ 1.3, {verdict(dist['time_ratio'] <= 1.3)}); "
        "at T = 1 the two halves of the loss are one cross-entropy against soft targets "
        "made once before training. With augmentation the teacher scores every augmented "
        f"batch: {dist['live_time_ratio']:.2f}.",
        "",
        f"The same student without augmentation: alone {pa:.1%}, distilled {pd:.1%} (share "
        f"{dist['plain_share']:.2f}). "
        + ("So on digits this small student does best alone and without augmentation; the "
           "teacher wins back part of what augmentation costs it, and no more."
           if pa >= max(a, d, pd) else
           "Best of the four: the student "
           + max([(pd, "distilled, without augmentation"), (a, "alone, with augmentation"),
                  (d, "distilled, with augmentation")])[1] + "."),
        "",
        "From the search (2026-11-23): the CNN is so sure of its own training images that "
        "its outputs on them at T = 1 are nearly the labels; higher T (2, 4, 10) recovered "
        "less than T = 1 for every student tried except the 256-wide one (0.3 points better "
        "at T = 4). Tried on seeds 0-4 (pooled share, or mean of per-seed shares where marked *): "
        "students of width 8, 16, 32, 64 and 256 (two layers), with augmentation 0, 0.5 "
        "and 1.0, 20 to 60 epochs, a cosine schedule; T = 1, 2, 4, 10; weight 0.9 and 1.0; "
        "teachers: the CNN for 10 or 20 epochs, the CNN trained with augmentation, a wide "
        "MLP with and without augmentation; image mixup; a tenth or a quarter of the "
        "training data; the teacher labelling an extra augmented copy of every batch; the "
        "ViT as student. Best: width 16 with augmentation 1.0 (0.47*, this one), with a "
        "wide-MLP teacher (0.50 pooled, 0.46*) and for 40 epochs with a cosine schedule "
        "(0.50 pooled, 0.46*). Without augmentation for the student the best was 0.32 "
        "(width 64, the teacher labelling an extra augmented copy of each batch), and most "
        "settings lost accuracy.",
        "",
    ]
    lines += explain_bench.markdown(explained)
    lines += ["", *ray_bench.markdown(on_ray)]
    lines += ["", *attacks_bench.markdown(attacked)]
    lines += ["", *boundary_bench.markdown(drawn)]
    lines += ["", *shift_bench.markdown(shifted)]
    lines += ["", *text_bench.markdown(texted), ""]
    lines += kept_blocks(Path(args.out))
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


# Sections other tools write into the same file (scripts/loadtest.py): kept as they are.
KEPT = (("<!-- loadtest:start -->", "<!-- loadtest:end -->"),)


def kept_blocks(path: Path) -> list[str]:
    text = path.read_text() if path.exists() else ""
    blocks = []
    for start, end in KEPT:
        if start in text and end in text:
            blocks += ["", text[text.index(start):text.index(end) + len(end)]]
    return blocks


if __name__ == "__main__":
    raise SystemExit(main())
