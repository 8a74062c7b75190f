"""The run configuration: defaults, kinds, rules, round trips, and the CLI generated from it."""

from __future__ import annotations

import argparse
import json

import pytest

from descend.run.arguments import add_config_arguments, given_options
from descend.run.config import SECTIONS, ConfigError, RunConfig, field_infos
from descend.run.naming import abbreviations, create_unique_directory, run_name

# A configuration that differs from the defaults in every section.
EXAMPLE = {
    "data": "houses.csv", "target": "price", "task": "regression", "drop": ("id",),
    "hidden_layers": (64, 32), "activation": "tanh", "dropout": 0.25,
    "optimizer": "SGD", "learning_rate": 0.1, "momentum": 0.9, "nesterov": False, "variant": "lecture",
    "weight_decay": 1e-4, "decay": "cosine", "learning_rate_final": 1e-3, "warmup_steps": 10,
    "early_stopping": 3, "monitor": "dev:loss", "save_best": True, "reduce_lr_on_plateau": 2,
    "reduce_lr_factor": 0.5, "epochs": 7, "batch_size": 32, "seed": 3, "limit_batches": 5,
    "logdir": "runs/x", "checkpoint_every": 100, "threads": 2, "tensorboard": False, "plots": False,
    "progress": False,
}


def test_round_trip_through_json_is_exact():
    config = RunConfig.from_flat(EXAMPLE)
    text = json.dumps(config.to_dict())
    assert RunConfig.from_dict(json.loads(text)) == config
    assert RunConfig.from_dict(RunConfig().to_dict()) == RunConfig()


def test_flat_view_and_given():
    config = RunConfig.from_flat(EXAMPLE)
    for name, value in EXAMPLE.items():
        assert config.get(name) == value
    infos = field_infos()
    assert set(config.given()) == {k for k, v in EXAMPLE.items() if v != infos[k].default}
    assert RunConfig().given() == {}


def test_option_names_are_unique_and_every_section_is_covered():
    infos = field_infos()
    assert {info.section for info in infos.values()} == {name for name, _ in SECTIONS}
    flags = [f for info in infos.values() for f in (info.flag, *info.aliases)]
    assert len(flags) == len(set(flags))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser)
    return parser


def test_every_cli_option_is_a_config_field_with_the_same_default():
    parser = _parser()
    dests = {a.dest for a in parser._actions if a.option_strings and a.dest != "help"}
    assert dests == set(field_infos())
    # nothing given: the configuration's defaults
    assert RunConfig.from_flat(given_options(parser.parse_args([]))) == RunConfig()
    help_text = parser.format_help()
    for info in field_infos().values():
        assert info.flag in help_text


def test_cli_round_trip_through_to_argv():
    config = RunConfig.from_flat(EXAMPLE)
    argv = config.to_argv(include_runtime=True)
    parsed = RunConfig.from_flat(given_options(_parser().parse_args(argv)))
    assert parsed == config


@pytest.mark.parametrize("values, message", [
    ({"learnin_rate": 0.1}, "did you mean 'learning_rate'"),
    ({"optimizer": "adamm"}, "did you mean 'Adam'?"),
    ({"learning_rate": -1.0}, "--learning_rate: must be a positive number"),
    ({"learning_rate": float("nan")}, "--learning_rate"),
    ({"epochs": 0}, "--epochs: must be a positive integer"),
    ({"dropout": 1.0}, "--dropout"),
    ({"data": "t.csv"}, "--data needs --target"),
    ({"target": "y"}, "--target needs --data"),
    ({"data": "t.csv", "target": "y", "dataset": "mnist"}, "either --dataset or --data"),
    ({"task": "binary"}, "--task applies to --data"),
    ({"decay": "exponential"}, "needs --learning_rate_final > 0"),
    ({"learning_rate_final": 0.1}, "needs --decay"),
    ({"decay": "linear", "learning_rate_final": 1.0}, "a decay goes down"),
    ({"optimizer": "Adam", "momentum": 0.9}, "--momentum applies to SGD"),
    ({"nesterov": False}, "give --momentum too"),
    ({"monitor": "dev:acuracy", "early_stopping": 2}, "did you mean 'accuracy'"),
    ({"monitor": "test:accuracy", "early_stopping": 2}, "the split must be dev"),
])
def test_invalid_configurations_are_refused_with_the_fix(values, message):
    with pytest.raises(ConfigError, match=None) as error:
        RunConfig.from_flat(values)
    assert message in str(error.value)


def test_monitor_the_task_cannot_produce_is_refused():
    from descend.train.tasks import get_task

    config = RunConfig.from_flat({"monitor": "dev:mse", "early_stopping": 2})
    with pytest.raises(ConfigError, match="multiclass task produces the metrics loss, accuracy"):
        config.check_task(get_task("multiclass"))
    config.check_task(get_task("regression"))
    with pytest.raises(ConfigError, match="needs a dev split"):
        config.check_task(get_task("regression"), has_dev=False)
    with pytest.raises(ConfigError, match="label_smoothing"):
        RunConfig.from_flat({"label_smoothing": 0.1}).check_task(get_task("regression"))


def test_version_1_options_json_is_read():
    v1 = {
        "dataset": "mnist", "hidden_layers": [128], "activation": "relu", "dropout": 0.0, "optimizer": "SGD",
        "learning_rate": 0.01, "momentum": 0.0, "decay": "none", "warmup_steps": 0, "label_smoothing": 0.0,
        "epochs": 10, "batch_size": 50, "seed": 42, "threads": 1, "monitor": None, "reduce_lr_factor": 0.1,
        "task": "auto", "decay_power": 2.0, "no_tensorboard": True, "logdir": "logs/x", "command": "train",
        "learning_rate_final": None, "data": None, "target": None,
    }
    config = RunConfig.from_dict(v1)
    assert config.runtime.tensorboard is False
    assert config.training.epochs == 10 and config.data.dataset == "mnist"


def test_unknown_versions_and_options_are_explained():
    with pytest.raises(ConfigError, match="version 99"):
        RunConfig.from_dict({"version": 99})
    with pytest.raises(ConfigError, match="does not know: frobnicate"):
        RunConfig.from_dict({"frobnicate": 1})
    with pytest.raises(ConfigError, match="belongs to the section 'model'"):
        RunConfig.from_dict({"version": 2, "data": {"hidden_layers": [1]}})


def test_abbreviations_never_collide():
    names = [n for n, info in field_infos().items() if info.names_run]
    table = abbreviations(names)
    assert len(set(table.values())) == len(names)
    assert table["dataset"] != table["decay"]
    assert table["batch_size"] == "bs"


def test_run_names_and_unique_directories(tmp_path):
    name = run_name("train", {"dataset": "mnist", "decay": "cosine", "epochs": 3}, ["dataset", "decay", "epochs"])
    assert "d=mnist" in name and "de=cosine" in name and "e=3" in name
    first = create_unique_directory(tmp_path, name)
    second = create_unique_directory(tmp_path, name)  # the same second
    assert first != second and first.is_dir() and second.is_dir()


def test_docs_cli_lists_every_option():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    missing = [info.flag for info in field_infos().values() if f"`{info.flag}" not in text]
    assert missing == []
