"""``descend train | evaluate | predict``: options, run directories, and one clear line for every
bad input."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from descend import cli
from descend.cli import main

from tables import run_cli, write_csv

FAST = ["--no_plots", "--no_tensorboard", "--hidden_layers", "16", "--batch_size", "32"]


def train(tmp_path, *args, name="run"):
    return main(["train", "--logdir", str(tmp_path / name), *FAST, *args])


def one_error_line(capsys, code, expected_code, pattern, multiline=False):
    """Exactly one error, on the last line(s) of stderr, after any notes; no traceback. A
    message that is several lines by design (``multiline``) keeps them."""
    out = capsys.readouterr()
    assert code == expected_code, out
    lines = out.err.strip().splitlines()
    errors = [i for i, line in enumerate(lines) if line.startswith("descend") and ": error: " in line]
    assert len(errors) == 1, out.err
    assert "Traceback" not in out.err
    first = errors[0]
    assert multiline or first == len(lines) - 1, out.err
    assert all(line.startswith(("Note:", "Run directory:", "Training ", "Resuming ")) for line in lines[:first]), out.err
    assert re.search(pattern, lines[first]), lines[first]
    return lines[first]


# ----------------------------------------------------------------------------- help

def test_help_explains_every_option(capsys):
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    for name in ("train", "evaluate", "predict"):
        assert name in top
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name in ("train", "evaluate", "predict"):  # the other areas' commands are tested there
        sub = subparsers.choices[name]
        assert main([name, "--help"]) == 0
        text = capsys.readouterr().out
        for action in sub._actions:
            if action.option_strings:
                assert action.help, (name, action.option_strings)
                assert action.option_strings[0] in text


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


def test_options_accept_dashes_and_underscores(tmp_path, regression_csv, capsys):
    assert train(tmp_path, "--data", str(regression_csv), "--target", "y", "--epochs", "1", name="a") == 0
    assert main(["train", "--logdir", str(tmp_path / "b"), "--no-plots", "--no-tensorboard", "--hidden-layers", "16",
                 "--batch-size", "32", "--data", str(regression_csv), "--target", "y", "--epochs", "1"]) == 0
    options_a = json.loads((tmp_path / "a" / "options.json").read_text())
    options_b = json.loads((tmp_path / "b" / "options.json").read_text())
    options_a["runtime"].pop("logdir"), options_b["runtime"].pop("logdir")
    assert options_a == options_b


# ----------------------------------------------------------------------------- tabular tasks learn

def test_regression_learns_and_evaluate_predict_use_the_stored_preprocessing(tmp_path, regression_csv, capsys):
    assert train(tmp_path, "--data", str(regression_csv), "--target", "y", "--epochs", "20",
                 "--optimizer", "Adam", "--learning_rate", "0.01") == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 21
    test_loss = float(re.search(r"test:loss=([0-9.]+)", out[-1]).group(1))
    assert test_loss < 0.1  # noise variance 0.01; the target's variance is about 6.5

    run = tmp_path / "run"
    assert main(["evaluate", str(run)]) == 0  # the stored split of the original file
    assert capsys.readouterr().out.strip().split(" ", 2)[2] == out[-1].split(" ", 2)[2]
    assert main(["predict", str(run / "checkpoint.safetensors"), "--data", str(regression_csv),
                 "--output", str(tmp_path / "pred.csv")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "pred.csv")))
    truth = list(csv.DictReader(open(regression_csv)))
    assert list(rows[0]) == ["prediction"] and len(rows) == len(truth)
    errors = [float(r["prediction"]) - float(t["y"]) for r, t in zip(rows, truth)]
    assert np.mean(np.square(errors)) < 0.1


def test_binary_learns_and_predicts_labels_with_probabilities(tmp_path, binary_csv, capsys):
    assert train(tmp_path, "--data", str(binary_csv), "--target", "label", "--epochs", "10",
                 "--optimizer", "Adam", "--learning_rate", "0.01") == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert float(re.search(r"test:loss=([0-9.]+)", last).group(1)) < 0.35  # 5 % label noise
    assert float(re.search(r"test:accuracy=([0-9.]+)", last).group(1)) > 0.9
    assert main(["predict", str(tmp_path / "run"), "--data", str(binary_csv)]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["prediction", "probability_0", "probability_1"]
    assert {r[0] for r in rows[1:]} <= {"0", "1"}


def test_multiclass_text_labels_round_trip(tmp_path, multiclass_csv, capsys):
    assert train(tmp_path, "--data", str(multiclass_csv), "--target", "animal", "--epochs", "5",
                 "--optimizer", "Adam", "--learning_rate", "0.01", "--label_smoothing", "0.1",
                 "--decay", "cosine", "--warmup_steps", "10") == 0
    out = capsys.readouterr().out.splitlines()
    assert all(" lr=" in line for line in out[:-1])  # a schedule: lr is printed first
    assert out[-2].split()[3] == "lr=0.0000"  # reaches lr_final (0) just after training
    assert main(["predict", str(tmp_path / "run"), "--data", str(multiclass_csv)]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["prediction", "probability_cat", "probability_dog", "probability_emu"]
    assert {r[0] for r in rows[1:]} <= {"cat", "dog", "emu"}


def test_same_seed_gives_identical_logs(tmp_path, multiclass_csv, capsys):
    for name in ("a", "b"):
        assert train(tmp_path, "--data", str(multiclass_csv), "--target", "animal", "--epochs", "3",
                     "--dropout", "0.3", "--seed", "7", name=name) == 0
    strip = lambda p: [re.sub(r" \d+\.\ds ", " ", line).replace(str(tmp_path), "") for line in  # noqa: E731
                       (p / "logs.txt").read_text().replace("/a", "/X").replace("/b", "/X").splitlines()]
    assert strip(tmp_path / "a") == strip(tmp_path / "b")
    assert train(tmp_path, "--data", str(multiclass_csv), "--target", "animal", "--epochs", "3",
                 "--dropout", "0.3", "--seed", "8", name="c") == 0
    assert strip(tmp_path / "a")[1:] != strip(tmp_path / "c")[1:]


def test_default_run_directory_name(tmp_path, regression_csv, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--data", str(regression_csv), "--target", "y", "--epochs", "1",
                 "--hidden_layers", "8", "--batch_size", "64"]) == 0
    (run,) = (tmp_path / "logs").iterdir()
    assert re.fullmatch(r"train-\d{4}-\d\d-\d\d_\d{6}-.*", run.name), run.name
    # dataset is "d" and data "da": abbreviations never collide
    assert "bs=64" in run.name and "hl=8" in run.name and "t=y" in run.name and "da=regression" in run.name
    assert {"logs.txt", "options.json", "metrics.csv", "checkpoint.safetensors", "loss.png", "lr.png"} <= {
        p.name for p in run.iterdir()}
    assert (run / "train").is_dir() and (run / "dev").is_dir() and (run / "test").is_dir()


def test_callbacks_from_the_command_line(tmp_path, multiclass_csv, capsys):
    assert train(tmp_path, "--data", str(multiclass_csv), "--target", "animal", "--epochs", "4",
                 "--early_stopping", "1", "--save_best", "--reduce_lr_on_plateau", "1", "--monitor", "dev:loss",
                 "--threads", "2") == 0
    capsys.readouterr()
    assert (tmp_path / "run" / "best.safetensors").is_file()
    assert main(["evaluate", str(tmp_path / "run" / "best.safetensors"), "--split", "dev"]) == 0
    assert capsys.readouterr().out.startswith("Evaluation ")


def test_resume_a_finished_or_interrupted_tabular_run(tmp_path, multiclass_csv, capsys):
    args = ["--data", str(multiclass_csv), "--target", "animal", "--epochs", "3", "--dropout", "0.2",
            "--checkpoint_every", "7"]
    assert train(tmp_path, *args, name="ref") == 0
    reference = (tmp_path / "ref" / "checkpoint.safetensors")
    capsys.readouterr()
    # A finished run: resuming only evaluates it again.
    assert main(["train", "--resume", str(tmp_path / "ref")]) == 0
    out = capsys.readouterr()
    assert "had finished" in out.err and out.out.startswith("Evaluation")
    assert reference.exists()


# ----------------------------------------------------------------------------- errors: one line each

@pytest.mark.parametrize("args, pattern", [
    (["--epochs", "0"], r"--epochs: must be a positive integer, got '0'"),
    (["--epochs", "ten"], r"--epochs: must be a positive integer, got 'ten'"),
    (["--batch_size", "-5"], r"--batch_size: must be a positive integer"),
    (["--learning_rate", "-0.1"], r"--learning_rate: must be a positive number, got '-0.1'"),
    (["--learning_rate", "nan"], r"--learning_rate: must be a positive number"),
    (["--dropout", "1.5"], r"--dropout: must be a number in \[0, 1\)"),
    (["--momentum", "1"], r"--momentum: must be a number in \[0, 1\)"),
    (["--label_smoothing", "-0.1"], r"--label_smoothing: must be a number in \[0, 1\)"),
    (["--weight_decay", "-1"], r"--weight_decay: must be a number >= 0"),
    (["--hidden_layers", "128", "0"], r"--hidden_layers: must be a positive integer, got '0'"),
    (["--dataset", "cifar10"], r"--dataset: invalid choice 'cifar10' \(choose from mnist, fashion_mnist\)"),
    (["--optimizer", "Adamax"], r"--optimizer: invalid choice 'Adamax'"),
    (["--activation", "gelu"], r"--activation: invalid choice 'gelu'"),
    (["--decay", "sometimes"], r"--decay: invalid choice 'sometimes'"),
    (["--threads", "-1"], r"--threads: must be an integer >= 0"),
    (["--frobnicate"], r"unrecognized arguments: --frobnicate"),
])
def test_bad_flag_values(args, pattern, capsys, tmp_path):
    code = main(["train", "--logdir", str(tmp_path / "run"), *args])
    one_error_line(capsys, code, 2, pattern)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, pattern", [
    (["--decay", "exponential"], r"--decay exponential needs --learning_rate_final > 0"),
    (["--learning_rate_final", "0.001"], r"--learning_rate_final needs --decay"),
    (["--decay", "linear", "--learning_rate_final", "0.5"], r"is above --learning_rate"),
    (["--optimizer", "Adam", "--momentum", "0.9"], r"--momentum applies to SGD"),
    (["--dataset", "mnist", "--data", "x.csv", "--target", "y"], r"either --dataset or --data"),
    (["--data", "x.csv"], r"--data needs --target COLUMN"),
    (["--target", "y"], r"--target needs --data"),
    (["--task", "binary"], r"--task applies to --data"),
])
def test_bad_combinations(args, pattern, capsys, tmp_path):
    one_error_line(capsys, main(["train", "--logdir", str(tmp_path / "run"), *args]), 1, pattern)


def test_missing_data_file(tmp_path, capsys):
    code = train(tmp_path, "--data", str(tmp_path / "missing.csv"), "--target", "y")
    one_error_line(capsys, code, 1, r"missing\.csv")


def test_missing_target_column(tmp_path, regression_csv, capsys):
    code = train(tmp_path, "--data", str(regression_csv), "--target", "price")
    one_error_line(capsys, code, 1, r"no target column 'price'.*'a', 'b', 'c', 'd', 'y'")


def test_nan_in_data(tmp_path, capsys):
    path = write_csv(tmp_path / "nan.csv", {"a": np.array([1.0, np.nan, 3.0, 4.0] * 10), "y": np.arange(40) * 0.5})
    code = train(tmp_path, "--data", str(path), "--target", "y")
    one_error_line(capsys, code, 1, r"(?i)nan|missing")


def test_non_numeric_feature(tmp_path, capsys):
    # 40 distinct texts: not categories (a column like ["x", "y"] * 20 is one-hot encoded)
    path = write_csv(tmp_path / "text.csv", {"a": np.array([f"x{i}" for i in range(40)]), "y": np.arange(40) * 0.5})
    one_error_line(capsys, train(tmp_path, "--data", str(path), "--target", "y"), 1, r"'a'")


def test_unknown_dataset_location(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DESCEND_DATA", raising=False)
    monkeypatch.setenv("DESCEND_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DESCEND_FASHION_MNIST_URL", "file:///nonexistent/")
    import descend.data.locations as locations

    monkeypatch.setattr(locations, "SYSTEM_DATA_DIRS", (tmp_path / "system",))
    code = train(tmp_path, "--dataset", "fashion_mnist", "--data_dir", str(tmp_path / "nowhere"))
    one_error_line(capsys, code, 1, r"(?i)fashion-mnist was not found", multiline=True)


def test_non_finite_loss_guard_names_epoch_and_step(tmp_path, regression_csv, capsys):
    code = train(tmp_path, "--data", str(regression_csv), "--target", "y", "--epochs", "3", "--learning_rate", "1e6")
    line = one_error_line(capsys, code, 1, r"(non-finite loss \((nan|inf)\)|the loss diverged) at epoch 1, step \d+")
    assert "training stopped" in line and "learning rate" in line
    assert re.search(r"Error: (non-finite loss|the loss diverged)", (tmp_path / "run" / "logs.txt").read_text())


def test_warmup_longer_than_training(tmp_path, regression_csv, capsys):
    code = train(tmp_path, "--data", str(regression_csv), "--target", "y", "--epochs", "1", "--warmup_steps", "1000")
    one_error_line(capsys, code, 1, r"--warmup_steps 1000 must be below the number of updates")


def test_logdir_with_a_run_needs_resume(tmp_path, regression_csv, capsys):
    assert train(tmp_path, "--data", str(regression_csv), "--target", "y", "--epochs", "1") == 0
    capsys.readouterr()
    code = train(tmp_path, "--data", str(regression_csv), "--target", "y", "--epochs", "1")
    one_error_line(capsys, code, 1, r"already holds a run.*--resume")


def test_resume_with_changed_options(tmp_path, regression_csv, capsys):
    assert train(tmp_path, "--data", str(regression_csv), "--target", "y", "--epochs", "1") == 0
    capsys.readouterr()
    code = main(["train", "--resume", str(tmp_path / "run"), "--epochs", "5", "--learning_rate", "0.5"])
    one_error_line(capsys, code, 1, r"--learning_rate differ from the options of the run being resumed")


def _truncated(tmp_path, regression_csv):
    assert train(tmp_path, "--data", str(regression_csv), "--target", "y", "--epochs", "1") == 0
    path = tmp_path / "run" / "checkpoint.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])
    return path


@pytest.mark.parametrize("command", ["evaluate", "predict", "resume"])
def test_truncated_checkpoint(command, tmp_path, regression_csv, capsys):
    path = _truncated(tmp_path, regression_csv)
    capsys.readouterr()
    argv = ["train", "--resume", str(path)] if command == "resume" else [command, str(path), "--data", str(regression_csv)]
    one_error_line(capsys, main(argv), 1, r"is truncated")


@pytest.mark.parametrize("command", ["evaluate", "predict", "resume"])
def test_foreign_file_as_checkpoint(command, tmp_path, regression_csv, capsys):
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": np.ones(2, np.float32)}, str(other))
    for path, pattern in ((regression_csv, r"not a descend checkpoint"), (other, r"not a descend checkpoint.*another program")):
        argv = ["train", "--resume", str(path)] if command == "resume" else [command, str(path)]
        one_error_line(capsys, main(argv), 1, pattern)


def test_missing_checkpoint(tmp_path, capsys):
    one_error_line(capsys, main(["evaluate", str(tmp_path / "nothing.safetensors")]), 1, r"does not exist")
    one_error_line(capsys, main(["evaluate", str(tmp_path)]), 1, r"directory without a checkpoint")


def test_evaluate_with_data_of_another_shape(tmp_path, regression_csv, binary_csv, capsys):
    assert train(tmp_path, "--data", str(regression_csv), "--target", "y", "--epochs", "1") == 0
    capsys.readouterr()
    code = main(["predict", str(tmp_path / "run"), "--data", str(binary_csv)])
    one_error_line(capsys, code, 1, r"missing feature column\(s\) 'd'")
    code = main(["evaluate", str(tmp_path / "run"), "--data", str(binary_csv)])
    one_error_line(capsys, code, 1, r"missing feature column|no target column")


def test_debug_shows_the_traceback(tmp_path, capsys):
    with pytest.raises(Exception):
        main(["train", "--debug", "--data", str(tmp_path / "missing.csv"), "--target", "y", "--logdir", str(tmp_path / "r")])


def test_real_entry_point_exit_status_and_streams(tmp_path):
    result = run_cli("train", "--epochs", "0")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "--epochs: must be a positive integer" in result.stderr
    result = run_cli("evaluate", str(tmp_path / "none.safetensors"))
    assert result.returncode == 1 and "Traceback" not in result.stderr and result.stderr.count("\n") == 1


# ----------------------------------------------------------------------------- registering commands

def test_other_areas_can_register_commands(capsys):
    calls = []

    def add_arguments(parser):
        cli.add_option(parser, "--num_runs", type=cli.positive_int, default=3, help="how many runs")

    def run(args):
        calls.append(args.num_runs)
        print(f"lab ran {args.num_runs} runs")
        return 0

    cli.register("labtest", add_arguments, run, help="a test command")
    try:
        assert main(["--help"]) == 0
        assert "labtest" in capsys.readouterr().out
        assert main(["labtest", "--num-runs", "5"]) == 0
        assert calls == [5] and capsys.readouterr().out == "lab ran 5 runs\n"
        assert main(["labtest", "--num_runs", "0"]) == 2
        assert "--num_runs: must be a positive integer" in capsys.readouterr().err
        with pytest.raises(ValueError, match="already registered"):
            cli.register("labtest", add_arguments, run)

        @cli.command("decorated", help="made with the decorator")
        def decorated(args):
            """Does nothing, successfully."""
            return 0

        assert main(["decorated"]) == 0
    finally:
        cli.COMMANDS.pop("labtest", None)
        cli.COMMANDS.pop("decorated", None)


def test_command_modules_are_discovered(tmp_path, monkeypatch, capsys):
    import sys

    import descend

    package = Path(descend.__file__).parent / "zz_cli_discovery_test"
    if package.exists():
        pytest.skip("leftover test package")
    package.mkdir()
    try:
        (package / "__init__.py").write_text("")
        (package / "commands.py").write_text(
            "from descend.cli import register\n"
            "register('discovered', lambda p: None, lambda args: print('found me') or 0, help='x')\n"
        )
        assert main(["discovered"]) == 0
        assert capsys.readouterr().out == "found me\n"
    finally:
        cli.COMMANDS.pop("discovered", None)
        sys.modules.pop("descend.zz_cli_discovery_test.commands", None)
        sys.modules.pop("descend.zz_cli_discovery_test", None)
        for p in sorted(package.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
        package.rmdir()
