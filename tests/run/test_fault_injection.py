"""Fault injection: SIGKILL a small run at random moments (in checkpoint writes, at epoch
boundaries, mid-epoch), resume it every time, and end bit-identical to an uninterrupted run
with no temporary file left behind (issue 11, "done when")."""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from tables import REPO, write_csv

KILLS = 20


def _command(table: Path, run: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "descend", "train", "--data", str(table), "--target", "y", "--logdir", str(run),
            "--no_plots", "--no_tensorboard", "--hidden_layers", "32", "--batch_size", "16", "--epochs", "3",
            "--dropout", "0.1", "--checkpoint_every", "4", "--seed", "5", *extra]


def _metrics(run: Path) -> list[dict[str, str]]:
    """The epochs' metrics (all but the wall-clock time)."""
    with open(run / "metrics.csv", newline="") as file:
        return [{k: v for k, v in row.items() if k != "time"} for row in csv.DictReader(file)]


def _weights(run: Path) -> dict[str, np.ndarray]:
    from descend.train.checkpoint import load_checkpoint

    state = load_checkpoint(run / "checkpoint.safetensors")
    return {k: np.asarray(v) for k, v in state["model"].items()}


def test_random_kills_then_resume_end_bit_identical(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(500, 6))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
    table = write_csv(tmp_path / "t.csv", {**{f"x{i}": x[:, i].round(4) for i in range(6)}, "y": y})
    env = {k: v for k, v in os.environ.items() if k != "DESCEND_DATA"}

    reference = tmp_path / "reference"
    start = time.monotonic()
    subprocess.run(_command(table, reference), cwd=REPO, env=env, check=True, capture_output=True, timeout=120)
    duration = time.monotonic() - start

    run = tmp_path / "run"
    chooser = random.Random(11)
    kills = 0
    finished = False
    for _ in range(KILLS * 8):  # a kill that comes after the run ended is tried again
        if (run / "checkpoint.safetensors").exists():
            argv = [sys.executable, "-m", "descend", "train", "--resume", str(run)]
        else:  # killed before its first checkpoint: nothing to resume; start the run again
            argv = _command(table, run, "--overwrite")
        process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if kills < KILLS:
            time.sleep(chooser.uniform(0.2, duration))
            if process.poll() is None:
                process.kill()
                kills += 1
        _, err = process.communicate(timeout=120)
        if process.returncode == 0:
            finished = kills >= KILLS
            if finished:
                break
            # finished before the kill landed: start a fresh run of the same to kill again
            for item in run.iterdir():
                if item.is_file():
                    item.unlink()
        else:
            assert process.returncode in (-9, 1, 130), err
            assert "Traceback" not in err, err
    assert finished, f"only {kills} kills landed"
    ref, got = _weights(reference), _weights(run)
    assert ref.keys() == got.keys()
    for name in ref:
        assert np.array_equal(ref[name], got[name]), name
    assert _metrics(run) == _metrics(reference)
    leftovers = [p.name for p in run.iterdir() if p.name.endswith(".tmp") or ".tmp-" in p.name]
    assert leftovers == []
