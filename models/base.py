"""What a model family is: its spec, its description, and the registry of families."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn

from playground.common.registry import Registry


@dataclass(frozen=True)
class ModelSpec:
    """Everything a builder needs: the data's shape and the user's settings."""

    input_shape: tuple[int, ...]  # one example, e.g. (1, 8, 8) or (30,)
    n_classes: int
    dropout: float = 0.0
    width: int = 64
    depth: int = 2
    vocab_size: int = 0  # text: the tokenizer's vocabulary (inputs are token ids, 0 = padding)
    extra_features: int = 0  # text: standardised inputs after the token ids (other columns)


@dataclass(frozen=True)
class ModelInfo:
    name: str
    title: str
    kinds: tuple[str, ...]  # dataset kinds it accepts: image, tabular, points, text
    description: str
    build: Callable[[ModelSpec], nn.Module]
    uses_width_depth: bool = False
    linear: bool = False  # draws only straight decision boundaries
    default_lr: float = 0.01
    # The output layer: the dotted name of the module that turns features into one score
    # per class (what transfer learning replaces when the classes change). Sequential
    # families name it by position, which depends on their depth: hence a function.
    head: Callable[[nn.Module], str] | None = None  # None: its last Linear layer
    # Text: also reads a table's number and category columns beside the words.
    takes_columns: bool = False


def last_linear(model: nn.Module) -> str:
    """The dotted name of a model's last Linear layer: the output layer of every family
    here that builds a plain stack of layers."""
    names = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not names:
        raise ValueError("the model has no Linear layer to use as its output layer")
    return names[-1]


def head_name(name: str, model: nn.Module) -> str:
    """The dotted name of family `name`'s output layer in `model`."""
    return (MODELS.get(name).head or last_linear)(model)


MODELS: Registry[ModelInfo] = Registry("model")


def register(info: ModelInfo) -> ModelInfo:
    MODELS.register(info.name)(info)
    return info


def model_info(name: str) -> ModelInfo:
    return MODELS.get(name)


def all_model_infos() -> list[ModelInfo]:
    return [MODELS.get(n) for n in MODELS.names()]


def build_model(name: str, spec: ModelSpec) -> nn.Module:
    return MODELS.get(name).build(spec)
