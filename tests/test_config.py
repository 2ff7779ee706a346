"""Config validation: a refused value names its field and says what is allowed.

The same sentences reach the user from the UI, the Python API and the CLI.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from models.base import MODELS, all_model_infos, model_info
from playground.data.builtin import DATASETS
from playground.data.catalog import all_dataset_infos, dataset_info
from playground.training.config import (
    ConfigError,
    RunConfig,
    config_from_json,
    make_config,
    problem_setting,
)

ROOT = Path(__file__).resolve().parent.parent


def problems_of(**values) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        make_config(**values)
    assert caught.value.problems, "a refusal must say why"
    assert str(caught.value) == "; ".join(caught.value.problems)
    return caught.value.problems


def only_problem(**values) -> str:
    problems = problems_of(**values)
    assert len(problems) == 1, problems
    return problems[0]


def test_defaults_are_valid_and_every_field_has_a_description():
    config = make_config()
    assert isinstance(config, RunConfig)
    assert config.dataset in DATASETS and config.model in MODELS
    assert dataset_info(config.dataset).kind in model_info(config.model).kinds
    for name, field in RunConfig.model_fields.items():
        assert field.description, name


@pytest.mark.parametrize("value", [0, -1, -100])
def test_epochs_below_one(value):
    problem = only_problem(epochs=value)
    assert problem.startswith("epochs:")
    assert "at least 1" in problem and repr(value) in problem


def test_epochs_above_the_limit():
    limit = next(m.le for m in RunConfig.model_fields["epochs"].metadata if hasattr(m, "le"))
    problem = only_problem(epochs=limit + 1)
    assert problem.startswith("epochs:") and f"at most {limit}" in problem
    assert make_config(epochs=limit).epochs == limit


@pytest.mark.parametrize("value", [-0.1, 0, 0.0])
def test_learning_rate_must_be_positive(value):
    problem = only_problem(lr=value)
    assert problem.startswith("learning rate:") and "greater than 0" in problem


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1.5])
def test_learning_rate_nan_inf_and_too_large_are_refused(value):
    assert only_problem(lr=value).startswith("learning rate:")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("dropout", 0.95, "at most 0.9"),
        ("dropout", -0.1, "at least 0"),
        ("batch_size", 0, "at least 1"),
        ("width", 2, "at least 4"),
        ("depth", 9, "at most 8"),
        ("seed", -1, "at least 0"),
        ("noise", 1.5, "at most 1"),
    ],
)
def test_range_limits_name_field_and_bound(field, value, words):
    problem = only_problem(**{field: value})
    # The problem names the setting in words (a technique's by its title and the setting's
    # label), and the words lead back to the setting a link or the CLI would give.
    assert problem_setting(problem) == field and words in problem
    assert "_" not in problem.split(":")[0] and "." not in problem.split(":")[0]


def test_several_bad_fields_each_get_their_own_sentence():
    problems = problems_of(epochs=0, lr=-1, dropout=2)
    assert sorted(problem_setting(p) for p in problems) == ["dropout", "epochs", "lr"]
    assert [p for p in problems if p.startswith("Dropout: share switched off:")]


def test_cnn_on_tabular_data_is_refused_with_the_models_that_fit():
    problem = only_problem(dataset="wine", model="cnn")
    assert problem.startswith("model:")
    assert "image" in problem and "tabular" in problem and "wine" in problem
    fitting = [m.name for m in all_model_infos() if "tabular" in m.kinds]
    assert fitting and "cnn" not in fitting
    allowed = problem.split("choose one of", 1)[1]
    assert [name.strip() for name in allowed.split(",")] == fitting


def test_every_model_dataset_pair_is_accepted_exactly_when_kinds_match():
    for m in all_model_infos():
        for d in all_dataset_infos():
            if d.kind in m.kinds:
                assert make_config(dataset=d.name, model=m.name).model == m.name
            else:
                assert only_problem(dataset=d.name, model=m.name).startswith("model:")


def test_unknown_dataset_lists_the_known_ones():
    problem = only_problem(dataset="mnist")
    assert problem.startswith("dataset:") and "'mnist'" in problem
    assert all(name in problem for name in DATASETS.names())


def test_unknown_model_lists_the_known_ones():
    problem = only_problem(model="resnet")
    assert problem.startswith("model:") and "'resnet'" in problem
    assert all(name in problem for name in MODELS.names())


def test_unknown_extra_field_is_refused_and_known_settings_listed():
    problem = only_problem(colour="red")
    assert problem.startswith("colour:") and "not a setting" in problem
    assert all(name in problem for name in RunConfig.model_fields)


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [("epochs", "ten", "integer"), ("epochs", [3], "integer"), ("lr", "fast", "number"),
     ("dataset", 5, "string")],
)
def test_wrong_type_names_field_and_expected_type(field, value, words):
    problem = only_problem(**{field: value})
    assert problem_setting(problem) == field and words in problem.lower()
    assert repr(value) in problem


def test_device_must_be_one_of_the_choices():
    problem = only_problem(device="tpu")
    assert problem.startswith("device:")
    assert all(repr(choice) in problem for choice in ("auto", "cpu", "cuda"))


def test_config_is_frozen_and_round_trips_through_json():
    config = make_config(dataset="moons", model="mlp", epochs=3, dropout=0.25, noise=0.1)
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error
        config.epochs = 5
    assert config_from_json(config.model_dump()) == config
    assert RunConfig.model_validate_json(config.model_dump_json()) == config
    assert "dropout 0.25" in config.label() and "dropout" not in make_config().label()


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "playground", "--home", str(home), "train", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "field", "words"),
    [
        (["--epochs", "0"], "epochs", "at least 1"),
        (["--lr", "-0.5"], "learning rate", "greater than 0"),
        (["--dataset", "wine", "--model", "cnn"], "model", "choose one of"),
    ],
)
def test_cli_refuses_the_same_with_exit_code_2(tmp_path: Path, args, field, words):
    result = run_cli(tmp_path / "home", *args, "--json")
    assert result.returncode == 2
    assert result.stdout == ""
    assert f"error: {field}:" in result.stderr and words in result.stderr
    # Nothing was queued or trained for a refused config.
    db = tmp_path / "home" / "runs.sqlite"
    if db.exists():
        from playground.runs.store import Store

        assert Store(tmp_path / "home").list_runs() == []


def test_cli_refuses_a_wrong_type_with_exit_code_2(tmp_path: Path):
    result = run_cli(tmp_path / "home", "--epochs", "ten")
    assert result.returncode == 2 and result.stdout == ""
    assert "--epochs" in result.stderr and "'ten'" in result.stderr
