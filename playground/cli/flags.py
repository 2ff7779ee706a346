"""What the CLI's commands share: run flags, the store, progress and output."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from playground.runs.store import Store
from playground.training.config import RunConfig, shorthands
from playground.training.techniques import technique_class

CONFIG_FLAGS = {
    "dataset": str, "model": str, "epochs": int, "lr": float, "batch_size": int, "seed": int,
    "width": int, "depth": int, "noise": float, "train_fraction": float, "device": str,
    "attack_strength": float, "classes": str, "imbalance": float, "rare_classes": str,
    "sensitive": str, "leave_out": str,
}


def _store(args):
    return Store(args.home)


class ProgressBar:
    """A one-line progress bar on stderr for foreground training."""

    def __init__(self, label: str, enabled: bool):
        self.label = label
        self.enabled = enabled
        self.last = ""
        self.note = ""

    def draw(self, fraction: float, note: str = "") -> None:
        if not self.enabled:
            return
        self.note = note or self.note  # keep the last epoch's news on the line
        filled = int(fraction * 30)
        line = f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} {self.note}"
        if line != self.last:
            sys.stderr.write(line)
            sys.stderr.flush()
            self.last = line

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _summary(data: dict[str, Any]) -> str:
    m = data.get("metrics") or {}
    if data["status"] != "finished":
        return f"run {data['run_id']}: {data['status']} {data.get('error') or ''}".strip()
    return (
        f"run {data['run_id']} finished: accuracy {m['accuracy']:.1%}, macro F1 "
        f"{m['f1_macro']:.3f}, {m['params']:,} parameters, {m['size_bytes']:,} bytes, "
        f"{m['latency_ms']:.2f} ms per prediction, trained in {m['train_seconds']:.1f} s "
        f"on {m['device']}"
    )


def _emit(args, data: Any, text: str) -> None:
    if args.json:
        print(json.dumps(data))
    else:
        print(text)


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    """The flags that describe one run: settings, technique switches, --target, --json."""
    fields = RunConfig.model_fields
    for name, kind in CONFIG_FLAGS.items():
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, dest=name, type=kind, default=None,
                            help=f"{fields[name].description} (default {fields[name].default})")
    for flat, (name, param) in shorthands().items():
        p = next(p for p in technique_class(name).params if p.name == param)
        if isinstance(p.default, bool):  # a switch: the flag alone turns it on
            parser.add_argument(p.flag, dest=flat, default=None, action="store_const",
                                const=True, help=f"{technique_class(name).title}: {p.help}")
            continue
        parser.add_argument(
            p.flag, dest=flat, default=None, choices=p.choices,
            type=None if p.choices else type(p.default),
            help=f"switch on {technique_class(name).title}: {p.help} (e.g. {p.default})")
    parser.add_argument("--target", default=None,
                        help="with --dataset path/to/file.csv: the column to predict")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
