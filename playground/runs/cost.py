"""What a run costs the server before it trains: the model's work per example × training
examples × epochs, and the same in words.

The work per example is the floating-point operations of one forward pass, counted by
PyTorch's own FLOP counter on a model built on the meta device (shapes only: no memory, no
weights, milliseconds). It tells a width-1024, depth-8 ViT (about 2.3 billion per picture)
from the default CNN (about 0.7 million) where epochs × examples could not. Costs are shown
against the default run (the settings a new visitor trains first), a unit anyone can feel.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from models.base import ModelSpec, build_model
from playground.data.base import Dataset
from playground.data.views import run_data
from playground.training.build import model_spec
from playground.training.config import RunConfig, make_config


@dataclass(frozen=True)
class Cost:
    """A run's cost: `work` operations per example, `parameters` in the model, over
    `examples` training examples for `epochs` passes."""

    work: float
    parameters: int
    examples: int
    epochs: int
    pictures: bool = False  # the examples are pictures (said so in words)

    @property
    def total(self) -> float:
        return self.work * self.examples * self.epochs


@functools.lru_cache(maxsize=256)
def _model_work(model: str, spec: ModelSpec) -> tuple[float, int]:
    """(operations of one forward pass on one example, parameters) of a model family at
    these settings, counted on the meta device."""
    with torch.device("meta"):
        net = build_model(model, spec)
    parameters = sum(p.numel() for p in net.parameters())
    try:
        with FlopCounterMode(display=False) as counter:
            net(torch.empty((1, *spec.input_shape), device="meta"))
        work = float(counter.get_total_flops())
    except Exception:  # a layer the counter can't follow: two operations per weight
        work = 0.0
    return max(work, 2.0 * parameters, 1.0), parameters


def run_cost(config: RunConfig, data: Dataset | None = None) -> Cost:
    """The cost of training `config` (its data loaded unless given)."""
    data = run_data(config) if data is None else data
    work, parameters = _model_work(config.model, model_spec(config, data))
    return Cost(work, parameters, len(data.y_train), config.epochs,
                data.info.kind == "image")


@functools.lru_cache(maxsize=1)
def default_cost() -> Cost:
    """The cost of the default run: the unit every cap and message is given in."""
    return run_cost(make_config())


def times_default(cost: Cost) -> float:
    """How many default runs' work `cost` is."""
    return cost.total / default_cost().total


def _amount(n: float) -> str:
    for size, word in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if n >= size:
            value = n / size
            return f"{value:.0f} {word}" if value >= 10 else f"{value:.1f} {word}"
    return f"{n:,.0f}"


def describe(cost: Cost) -> str:
    """The run's cost in words: "about 3,400 times the work of the default run: a network
    of 67 million parameters on 1,078 pictures for 10 rounds"."""
    times = times_default(cost)
    shown = f"{times:,.0f}" if times >= 10 else f"{times:.1f}".rstrip("0").rstrip(".")
    things = "pictures" if cost.pictures else "examples"
    return (f"about {shown} times the work of the default run: a network of "
            f"{_amount(cost.parameters)} parameters on {cost.examples:,} {things} for "
            f"{cost.epochs} round{'s' * (cost.epochs != 1)}")


def over_cap(cost: Cost, cap: float, who: str = "the workshop") -> str | None:
    """Why a run of `cost` is refused under a cap of `cap` default runs (None: it fits)."""
    if times_default(cost) <= cap:
        return None
    return (f"this run needs {describe(cost)}; {who} allows {cap:g} times. Use fewer rounds "
            "(epochs), a narrower or shallower model, or less data")
