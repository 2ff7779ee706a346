"""Sweeps: one knob, a list of values, optionally several seeds; everything else equal.

A sweep is queued as ordinary runs (through `submit_as`, so a distillation sweep also gets
its student-alone twins) plus a small manifest, `sweeps/<id>.json` under the store's home,
that says which run belongs to which value and seed. The runs table is not touched.
"""
from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from playground.common.files import write_json
from playground.common.metric_registry import Metric
from playground.common.permissions import OPERATOR, Actor, Place, check
from playground.experiments.workshop import admit_all, submit_as
from playground.results.luck import seed_band, within_band
from playground.results.shipped import run_point
from playground.training.config import (
    FIELDS,
    ConfigError,
    RunConfig,
    config_values,
    make_config,
    setting_title,
    shorthands,
)
from playground.training.metrics import ACCURACY
from playground.training.techniques import TECHNIQUES, technique_class

NUMERIC_FIELDS = tuple(f for f in ("epochs", "lr", "batch_size", "width", "depth", "noise",
                                      "train_fraction") if f in FIELDS)
OFF_WORDS = ("off", "none")
MAX_RUNS = 60  # a sweep is a click: keep it to what a laptop trains in minutes


class SweepError(ValueError):
    """A sweep that can't be queued; `problems` are plain sentences naming the fix."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def knobs() -> list[str]:
    """Every knob a sweep can vary: numeric config fields and every technique setting."""
    return list(NUMERIC_FIELDS) + ["seed"] + list(shorthands())


def _param(knob: str):
    tech, param = shorthands()[knob]
    return tech, next(p for p in technique_class(tech).params if p.name == param)


def own_costs(sweep: Sweep) -> list[Metric]:
    """The costs the techniques of this sweep declare (ε for a sweep of the privacy noise):
    the second axis its curve opens on."""
    names = set((sweep.base.get("techniques") or {}))
    if sweep.knob in shorthands():
        names.add(shorthands()[sweep.knob][0])
    return [m for name in sorted(names) if name in TECHNIQUES
            for m in technique_class(name).metrics if m.pareto == "cost"]


def _kind(knob: str) -> type | None:
    """int, float, or None for a choice (text) setting."""
    if knob in FIELDS:
        annotation = RunConfig.model_fields[knob].annotation
        return annotation if annotation in (int, float) else None
    _, p = _param(knob)
    return None if p.choices is not None or isinstance(p.default, str) else type(p.default)


def _number(text: str, knob: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SweepError([f"{knob}: {text!r} is not a number"]) from None


def parse_values(knob: str, text: str) -> list[Any]:
    """"0,0.5,1,2" or a range "start:stop:step" (stop included) into typed values.

    A technique knob also takes "off" (that technique switched off), and 0 for a setting
    whose smallest allowed value is above 0 (e.g. dp_noise=0: no privacy noise at all).
    """
    if knob not in knobs():
        raise SweepError([f"{knob}: can't be swept; choose one of {', '.join(knobs())}"])
    text = (text or "").strip()
    if not text:
        raise SweepError([f"{knob}: give values to try, e.g. {knob}=1,2,4 or {knob}=1:10:3"])
    kind = _kind(knob)
    if ":" in text and kind is not None:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) != 3:
            raise SweepError([f"{knob}: a range is start:stop:step, e.g. 0:2:0.5 "
                              f"(you gave {text!r})"])
        start, stop, step = (_number(p, knob) for p in parts)
        if step <= 0 or stop < start:
            raise SweepError([f"{knob}: a range needs start <= stop and a step above 0 "
                              f"(you gave {text!r})"])
        count = int(math.floor((stop - start) / step + 1e-9)) + 1
        if count > MAX_RUNS:
            raise SweepError([f"{knob}: that range has {count} values; at most {MAX_RUNS}"])
        raw = [start + i * step for i in range(count)]
        raw = [round(v, 10) for v in raw]
    else:
        raw = [p.strip() for p in text.split(",") if p.strip()]
    values: list[Any] = []
    for item in raw:
        if isinstance(item, str) and item.lower() in OFF_WORDS:
            if knob in FIELDS:
                raise SweepError([f"{knob}: can't be switched off; give values"])
            values.append("off")
            continue
        if kind is None:
            values.append(item)
            continue
        number = item if isinstance(item, float) else _number(item, knob)
        if kind is int:
            if number != int(number):
                raise SweepError([f"{knob}: must be whole numbers (you gave {item!r})"])
            number = int(number)
        values.append(number)
    seen: list[Any] = []
    for v in values:
        if v in seen:
            raise SweepError([f"{knob}: {v!r} is listed twice; each value once"])
        seen.append(v)
    return values


def _apply(base: dict[str, Any], knob: str, value: Any) -> dict[str, Any]:
    values = dict(base)
    # Nested settings (as the Train page gives them) are copied: each run gets its own.
    values["techniques"] = {k: dict(v) for k, v in (base.get("techniques") or {}).items()}
    if knob in FIELDS:
        values[knob] = value
        return values
    tech, p = _param(knob)
    off = value == "off" or (isinstance(value, (int, float)) and value == 0
                             and p.min is not None and p.min > 0)
    if off:  # this technique switched off: drop all of its settings
        for flat, (t, _) in shorthands().items():
            if t == tech:
                values.pop(flat, None)
        values["techniques"].pop(tech, None)
    else:
        values[knob] = value
    return values


@dataclass
class SweepPlan:
    knob: str
    values: list[Any]
    seeds: list[int]
    base: dict[str, Any]
    configs: list[tuple[Any, int, RunConfig]] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.configs)


def plan_sweep(base: dict[str, Any] | RunConfig, knob: str, values: list[Any] | str,
               seeds: int = 1) -> SweepPlan:
    """Every config of the sweep, validated; SweepError lists every refused one."""
    base = config_values(base) if isinstance(base, RunConfig) else dict(base)
    if isinstance(values, str):
        values = parse_values(knob, values)
    if not values:
        raise SweepError([f"{knob}: give at least one value to try"])
    if not 1 <= int(seeds) <= 10:
        raise SweepError([f"seeds: between 1 and 10 (you gave {seeds})"])
    if knob == "seed" and seeds > 1:
        raise SweepError(["seeds: when the knob is the seed itself, repeat over 1 seed"])
    first_seed = int(base.get("seed", RunConfig.model_fields["seed"].default))
    seed_list = [first_seed + i for i in range(int(seeds))]
    if len(values) * len(seed_list) > MAX_RUNS:
        raise SweepError([f"a sweep may queue at most {MAX_RUNS} runs; this one would queue "
                          f"{len(values) * len(seed_list)} (fewer values or seeds)"])
    plan = SweepPlan(knob, list(values), seed_list, base)
    problems: list[str] = []
    for seed in seed_list:
        for value in values:
            flat = _apply(base, knob, value)
            if knob != "seed":
                flat["seed"] = seed
            try:
                plan.configs.append((value, seed, make_config(**flat)))
            except ConfigError as exc:
                problems += [f"{knob}={value}: {p}" for p in exc.problems]
    if problems:
        raise SweepError(list(dict.fromkeys(problems)))
    return plan


# -- the manifest ----------------------------------------------------------------------

@dataclass
class SweepRun:
    run_id: str
    value: Any
    seed: int


@dataclass
class Sweep:
    id: str
    knob: str
    values: list[Any]
    seeds: list[int]
    base: dict[str, Any]
    created: float
    runs: list[SweepRun]

    @property
    def title(self) -> str:
        shown = ", ".join("off" if v == "off" else f"{v:g}" if isinstance(v, float) else str(v)
                          for v in self.values)
        seeds = f" × {len(self.seeds)} seeds" if len(self.seeds) > 1 else ""
        return (f"{self.base.get('dataset')} · {self.base.get('model')}: "
                f"{self.knob} = {shown}{seeds}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _dir(store) -> Path:
    path = Path(store.home) / "sweeps"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(store, sweep: Sweep) -> None:
    write_json(_dir(store) / f"{sweep.id}.json", sweep.to_json(), indent=1)


def start_sweep(store, plan: SweepPlan, actor: Actor = OPERATOR) -> Sweep:
    """Queue every run of the plan (in value order, seed by seed) and write the manifest,
    as `actor`: the operator outside workshops; in a workshop only its presenter (a sweep
    is many runs at once, past any person's cap), whose runs go into the workshop. Refused
    (nothing queued) for anyone else, visitors included. Each run goes through the one
    entry, `submit_as`."""
    check(actor, "sweep", Place(actor.workspace, actor.name, actor.person))
    configs = [config for _, _, config in plan.configs]
    admit_all(store, actor, configs, len(configs))  # all or nothing (a presenter's lesson)
    sweep = Sweep(uuid.uuid4().hex[:8], plan.knob, plan.values, plan.seeds, plan.base,
                  time.time(), [])
    shared: dict[str, str] = {}  # a run trained first (a new teacher) serves every value
    for value, seed, config in plan.configs:
        sweep.runs.append(SweepRun(submit_as(store, actor, config, reuse=shared).run_id,
                                   value, seed))
    _write(store, sweep)
    return sweep


def _from_json(data: dict[str, Any]) -> Sweep:
    data = dict(data)
    data["runs"] = [SweepRun(**r) for r in data.get("runs", [])]
    return Sweep(**data)


def get_sweep(store, sweep_id: str) -> Sweep | None:
    path = _dir(store) / f"{sweep_id}.json"
    if not sweep_id.isalnum() or not path.exists():
        return None
    return _from_json(json.loads(path.read_text()))


def list_sweeps(store) -> list[Sweep]:
    """Newest first. A manifest that can't be read is skipped, never fatal."""
    sweeps = []
    for path in _dir(store).glob("*.json"):
        try:
            sweeps.append(_from_json(json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            continue
    return sorted(sweeps, key=lambda s: s.created, reverse=True)


def sweep_of_run(store, run_id: str) -> Sweep | None:
    return next((s for s in list_sweeps(store) if any(r.run_id == run_id for r in s.runs)),
                None)


def sweep_rows(store, sweep: Sweep) -> list[dict[str, Any]]:
    """One row per run of the sweep: its value, seed, status and (when finished) every
    declared metric it has, keyed as in the metric registry."""

    rows = []
    for i, r in enumerate(sweep.runs):
        run = store.get(r.run_id)
        row: dict[str, Any] = {"run_id": r.run_id, "value": r.value, "seed": r.seed,
                               "order": sweep.values.index(r.value) if r.value in sweep.values
                               else i, "status": run.status if run else "deleted"}
        if run is not None and run.status == "finished":
            row.update(run_point(run).values)  # every declared metric it has, as shipped
        rows.append(row)
    return rows


def seed_verdicts(rows: list[dict[str, Any]], knob: str) -> list[str]:
    """With several seeds, luck said out loud: the seed band (the widest spread of accuracy
    across seeds of one value) and each value against the first, within or beyond it.
    [] with one seed or fewer than two values finished."""
    by_value: dict[Any, list[float]] = {}
    for r in sorted(rows, key=lambda r: r["order"]):
        if (acc := r.get(ACCURACY.key)) is not None:
            by_value.setdefault(r["value"], []).append(acc)
    bands = {v: band for v, accs in by_value.items() if (band := seed_band(accs)) is not None}
    if not bands or len(by_value) < 2:
        return []
    widest = max(bands.values(), key=lambda b: b.width)
    (first, base), *others = by_value.items()
    mean = sum(base) / len(base)
    out = [f"Luck alone moved accuracy by up to {widest.width * 100:.1f} points here: "
           f"{widest.words()}."]
    for value, accs in others:
        diff = sum(accs) / len(accs) - mean
        verdict = ("beyond luck" if not within_band(diff, widest) else "within luck")
        out.append(f"{setting_title(knob)} {value} against {first}: "
                   f"{'+' if diff >= 0 else '−'}{abs(diff) * 100:.1f} points on average, "
                   f"{verdict}.")
    return out
