"""What an explanation method is, and the one interface every method is called through.

    explain(subject, x, method, target, settings) -> Attribution (values shaped like x)

Every method explains the same number, the model's log-odds for the target class,
log(p / (1 - p)) computed straight from the logits as z_t - logsumexp(z_others), so their
maps can be compared and SHAP / Integrated Gradients sum to a change in it. Not the
probability (nor its log): a model that is "100% sure" has p stuck at 1.0 in float32, so
nudging an input moves nothing and Occlusion, Saliency and Integrated Gradients draw blank
maps; the log-odds keep moving (0 is a coin toss, +5 about 150 to 1 for the class).

A method is one module in this folder: a `Method` subclass decorated with `@register`,
carrying everything about it (title, the data kinds it explains, whether it needs
gradients, whether the picker switches it on by default, its settings, glossary terms and
the caption under its maps) and its `attribute` adapter over the real library.

`settings(name)` are the playground's settings (chosen to stay well under a second on a
CPU, measured against the libraries' own defaults in `make bench`); `library_defaults(name)`
are what each library does when given nothing.

Text is explained word by word: a method that says it explains text (`modality`) gets the
sentence itself (`attribute_text`) and returns one weight per word as typed (the run's
tokenizer's `words`), each the change in the same log-odds that the word is answerable for.
"""
from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np
import torch
from torch import nn

from playground.common.content import Term
from playground.common.registry import Registry
from playground.data.text_coder import TextCoder

KINDS = frozenset({"image", "tabular", "points"})  # numeric inputs: every method explains them
TEXT = "text"  # sentences: only methods that list it in their modality
TEXT_BATCH = 256  # sentences scored at once (a perturbation method sends thousands)


class GradientsUnavailable(ValueError):
    """A gradient method was asked to explain a model that has no gradients (int8)."""


def log_odds(logits: torch.Tensor) -> torch.Tensor:
    """log(p_t / (1 - p_t)) for every class t, without forming p (no saturation)."""
    n = logits.shape[1]
    eye = torch.eye(n, dtype=torch.bool, device=logits.device)
    others = logits.unsqueeze(1).expand(-1, n, n).masked_fill(eye, float("-inf"))
    return logits - torch.logsumexp(others, dim=2)


