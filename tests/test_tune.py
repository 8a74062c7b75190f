"""``descend tune``: search spaces, their errors, a study end to end on a small generated table,
two workers sharing one journal storage, reproducing the best trial, and resuming."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from descend.tune import SearchSpaceError, parse_space

optuna = pytest.importorskip("optuna", reason="descend tune needs Optuna: pip install 'descend[tune]'")

from descend import cli  # noqa: E402
from descend.tune.options import split_train_options, train_options  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--epochs", "3", "--batch_size", "20", "--no_plots", "--no_tensorboard", "--threads", "1"]


@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    """600 examples, 6 features, 3 classes (a noisy linear rule): trains in ~0.05 s per epoch."""
    path = tmp_path_factory.mktemp("data") / "table.csv"
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 6))
    w = rng.normal(size=6)
    y = (x @ w + 0.5 * rng.normal(size=600) > 0).astype(int) + (x[:, 0] > 1).astype(int)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"x{i}" for i in range(6)] + ["label"])
        for row, label in zip(x, y):
            writer.writerow([f"{v:.5f}" for v in row] + [label])
    return path


def tune(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["tune", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_trials(directory: Path) -> list[dict[str, str]]:
    with open(directory / "trials.csv", newline="") as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- spaces
def test_every_search_space_form_parses():
    s = parse_space("--learning_rate", "learning_rate", "loguniform:1e-4:1e-1", float)
    assert (s.kind, s.low, s.high, s.log) == ("loguniform", 1e-4, 1e-1, True)
    s = parse_space("--dropout", "dropout", "uniform:0:0.5:0.1", float)
    assert (s.kind, s.low, s.high, s.step) == ("uniform", 0.0, 0.5, 0.1)
    s = parse_space("--epochs", "epochs", "int:1:9:2", int, integer=True)
    assert (s.kind, s.low, s.high, s.step) == ("int", 1, 9, 2)
    s = parse_space("--batch_size", "batch_size", "logint:16:256", int, integer=True)
    assert s.log and s.low == 16
    s = parse_space("--hidden_layers", "hidden_layers", "choice:64,128,256", int, integer=True)
    assert s.choices == [64, 128, 256]
    s = parse_space("--optimizer", "optimizer", "choice:SGD,Adam", str)
    assert s.choices == ["SGD", "Adam"]


@pytest.mark.parametrize("spec,message", [
    ("loguniform:1e-4", "loguniform takes loguniform:LOW:HIGH"),
    ("loguniform:0:1", "needs LOW > 0"),
    ("uniform:1:0", "LOW (1) is greater than HIGH (0)"),
    ("uniform:0:1:0.3", "multiple of STEP"),
    ("uniform:a:1", "LOW 'a' is not a number"),
    ("logunifrom:1e-4:1e-1", "unknown search space kind 'logunifrom'"),
    ("choice:", "a choice needs one or more non-empty values"),
    ("choice:0.1,,0.2", "a choice needs one or more non-empty values"),
    ("choice:0.1,0.1", "listed twice"),
])
def test_bad_search_spaces_name_the_option_and_the_accepted_forms(spec, message):
    with pytest.raises(SearchSpaceError) as info:
        parse_space("--learning_rate", "learning_rate", spec, float)
    assert message in str(info.value)
    assert "--learning_rate" in str(info.value)


def test_choice_values_are_checked_against_the_option():
    options = train_options()

    def split(**given):
        import argparse

        args = argparse.Namespace(**{k: None for k in options})
        for k, v in given.items():
            setattr(args, k, v)
        return split_train_options(args, options)

    with pytest.raises(SearchSpaceError, match=r"--optimizer choice:SGD,Adamm: 'Adamm' is not a valid value"):
        split(optimizer="choice:SGD,Adamm")
    with pytest.raises(SearchSpaceError, match="--hidden_layers takes integers"):
        split(hidden_layers=["uniform:10:100"])
    with pytest.raises(SearchSpaceError, match="--epochs choice:1,two"):
        split(epochs="choice:1,two")
    result = split(hidden_layers=["choice:8,32 32"], save_best="choice:true,false", learning_rate="0.1")
    assert result.spaces[0].choices == [8, "32 32"]
    assert result.fixed == ["--learning_rate", "0.1"]
    assert result.options["hidden_layers"].tokens("32 32") == ["--hidden_layers", "32", "32"]
    assert result.options["save_best"].tokens(False) == []


def test_command_line_errors_are_one_clear_line(capsys, table, tmp_path):
    base = ["--data", str(table), "--target", "label", *FAST, "--logdir", str(tmp_path / "t")]
    code, _, err = tune(capsys, *base, "--learning_rate", "loguniform:1e-4")
    assert code == 1 and "--learning_rate loguniform:1e-4" in err and "uniform:LOW:HIGH[:STEP]" in err
    code, _, err = tune(capsys, *base)
    assert code == 1 and "nothing to search" in err
    code, _, err = tune(capsys, *base, "--optimizer", "choice:SGD,Adam", "--momentum", "0.9")
    assert code == 1 and "some trials would be invalid" in err and "--optimizer Adam" in err
    code, _, err = tune(capsys, *base, "--learning_rate", "fast")
    assert code == 1 and "--learning_rate 'fast' is neither a valid value" in err
    code, _, err = tune(capsys, *base, "--learning_rate", "loguniform:1e-3:1e-1", "--storage", "ftp://x")
    assert code == 1 and "is not a storage this version understands" in err


# ----------------------------------------------------------------------------- a study
def test_a_study_writes_its_results_and_the_best_trial_is_reproducible(capsys, table, tmp_path):
    directory = tmp_path / "study"
    code, out, err = tune(
        capsys, "--data", str(table), "--target", "label", *FAST, "--logdir", str(directory),
        "--learning_rate", "loguniform:1e-3:3e-1", "--hidden_layers", "choice:8,16 16", "--optimizer", "choice:SGD,Adam",
        "--trials", "6", "--pruner_startup_trials", "2",
    )
    assert code == 0, err
    assert out.count("Trial ") >= 6 and "Best trial" in out and "Reproduce it with: descend train" in out
    rows = read_trials(directory)
    assert [int(r["number"]) for r in rows] == list(range(6))
    assert {r["state"] for r in rows} <= {"complete", "pruned"}
    assert set(rows[0]) >= {"value", "learning_rate", "hidden_layers", "optimizer", "epochs", "worker", "logdir"}
    for png in ("optimization_history.png", "param_importances.png", "intermediate_values.png"):
        assert (directory / png).stat().st_size > 1000, png
    best = json.loads((directory / "best.json").read_text())
    complete = [r for r in rows if r["state"] == "complete"]
    assert best["value"] == max(float(r["value"]) for r in complete)
    assert best["metric"] == "dev:accuracy" and best["direction"] == "maximize"

    # The best trial's command, run again with the same seed, gives the same dev metric.
    argv = best["argv"][1:] + ["--logdir", str(tmp_path / "again")]
    assert cli.main(argv) == 0
    capsys.readouterr()
    with open(tmp_path / "again" / "metrics.csv", newline="") as f:
        again = [float(r["dev:accuracy"]) for r in csv.DictReader(f)]
    assert max(again) == best["value"]
    with open(Path(best["logdir"]) / "metrics.csv", newline="") as f:
        original = [float(r["dev:accuracy"]) for r in csv.DictReader(f)]
    assert again == original


def test_resume_finishes_an_interrupted_study(capsys, table, tmp_path):
    directory = tmp_path / "study"
    base = ["--data", str(table), "--target", "label", *FAST, "--learning_rate", "loguniform:1e-2:3e-1"]
    code, _, err = tune(capsys, *base, "--logdir", str(directory), "--trials", "2", "--pruner", "none")
    assert code == 0, err
    code, _, err = tune(capsys, *base, "--logdir", str(directory), "--trials", "2")
    assert code == 1 and "already holds a study" in err and "--resume" in err
    # A trial left running by a worker that died (a pid that no longer exists on this host).
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    study = optuna.load_study(study_name="descend", storage=JournalStorage(JournalFileBackend(str(directory / "study.journal"))))
    stale = study.ask()
    stale.suggest_float("learning_rate", 1e-2, 3e-1, log=True)
    stale.set_user_attr("worker", f"{socket.gethostname()}:{dead.pid}")
    code, out, err = tune(capsys, "--resume", str(directory), "--trials", "4")
    assert code == 0, err
    assert "left running by a worker that no longer exists" in err
    rows = read_trials(directory)
    states = [r["state"] for r in rows]
    assert states.count("complete") == 4 and states.count("fail") == 1
    retry = [r for r in rows if "re-run of trial 2" in r["note"]]
    assert len(retry) == 1 and float(retry[0]["learning_rate"]) == stale.params["learning_rate"]
    code, _, err = tune(capsys, "--resume", str(directory), "--learning_rate", "uniform:0.1:0.2")
    assert code == 1 and "differ from the study being resumed" in err


def test_two_workers_share_one_journal_storage(table, tmp_path):
    storage = tmp_path / "shared.journal"
    argv = [
        "--data", str(table), "--target", "label", *FAST, "--trials", "8", "--pruner", "none",
        "--storage", f"journal:{storage}", "--study", "shared",
        "--learning_rate", "loguniform:1e-3:3e-1", "--hidden_layers", "choice:8,16",
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", "import sys; from descend.cli import main; sys.exit(main())", "tune", *argv, "--logdir", str(tmp_path / f"worker{i}")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
        )
        for i in range(2)
    ]
    outputs = [w.communicate(timeout=120) for w in workers]
    for w, (out, err) in zip(workers, outputs):
        assert w.returncode == 0, err
    study = optuna.load_study(
        study_name="shared",
        storage=optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(storage))),
    )
    trials = study.get_trials()
    assert sorted(t.number for t in trials) == list(range(8))  # none lost, none extra
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    by_worker: dict[str, list[int]] = {}
    for t in trials:
        by_worker.setdefault(t.user_attrs["worker"], []).append(t.number)
        assert Path(t.user_attrs["logdir"]).is_dir()
    assert len(by_worker) == 2, by_worker  # both workers ran trials
    ran = [sorted(int(p.name.split("-")[1]) for p in (tmp_path / f"worker{i}").glob("trial-*")) for i in range(2)]
    assert sorted(ran[0] + ran[1]) == list(range(8))  # every trial ran exactly once
    for i in range(2):  # each worker's report lists the whole study
        assert [int(r["number"]) for r in read_trials(tmp_path / f"worker{i}")] == list(range(8))
