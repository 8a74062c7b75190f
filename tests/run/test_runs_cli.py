"""Runs you can trust, from the command line: nothing lost, nothing overwritten, everything said.

Each test here failed on descend 0.1 (issues 11 and 12): two runs in one directory, a user's
files overwritten, an unknown --monitor found after an epoch, predictions written over the
checkpoint, runs that could not be extended, a silent run directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from descend.cli import main
from descend.run.rundir import RunDirectory

from tables import REPO, write_csv

FAST = ["--no_plots", "--no_tensorboard", "--hidden_layers", "8", "--batch_size", "64"]


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 3))
    label = (x[:, 0] - x[:, 1] > 0).astype(int)
    return write_csv(tmp_path / "table.csv", {"a": x[:, 0].round(4), "b": x[:, 1].round(4),
                                              "c": x[:, 2].round(4), "label": label})


def train(tmp_path: Path, table: Path, *args: str, name: str = "run") -> int:
    return main(["train", "--data", str(table), "--target", "label", "--logdir", str(tmp_path / name), *FAST, *args])


# ------------------------------------------------------------------------------ run directories
def test_a_run_directory_in_use_is_refused(tmp_path, table, capsys):
    held = RunDirectory.claim_new(tmp_path / "run")  # another run is training there
    try:
        assert train(tmp_path, table, "--epochs", "1") == 1
    finally:
        held.release()
    assert "in use by another descend process" in capsys.readouterr().err
    assert os.listdir(tmp_path / "run") == []


def test_an_existing_directory_is_never_overwritten(tmp_path, table, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "logs.txt").write_text("my notes\n")
    assert train(tmp_path, table, "--epochs", "1") == 1
    assert "not empty" in capsys.readouterr().err
    assert (run / "logs.txt").read_text() == "my notes\n" and sorted(os.listdir(run)) == ["logs.txt"]


def test_a_finished_run_is_replaced_only_with_overwrite(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "1") == 0
    before = (tmp_path / "run" / "checkpoint.safetensors").read_bytes()
    assert train(tmp_path, table, "--epochs", "1", "--seed", "2") == 1
    assert "--resume" in capsys.readouterr().err
    assert (tmp_path / "run" / "checkpoint.safetensors").read_bytes() == before
    assert train(tmp_path, table, "--epochs", "1", "--seed", "2", "--overwrite") == 0
    assert (tmp_path / "run" / "checkpoint.safetensors").read_bytes() != before


def test_start_up_failures_leave_no_directory(tmp_path, table, capsys):
    code = main(["train", "--data", str(tmp_path / "missing.csv"), "--target", "y", "--logdir", str(tmp_path / "a")])
    assert code == 1 and not (tmp_path / "a").exists()
    assert train(tmp_path, table, "--epochs", "1", "--warmup_steps", "1000", name="b") == 1
    assert "--warmup_steps" in capsys.readouterr().err and not (tmp_path / "b").exists()


def test_an_unknown_monitor_is_refused_before_anything_is_read_or_written(tmp_path, table, capsys):
    start = time.perf_counter()
    assert train(tmp_path, table, "--early_stopping", "2", "--monitor", "dev:acuracy") == 1
    err = capsys.readouterr().err
    assert "did you mean 'accuracy'" in err and not (tmp_path / "run").exists()
    assert train(tmp_path, table, "--early_stopping", "2", "--monitor", "dev:mse") == 1
    assert "binary task produces the metrics loss, accuracy" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    assert time.perf_counter() - start < 20


def test_logdir_that_is_empty_text_or_a_file(tmp_path, table, capsys):
    assert main(["train", "--logdir", ""]) == 2
    assert "--logdir: must be a non-empty directory" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert train(tmp_path, table, name="file") == 1
    assert "is a file, not a directory" in capsys.readouterr().err


def test_the_run_directory_is_printed_at_start_and_end(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "1") == 0
    err = capsys.readouterr().err
    assert err.count(f"Run directory: {tmp_path / 'run'}") == 2


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path, table, monkeypatch, capsys):
    import descend.run.training as training

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(training, "run_name", lambda *args, **kwargs: "train-same-second")
    for seed in ("1", "2"):
        assert main(["train", "--data", str(table), "--target", "label", *FAST, "--epochs", "1", "--seed", seed]) == 0
    assert sorted(os.listdir(tmp_path / "logs")) == ["train-same-second", "train-same-second.2"]


# ------------------------------------------------------------------------------ predictions
def test_predict_never_replaces_an_input(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "1") == 0
    checkpoint = tmp_path / "run" / "checkpoint.safetensors"
    before = checkpoint.read_bytes()
    for target in (checkpoint, table):
        assert main(["predict", str(tmp_path / "run"), "--data", str(table), "-o", str(target)]) == 1
        assert "is an input of this command" in capsys.readouterr().err
    assert checkpoint.read_bytes() == before


def test_predict_replaces_a_symlink_instead_of_following_it(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "1") == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "out.csv"
    link.symlink_to(victim)
    assert main(["predict", str(tmp_path / "run"), "--data", str(table), "-o", str(link)]) == 0
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink() and link.read_text().startswith("prediction,")


# ------------------------------------------------------------------------------ resume and extend
def test_resume_extends_a_finished_run(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "2") == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "3"]) == 0
    out = capsys.readouterr()
    assert "Epoch 3/3" in out.out and "Epoch 1/" not in out.out
    rows = (tmp_path / "run" / "metrics.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 3


def test_extending_a_decaying_schedule_needs_the_schedule_again(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "2", "--decay", "cosine") == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "4"]) == 1
    assert "give the schedule again" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "4", "--decay", "cosine"]) == 0
    assert "Epoch 4/4" in capsys.readouterr().out


def test_resume_refuses_changed_options(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "1") == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "run"), "--learning_rate", "0.5"]) == 1
    assert "--learning_rate differ from the options of the run being resumed" in capsys.readouterr().err


def test_options_json_is_the_config_and_round_trips(tmp_path, table, capsys):
    from descend.run import RunConfig

    assert train(tmp_path, table, "--epochs", "1", "--variant", "lecture", "--optimizer", "Adam",
                 "--learning_rate", "0.01") == 0
    stored = json.loads((tmp_path / "run" / "options.json").read_text())
    config = RunConfig.from_dict(stored)
    assert config.optimizer.variant == "lecture" and config.to_dict() == stored


def test_lecture_variant_and_plain_momentum_reach_the_optimizer(tmp_path, table, capsys):
    from descend.run import RunConfig
    from descend.run.training import prepare

    prep = prepare(RunConfig.from_flat({"data": str(table), "target": "label", "momentum": 0.9, "nesterov": False,
                                        "variant": "lecture", "hidden_layers": (4,)}))
    group = prep.optimizer.param_groups[0]
    assert prep.optimizer.variant == "lecture" and group["nesterov"] is False and group["momentum"] == 0.9
    prep = prepare(RunConfig.from_flat({"data": str(table), "target": "label", "momentum": 0.9}))
    assert prep.optimizer.param_groups[0]["nesterov"] is True  # the course's meaning of --momentum


def test_evaluate_and_predict_use_the_data_location_stored_with_the_run(tmp_path, monkeypatch):
    from descend.run import builders, runs

    seen = {}

    def fake_load(name, data_dir=None, **kwargs):
        seen["data_dir"] = data_dir
        raise RuntimeError("stop here")

    monkeypatch.setattr("descend.data.load_dataset", fake_load)
    config = __import__("descend.run", fromlist=["RunConfig"]).RunConfig.from_flat({"data_dir": "/srv/mnist"})

    class Splits:
        classes = tuple(range(10))
        task = "multiclass"
        input_shape = (28, 28)
        name = "mnist"
        schema = None

    description = builders.data_description(config, Splits())
    assert description["data_dir"] == "/srv/mnist"
    run = runs.Run(Path("x"), config, None, None, description, {"input_shape": [28, 28]})
    with pytest.raises(RuntimeError, match="stop here"):
        runs.run_data(run)
    assert seen["data_dir"] == "/srv/mnist"


# ------------------------------------------------------------------------------ signals
def _slow_table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6000, 20))
    y = (x[:, 0] > 0).astype(int)
    return write_csv(tmp_path / "slow.csv", {**{f"x{i}": x[:, i].round(3) for i in range(20)}, "y": y})


def test_sigterm_checkpoints_and_says_how_to_resume(tmp_path):
    table = _slow_table(tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "descend", "train", "--data", str(table), "--target", "y", "--logdir",
         str(tmp_path / "run"), "--no_plots", "--no_tensorboard", "--hidden_layers", "256", "256", "--batch_size", "8",
         "--epochs", "50", "--checkpoint_every", "20"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "run" / "checkpoint.safetensors").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert f"continue with: descend train --resume {tmp_path / 'run'}" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------ runs of descend 0.1
def test_a_run_written_by_descend_0_1_resumes_and_extends(tmp_path, capsys):
    """tests/fixtures/runs/v0_1 was written by `descend train` before the run configuration
    existed (a flat options.json, the options inside the checkpoint); its table has moved."""
    import shutil

    fixtures = REPO / "tests" / "fixtures" / "runs"
    run = tmp_path / "old"
    shutil.copytree(fixtures / "v0_1", run)
    table = shutil.copy(fixtures / "tiny.csv", tmp_path / "tiny.csv")
    if not Path(json.loads((run / "options.json").read_text())["data"]).exists():  # moved (not on its maker's machine)
        assert main(["train", "--resume", str(run), "--epochs", "2"]) == 1
        assert "no longer exists; give its new location with --data FILE" in capsys.readouterr().err
    assert main(["train", "--resume", str(run), "--epochs", "2", "--data", str(table)]) == 0
    out = capsys.readouterr()
    assert "Epoch 2/2" in out.out and "Epoch 1/" not in out.out
    assert len((run / "metrics.csv").read_text().strip().splitlines()) == 1 + 2
    assert main(["evaluate", str(run), "--data", str(table)]) == 0


def test_resume_refuses_a_different_table(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "1") == 0
    other = tmp_path / "other.csv"
    other.write_text(table.read_text().replace("label", "label", 1).replace("\n0.", "\n9.", 5))
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--data", str(other)]) == 1
    assert "is not the table the run was trained on" in capsys.readouterr().err


def test_resume_after_the_table_moved_asks_for_its_new_location(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "1") == 0
    moved = table.rename(tmp_path / "moved.csv")
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2"]) == 1
    assert "no longer exists; give its new location with --data FILE" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2", "--data", str(moved)]) == 0


def test_a_full_disk_names_the_file_keeps_the_checkpoint_and_says_how_to_resume(tmp_path, table, monkeypatch, capsys):
    import errno

    import descend.fileio as fileio

    real = fileio.atomic_writer
    writes = {"n": 0}

    def full_after_first_checkpoint(path, *args, **kwargs):
        if str(path).endswith("checkpoint.safetensors"):
            writes["n"] += 1
            if writes["n"] > 1:
                raise fileio.WriteError(errno.ENOSPC, f"could not write {path}: No space left on device; its previous "
                                        "version is intact", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(fileio, "atomic_writer", full_after_first_checkpoint)
    assert train(tmp_path, table, "--epochs", "3") == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "checkpoint.safetensors" in err
    assert f"continue with: descend train --resume {tmp_path / 'run'}" in err
    monkeypatch.setattr(fileio, "atomic_writer", real)
    assert main(["train", "--resume", str(tmp_path / "run")]) == 0  # the kept checkpoint is good


def test_predict_onto_a_full_disk_keeps_the_old_output(tmp_path, table, monkeypatch, capsys):
    import errno

    import descend.fileio as fileio

    assert train(tmp_path, table, "--epochs", "1") == 0
    output = tmp_path / "predictions.csv"
    output.write_text("old predictions\n")
    real_fdopen = fileio.os.fdopen

    class Full:
        def __init__(self, file):
            self.file = file

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.file, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

    monkeypatch.setattr(fileio.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    assert main(["predict", str(tmp_path / "run"), "--data", str(table), "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert f"could not write {output}: No space left on device; its previous version is intact" in err
    assert output.read_text() == "old predictions\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_symlinked_log_file_is_never_followed(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "1") == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    logs = tmp_path / "run" / "logs.txt"
    logs.unlink()
    logs.symlink_to(victim)
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "run"), "--epochs", "2"]) == 1
    assert "it is a symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "precious\n"


# ------------------------------------------------------------------------------ your own table, quick checks
def test_a_table_with_a_target_around_1e5_learns_and_predicts_in_its_units(tmp_path, capsys):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(800, 3))
    price = 200_000 + 50_000 * x[:, 0] - 20_000 * x[:, 1] + 1_000 * rng.normal(size=800)
    houses = write_csv(tmp_path / "houses.csv", {"area": x[:, 0].round(4), "rooms": x[:, 1].round(4),
                                                 "noise": x[:, 2].round(4), "price": price.round(0)})
    assert main(["train", "--data", str(houses), "--target", "price", "--logdir", str(tmp_path / "run"), *FAST,
                 "--optimizer", "Adam", "--learning_rate", "0.01", "--epochs", "15"]) == 0
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), "--data", str(houses), "-o", str(tmp_path / "p.csv")]) == 0
    predicted = np.loadtxt(tmp_path / "p.csv", skiprows=1)
    assert np.median(np.abs(predicted - price) / price) < 0.05  # in dollars, not standardised units


def test_a_smoke_run_takes_a_few_batches_per_epoch(tmp_path, table, capsys):
    assert train(tmp_path, table, "--epochs", "2", "--limit_batches", "2", "--batch_size", "8") == 0
    from descend.train.checkpoint import read_metadata

    state = read_metadata(tmp_path / "run" / "checkpoint.safetensors")
    assert state["global_step"] == 4  # 2 epochs x 2 batches, not 2 x 60


def test_a_target_that_switches_the_task_is_announced(tmp_path, table, capsys):
    text = table.read_text().splitlines()
    header, rows = text[0], text[1:]
    rows[5] = rows[5].rsplit(",", 1)[0] + ",-1"  # one -1 among the 0/1 labels
    odd = tmp_path / "odd.csv"
    odd.write_text("\n".join([header, *rows]) + "\n")
    assert train(tmp_path, odd, "--epochs", "1") == 0
    err = capsys.readouterr().err
    assert any(line.startswith("Note:") and "-1" in line for line in err.splitlines()), err


def test_two_runs_started_into_one_directory_never_clobber_each_other(tmp_path, table):
    """The issue's scenario: the same command twice, a moment apart, into one --logdir."""
    run = tmp_path / "run"
    commands = [
        [sys.executable, "-m", "descend", "train", "--data", str(table), "--target", "label", "--logdir", str(run),
         "--no_plots", "--no_tensorboard", "--hidden_layers", "64", "--batch_size", "8", "--epochs", "3", "--seed", seed]
        for seed in ("1", "2")
    ]
    first = subprocess.Popen(commands[0], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while not (run / "options.json").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    second = subprocess.run(commands[1], cwd=REPO, capture_output=True, text=True, timeout=120)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert second.returncode == 1 and "Traceback" not in second.stderr
    assert "in use by another descend process" in second.stderr or "already holds a run" in second.stderr
    options = json.loads((run / "options.json").read_text())
    assert options["training"]["seed"] == 1  # the first run's, complete
    assert len((run / "metrics.csv").read_text().strip().splitlines()) == 1 + 3