@dataclass
class Subject:
    """What is explained: a model plus what the methods need to know about its data."""

    model: nn.Module
    background: np.ndarray  # training examples: "typical inputs" for SHAP, statistics for LIME
    kind: str  # image, tabular or points
    feature_names: list[str]
    class_names: list[str]
    quantized: bool = False  # int8 weights: forward passes only, no gradients
    coder: TextCoder | None = None  # text: the run's tokenizer (sentences -> token ids)
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # per-subject set-up
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.background.shape[1:])

    def probs(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities for a batch shaped (n, *input_shape)."""
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
            return torch.softmax(self.model(t).float(), dim=1).numpy()

    def scores(self, X: np.ndarray) -> np.ndarray:
        """The explained quantity for every class: log-odds, (n, classes)."""
        with torch.no_grad():
            t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
            return log_odds(self.model(t).float()).numpy()

    def words(self, text: str) -> list[str]:
        """The sentence's words as typed, as far as the model reads (text subjects)."""
        return [w for w, _, _ in self.require_coder().words(text)]

    def text_scores(self, texts) -> np.ndarray:
        """Log-odds for every class of each sentence, (n, classes): the model after the run's
        own tokenizer, the classifier LIME and SHAP perturb."""
        ids = self.require_coder().encode([str(t) for t in texts])
        if not len(ids):
            return np.zeros((0, len(self.class_names)), np.float32)
        return np.concatenate([self.scores(ids[i:i + TEXT_BATCH])
                               for i in range(0, len(ids), TEXT_BATCH)])

    def require_coder(self) -> TextCoder:
        if self.coder is None:
            raise ValueError(f"this model reads {self.kind} data, not sentences")
        return self.coder

    def score_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        model = self.model
        return lambda t: log_odds(model(t))

    def remember(self, key: str, make: Callable[[], Any]) -> Any:
        """Set-up that depends only on the subject (e.g. a background summary), made once."""
        with self.lock:
            if key not in self.memo:
                self.memo[key] = make()
            return self.memo[key]


class About(Protocol):
    """What settings depend on: the data's kind and whether the model is int8 (a Subject,
    or anything with these two attributes)."""

    kind: str
    quantized: bool


@dataclass
class Attribution:
    method: str
    values: np.ndarray  # shaped like the input (text: one per word); positive = towards the
    # target class
    target: int
    seconds: float
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. convergence_delta, base_value;
    # text: "words", the words as typed that the values belong to

    @property
    def words(self) -> list[str] | None:
        """Text: the words the values weigh, in order; None for other inputs."""
        return self.extras.get("words")

    def to_json(self) -> dict[str, Any]:
        return {"method": self.method, "attributions": self.values.tolist(),
                "shape": list(self.values.shape), "target": self.target,
                "seconds": self.seconds, **self.extras}


class Method:
    """One explanation method. Subclasses set the class attributes and `attribute`."""

    name: str = ""  # its id: the CLI's --method, cache keys, the page's widget values
    title: str = ""
    order: int = 100  # where it stands in lists (the picker, the CLI's help)
    libraries: tuple[str, ...] = ()  # modules imported before timing (a first import is slow)
    modality: frozenset[str] = KINDS  # the data kinds it can explain
    needs_gradients: bool = False  # True: int8 models are refused, with the reason
    signed: bool = True  # False: the map shows only how much, not which way (Saliency)
    default_on: bool = False  # switched on in the picker when the page opens
    overall: bool = False  # the method behind each run's overall view (mean |attribution|)
    blurb: str = ""  # one plain sentence for the page
    check_meaning: str = ""  # what `note`'s check says, in plain words (the details view)
    defaults: dict[str, Any] = {}  # the playground's settings
    library_defaults: dict[str, Any] = {}  # what the library does when told nothing
    terms: tuple[Term, ...] = ()  # its words for the glossary (the first explains the method)

    def settings_for(self, values: dict[str, Any], about: About | None) -> dict[str, Any]:
        """The settings that matter for this subject (the others stay out of cache keys)."""
        return values

    def library_defaults_for(self, about: About | None) -> dict[str, Any]:
        return dict(self.library_defaults)

    def attribute(self, subject: Subject, x: np.ndarray, target: int,
                  settings: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        """(values shaped like x, extras) explaining the target's log-odds at x."""
        raise NotImplementedError

    def attribute_text(self, subject: Subject, text: str, target: int,
                       settings: dict[str, Any]) -> tuple[np.ndarray, dict[str, Any]]:
        """(one value per word of `subject.words(text)`, extras) explaining the target's
        log-odds for the sentence (methods whose modality lists text)."""
        raise NotImplementedError

    def note(self, attribution: Attribution) -> str:
        """What the caption under a map adds to its time: the method's own check."""
        return ""

    def explains(self, kind: str) -> bool:
        return kind in self.modality


METHODS: Registry[Method] = Registry("explanation method")


def register(cls: type[Method]) -> type[Method]:
    """Class decorator: registers one instance of the method under its name."""
    METHODS.register(cls.name)(cls())
    return cls


def method(name: str) -> Method:
    return METHODS.get(name)


def method_names(kind: str | None = None) -> list[str]:
    """Every method in its declared order (for `kind`: those that can explain it)."""
    found = [METHODS.get(n) for n in METHODS.names()]
    ordered = sorted(found, key=lambda m: (m.order, m.name))
    return [m.name for m in ordered if kind is None or m.explains(kind)]


def default_methods(kind: str | None = None) -> list[str]:
    """The methods the picker switches on when the page opens."""
    return [n for n in method_names(kind) if method(n).default_on]


def overall_method(kind: str | None = None) -> str:
    """The method behind each run's overall view."""
    for name in method_names(kind):
        if method(name).overall:
            return name
    raise LookupError("no registered explanation method offers the overall view")


def without_gradients(kind: str | None = None) -> list[str]:
    """Methods that can explain an int8 model (forward passes only)."""
    return [n for n in method_names(kind) if not method(n).needs_gradients]


def titles(names: list[str], last: str = "or") -> str:
    """'LIME, SHAP or Occlusion' (`last="and"`: 'LIME, SHAP and Occlusion')."""
    shown = [method(n).title for n in names]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} {last} {shown[-1]}"


def settings(name: str, subject: About | None = None, **overrides: Any) -> dict[str, Any]:
    """The playground's settings for a method, resolved for this subject (e.g. which SHAP)."""
    return method(name).settings_for({**method(name).defaults, **overrides}, subject)


def library_defaults(name: str, subject: About | None = None) -> dict[str, Any]:
    """What the library does when given nothing (None: the argument is not passed)."""
    resolved = settings(name, subject)
    defaults = method(name).library_defaults_for(subject)
    return {**resolved, **{k: v for k, v in defaults.items() if k in resolved}}


def explain(subject: Subject, x: np.ndarray | None, name: str, target: int,
            options: dict[str, Any] | None = None, text: str | None = None) -> Attribution:
    """Attribute the target class's log-odds under `subject.model` at `x` to x's features
    (text subjects: at the sentence `text`, to its words; x may be None)."""
    m = method(name)
    if not m.explains(subject.kind):
        raise ValueError(f"{m.title} does not explain {subject.kind} data; choose from "
                         f"{titles(method_names(subject.kind))}.")
    if m.needs_gradients and subject.quantized:
        raise GradientsUnavailable(
            f"{m.title} needs gradients, and an int8 model has none: its weights are whole "
            "numbers that PyTorch cannot differentiate. Explain it with "
            f"{titles(without_gradients(subject.kind))}, or explain the float model of the "
            "same run with gradient methods.")
    if subject.kind == TEXT:
        return _explain_text(subject, m, text, target, options)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.shape != subject.input_shape:
        raise ValueError(f"input has shape {x.shape}, the model expects {subject.input_shape}")
    opts = options if options is not None else settings(name, subject)
    for module in m.libraries:
        importlib.import_module(module)  # a first import is not part of the method's time
    start = time.perf_counter()
    values, extras = m.attribute(subject, x, int(target), opts)
    seconds = time.perf_counter() - start
    values = np.asarray(values, dtype=np.float32).reshape(x.shape)
    return Attribution(name, values, int(target), seconds, extras)


def _explain_text(subject: Subject, m: Method, text: str | None, target: int,
                  options: dict[str, Any] | None) -> Attribution:
    if text is None:
        raise ValueError("a text model is explained at a sentence; none was given")
    words = subject.words(text)
    if not words:
        raise ValueError("the sentence has no words the model reads; type a few words")
    opts = options if options is not None else settings(m.name, subject)
    for module in m.libraries:
        importlib.import_module(module)
    start = time.perf_counter()
    values, extras = m.attribute_text(subject, str(text), int(target), opts)
    seconds = time.perf_counter() - start
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if values.size != len(words):
        raise ValueError(f"{m.title} weighed {values.size} words of a {len(words)}-word "
                         "sentence")
    return Attribution(m.name, values, int(target), seconds, {**extras, "words": words})


def word_sums(coder: TextCoder, text: str, per_position: np.ndarray) -> np.ndarray:
    """Per-position values (one per token id) added up into the sentence's words: a word cut
    into several pieces gets their sum; [CLS], [SEP] and padding belong to no word."""
    owners = coder.word_of_position(text)
    out = np.zeros(len(coder.words(text)), dtype=np.float64)
    for value, word in zip(np.asarray(per_position, dtype=np.float64).ravel(), owners,
                           strict=True):
        if word is not None:
            out[word] += value
    return out
