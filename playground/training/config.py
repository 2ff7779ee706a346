"""Run configuration: a validated object, stored with every run.

An invalid value is refused with a message that names the field and what is allowed,
the same message in the UI, the CLI and the Python API.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from models.base import MODELS, model_info
from playground.data.builtin import DATASETS
from playground.data.catalog import (
    dataset_exists,
    dataset_info,
    load_dataset,
    sensitive_problem,
    uploaded_dataset_infos,
)
from playground.data.uploads import columns_beside_text
from playground.data.views import (
    class_positions,
    column_names,
    keep_classes,
    leave_out_problem,
    rare_positions,
)
from playground.training import techniques as T


class ConfigError(ValueError):
    """A config the playground refuses; `problems` holds one plain sentence per field."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: str = Field("digits", description="Which dataset to learn from: a built-in one "
                         "or one you uploaded (the CLI also takes a .csv or .zip path).")
    model: str = Field("cnn", description="Which model family to train.")
    epochs: int = Field(10, ge=1, le=200, description="Passes over the training data.")
    lr: float = Field(0.01, gt=0, le=1, description="Learning rate: the step size.")
    batch_size: int = Field(64, ge=1, le=4096, description="Examples per training step.")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Fixes splits and initial weights.")
    width: int = Field(64, ge=4, le=1024, description="Neurons per hidden layer (MLP, ViT).")
    depth: int = Field(2, ge=1, le=8, description="Hidden layers (MLP) or blocks (ViT).")
    noise: float = Field(0.2, ge=0, le=1, description="Noise of the generated 2-D sets.")
    train_fraction: float = Field(
        1.0, ge=0.05, le=1, description="Share of the training examples used (less data "
        "shows what scarce data does); validation and test sets stay whole.")
    classes: str = Field(
        "", description="Keep only these classes, by label or position: a range such as "
        "0-4 or a list such as 1,3,7 (empty: all); the others leave every split.")
    imbalance: float = Field(
        1.0, ge=0.01, le=1, description="Make some classes rare in the training data: they "
        "keep this share of their training examples (1: as they come); validation and test "
        "stay as they are.")
    rare_classes: str = Field(
        "", description="Which classes the imbalance makes rare, by label or position "
        "(empty: the second half of the classes; of two, the last).")
    sensitive: str = Field(
        "", description="The column that says which group each example belongs to (such as "
        "an age band); the run reports its accuracy and decisions group by group. Empty: the "
        "dataset's own, if it has one.")
    leave_out: str = Field(
        "", description="Columns of your table the model must not see, by name, separated "
        "by commas (e.g. gender); they can still be the sensitive column, so the run is "
        "audited by a column it never used.")
    attack_strength: float = Field(
        0.1, ge=0.01, le=1, description="How far the robustness audit's attacker may move "
        "each pixel (on a 0-1 scale) or standardised feature to fool the finished model.")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="Where to train.")
    techniques: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Switched-on techniques and their settings.")

    @model_validator(mode="after")
    def _known_and_compatible(self) -> "RunConfig":
        if not dataset_exists(self.dataset):  # built in, or uploaded (PLAYGROUND_HOME/data)
            names = DATASETS.names() + [d.name for d in uploaded_dataset_infos()]
            raise ValueError(
                f"dataset: unknown dataset {self.dataset!r}; choose one of {', '.join(names)}"
            )
        if self.model not in MODELS:
            raise ValueError(
                f"model: unknown model {self.model!r}; choose one of {', '.join(MODELS.names())}"
            )
        kind = dataset_info(self.dataset).kind
        info = model_info(self.model)
        if kind not in info.kinds:
            fits = [m for m in MODELS.names() if kind in model_info(m).kinds]
            raise ValueError(
                f"model: {info.title} works on {' and '.join(info.kinds)} data, but "
                f"{self.dataset} is {kind} data; choose one of {', '.join(fits)}"
            )
        if self.classes or (self.imbalance < 1 and self.rare_classes):
            self._check_classes()
        if self.sensitive and (problem := sensitive_problem(self.dataset, self.sensitive)):
            raise ValueError(problem)
        if self.leave_out and (problem := leave_out_problem(
                load_dataset(self.dataset, self.seed, self.noise), self.leave_out)):
            raise ValueError(problem)
        if kind == "text" and not info.takes_columns and (beside := columns_beside_text(
                self.dataset, column_names(self.leave_out))):
            fits = [model_info(m).title for m in MODELS.names() if model_info(m).takes_columns]
            raise ValueError(
                f"model: {info.title} reads only the text of {self.dataset}; leave its other "
                f"columns out of the model ({', '.join(beside)}), or choose "
                f"{' or '.join(fits)}, which read them beside the words")
        problems = [p for t in T.build(self.techniques) for p in t.check(self)]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _check_classes(self) -> None:
        data = load_dataset(self.dataset, self.seed, self.noise)  # cached per process
        kept = class_positions(self.classes, data.class_names)
        if self.classes and len(kept) < 2:
            raise ValueError("classes: keep at least two classes (a model needs a choice "
                             "to make), e.g. 0-4")
        data = keep_classes(data, kept)
        rare = rare_positions(self, data)
        if len(rare) >= data.n_classes:
            raise ValueError("rare_classes: leave at least one class common, or the data "
                             "is not imbalanced; name fewer classes")

    @field_validator("techniques")
    @classmethod
    def _techniques(cls, value: dict, info: ValidationInfo) -> dict:
        # A field validator, so technique problems are reported beside other fields' ones.
        dataset = info.data.get("dataset")
        kind = dataset_info(dataset).kind if dataset_exists(dataset) else "image"
        checked = T.validate(value, kind)
        if checked.problems:
            raise ValueError("\n".join(checked.problems))
        return checked.settings  # defaults filled in

    def technique(self, name: str) -> dict[str, Any] | None:
        return self.techniques.get(name)

    def label(self) -> str:
        """A short human name for run lists."""
        parts = [self.dataset, self.model, f"{self.epochs} ep"]
        if self.classes:
            parts.append(f"classes {self.classes}")
        if self.imbalance < 1:
            parts.append(f"rare {self.rare_classes or 'half'} at {self.imbalance:.0%}")
        if self.train_fraction < 1:
            parts.append(f"{self.train_fraction:.0%} of data")
        if self.leave_out:
            parts.append("without " + ", ".join(column_names(self.leave_out)))
        for name, values in self.techniques.items():
            parts.append(_technique_words(name, values))
        return " · ".join(parts)


