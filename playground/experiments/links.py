"""The Train page's state as URL query parameters, so a link can carry a whole setup.

Keys are RunConfig field names (dataset, model, epochs, ...) plus the flat technique
shorthands of `playground.training.config.shorthands()` (dropout, dp_noise, quantize, ...);
`lock=a,b` shows those controls disabled and `hide=a,b` leaves them out (a lesson's
"only touch this one knob"). A switched-on technique is always named by its shorthands,
so every one of its settings survives the trip. Pure: no Streamlit here.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping
from urllib.parse import urlencode

from models.base import all_model_infos
from playground.data.catalog import dataset_info
from playground.training.config import (
    FIELDS,
    ConfigError,
    RunConfig,
    config_values,
    make_config,
    problem_setting,
    shorthands,
)
from playground.training.techniques import technique_class

SPECIAL = ("lock", "hide")
VIEW = "view"  # which view of Train the link opens (?view=all): the page's, not the run's
TRAIN_PATH = "/train"


def controls() -> list[str]:
    """Every name a link may set, lock or hide: config fields, then technique shorthands."""
    return FIELDS + list(shorthands())


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else f"{value:.1f}"
    return str(value)


def config_to_query(config: RunConfig | Mapping[str, Any], lock: Iterable[str] = (),
                    hide: Iterable[str] = ()) -> dict[str, str]:
    """Every field of `config` (a RunConfig or flat values) as strings for a query string."""
    if not isinstance(config, RunConfig):
        config = make_config(**dict(config))
    query = {k: _text(v) for k, v in config_values(config).items() if k != "techniques"}
    for name, extra in (("lock", lock), ("hide", hide)):
        names = [n for n in extra if n]
        if names:
            query[name] = ",".join(names)
    return query


def train_url(config: RunConfig | Mapping[str, Any], lock: Iterable[str] = (),
              hide: Iterable[str] = (), base: str = "") -> str:
    """A link that opens the Train page with this setup, e.g. "/train?dataset=digits&..."."""
    return f"{base.rstrip('/')}{TRAIN_PATH}?{urlencode(config_to_query(config, lock, hide))}"


def _parse(name: str, text: str) -> Any:
    """Turn one query value into the type its field or technique parameter expects."""
    if name in FIELDS:
        annotation = RunConfig.model_fields[name].annotation
        kind = annotation if annotation in (int, float) else str
    else:
        tech, param = shorthands()[name]
        p = next(p for p in technique_class(tech).params if p.name == param)
        if p.choices is not None:
            return text  # compared as given; the technique says which choices exist
        kind = type(p.default)
    if kind is bool:  # a switch, e.g. freeze_features=true
        words = {"true": True, "1": True, "yes": True, "on": True,
                 "false": False, "0": False, "no": False, "off": False}
        if text.lower() not in words:
            raise ValueError(f"{name}: must be true or false (you gave {text!r})")
        return words[text.lower()]
    if kind is int:
        as_float = float(text)
        if as_float != int(as_float):
            raise ValueError(f"{name}: must be a whole number (you gave {text!r})")
        return int(as_float)
    if kind is float:
        return float(text)
    return text


# The model each kind of data starts with: the quickest that shows something worth seeing
# (on the review sentences a bag of words trains in seconds to ~73 %; the tiny BERT takes
# over a minute for a few points more).
FIRST_MODELS = ("cnn", "mlp", "bow")


def first_model(names: list[str]) -> str:
    """Of the models that fit some data, the one offered first."""
    return next((n for n in FIRST_MODELS if n in names), names[0])


def default_model(dataset: str) -> str:
    """The model the Train page offers first for this dataset's kind of data."""

    kind = dataset_info(dataset).kind
    return first_model([m.name for m in all_model_infos() if kind in m.kinds])


def with_model(values: Mapping[str, Any]) -> dict[str, Any]:
    """Values with a model that fits the dataset when they name a dataset but no model."""
    out = dict(values)
    if "dataset" in out and "model" not in out:
        try:
            out["model"] = default_model(out["dataset"])
        except (KeyError, ValueError):
            pass  # an unknown dataset: make_config says so
    return out


def _names_list(text: str, key: str, problems: list[str]) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = set(controls())
    for n in names:
        if n not in known:
            problems.append(f"{key}: {n!r} is not a control; use one of {', '.join(controls())}")
    return [n for n in names if n in known]


def _problem_key(problem: str) -> str | None:
    """The query key a make_config problem is about ("dp.noise_multiplier: ..." -> dp_noise)."""
    return problem_setting(problem)


def query_to_values(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Flat values (plus "lock"/"hide" lists) from query parameters, and plain-language
    problems for anything that could not be used. Unusable keys are dropped, so the rest
    of a link still works; what is returned always makes a valid config."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    known = set(controls())
    for key, raw in params.items():
        text = raw[-1] if isinstance(raw, (list, tuple)) else raw
        text = "" if text is None else str(text).strip()
        if key in SPECIAL:
            values[key] = _names_list(text, key, problems)
            continue
        if key == VIEW:
            continue
        if key not in known:
            problems.append(f"{key}: is not a setting; known settings are "
                            f"{', '.join(controls())}")
            continue
        try:
            values[key] = _parse(key, text)
        except ValueError as exc:
            message = str(exc)
            problems.append(message if message.startswith(f"{key}:") else
                            f"{key}: {text!r} is not a number")
    special = {k: values.pop(k) for k in SPECIAL if k in values}
    # Drop the keys make_config refuses, one round at a time, so what is left is valid.
    for _ in range(len(values) + 1):
        try:
            make_config(**with_model(values))
            break
        except ConfigError as exc:
            dropped = False
            for problem in exc.problems:
                key = _problem_key(problem)
                if key in values:
                    values.pop(key)
                    problems.append(problem)
                    dropped = True
            if not dropped:  # a combination problem: keep the link's non-technique fields
                problems.extend(exc.problems)
                flat = set(shorthands())
                kept = {k: v for k, v in values.items() if k not in flat}
                values = kept if kept != values else {}
    return {**values, **special}, problems