def _technique_words(name: str, values: dict[str, Any]) -> str:
    """A technique in a run's label, in words: its short name and the first setting that
    differs from its default ("privacy noise (target privacy budget ε 3)", "dropout 0.25")."""
    if name not in T.TECHNIQUES:
        return name.replace("_", " ")
    cls = T.TECHNIQUES.get(name)
    for p in cls.params:
        value = values.get(p.name, p.default)
        if value == p.default or isinstance(value, bool) or value in ("", None):
            continue
        shown = f"{value:g}" if isinstance(value, float) else p.word(value)
        return (f"{cls.words()} {shown}" if len(cls.params) == 1
                else f"{cls.words()} ({p.title().split(' (')[0].lower()} {shown})")
    return cls.words()


_RANGE_WORDS = {
    "greater_than_equal": "at least {ge}",
    "greater_than": "greater than {gt}",
    "less_than_equal": "at most {le}",
    "less_than": "less than {lt}",
}


# Fields whose names are not words; the rest read as their names with spaces.
_FIELD_WORDS = {"lr": "learning rate", "train_fraction": "share of training data",
                "sensitive": "sensitive attribute"}


def field_words(name: str) -> str:
    """A config field as the Train page and its messages name it."""
    return _FIELD_WORDS.get(name, name.replace("_", " "))


def _describe(error: dict[str, Any]) -> str:
    field = ".".join(field_words(str(p)) for p in error.get("loc", ())) or None
    ctx = error.get("ctx") or {}
    given = error.get("input")
    kind = error["type"]
    if kind in _RANGE_WORDS:
        allowed = _RANGE_WORDS[kind].format(**ctx)
        return f"{field}: must be {allowed} (you gave {given!r})"
    if kind == "extra_forbidden":
        return (f"{error.get('loc', ('?',))[0]}: is not a setting; known settings are "
                f"{', '.join(RunConfig.model_fields)}")
    if kind == "value_error":
        # Our own validators already phrase the message as "field: ...".
        return str(ctx.get("error", error["msg"]))
    if kind == "literal_error":
        return f"{field}: must be {ctx.get('expected')} (you gave {given!r})"
    if kind.endswith("_parsing") or kind.endswith("_type"):
        return f"{field}: {error['msg'].lower()} (you gave {given!r})"
    return f"{field}: {error['msg']}" if field else error["msg"]


def shorthands() -> dict[str, tuple[str, str]]:
    """Flat names for technique settings, e.g. dropout=0.2 -> techniques.dropout.rate."""
    return {p.flag.lstrip("-").replace("-", "_"): (cls.name, p.name)
            for cls in T.all_techniques() for p in cls.params if p.flag}


def setting_title(name: str, detail: bool = False) -> str:
    """A setting in words, by its flat name: dp_noise -> 'Privacy noise (DP-SGD): noise
    multiplier'. With `detail`, a config field reads as its description and the flat name
    follows in brackets (a sweep's choice of setting); without, a field reads as its name
    (a chart's axis)."""
    if name in shorthands():
        tech, param = shorthands()[name]
        title = f"{T.technique_class(tech).title}: {param.replace('_', ' ')}"
    elif detail and name in RunConfig.model_fields:
        title = RunConfig.model_fields[name].description.rstrip(".")
    else:
        title = name.replace("_", " ")
    return f"{title} ({name})" if detail else title


def make_config(**values: Any) -> RunConfig:
    """Build a RunConfig or raise ConfigError with one plain sentence per problem.

    Technique settings may be given flat (dropout=0.2, quantize="int8"), as the CLI does;
    a value of None leaves that technique off.
    """
    techniques = {k: dict(v) for k, v in (values.pop("techniques", None) or {}).items()}
    for flat, (name, param) in shorthands().items():
        if flat in values:
            value = values.pop(flat)
            if value is not None:
                techniques.setdefault(name, {})[param] = value
    try:
        return RunConfig(**values, techniques=techniques)
    except ValidationError as exc:
        problems = [line for e in exc.errors() for line in _describe(e).split("\n")]
        raise ConfigError(problems) from None


def config_from_json(data: dict[str, Any]) -> RunConfig:
    return make_config(**data)


def retrain_problems(config: RunConfig) -> list[str]:
    """Why a stored run could not be queued again as it is today (its uploaded dataset was
    deleted, a technique needs a GPU this machine lacks, a rule was tightened); empty: it
    can. Stored runs load without this check, so they always list."""
    try:
        make_config(**config.model_dump())
    except ConfigError as exc:
        return exc.problems
    return []


FIELDS = [name for name in RunConfig.model_fields if name != "techniques"]


def problem_setting(problem: str) -> str | None:
    """The flat setting a make_config problem is about ("learning rate: must be ..." -> lr,
    "Dropout: share switched off: ..." -> dropout), None for a combination of settings."""
    for flat, (tech, param) in shorthands().items():
        cls = T.technique_class(tech)
        title = next(p for p in cls.params if p.name == param).title().lower()
        if problem.startswith(f"{cls.title}: {title}:"):
            return flat
    head = problem.split(":", 1)[0].strip()
    return next((f for f in FIELDS if head in (f, field_words(f))), None)


def flat_names() -> dict[tuple[str, str], str]:
    return {target: flat for flat, target in shorthands().items()}


def config_values(config: RunConfig) -> dict[str, Any]:
    """A config as flat values (the shape make_config and the Train page's preset take)."""
    values = config.model_dump(exclude={"techniques"})
    flat = flat_names()
    for tech, params in config.techniques.items():
        for param, value in params.items():
            key = flat.get((tech, param))
            if key is None:  # a setting without a flat name still travels nested
                values.setdefault("techniques", {}).setdefault(tech, {})[param] = value
            else:
                values[key] = value
    return values
