"""Data-parallel training through the Trainer and ``mpiexec -n 2 descend train``.

Two ranks must compute what one process computes with the same global batch (up to the order
of float summation): the parameters after training agree to ~1e-6 relative in float32 and
~1e-12 in float64, the replicas stay bit-identical, rank 0 alone prints and writes files, and
a failing rank ends the job instead of leaving the other one waiting.
"""

from __future__ import annotations

import csv
import json
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from test_distributed import needs_mpi, run_mpi

pytestmark = needs_mpi

TRAINER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from descend import nn, optim
    from descend.data import Dataset
    from descend.distributed import init_distributed, strategy_for
    from descend.random import manual_seed
    from descend.train import Callback, Checkpoint, Trainer

    dtype = np.dtype(sys.argv[1]); out = sys.argv[2]; n_train = int(sys.argv[3]); batch = int(sys.argv[4])
    mode = sys.argv[5]
    comm = init_distributed()
    data = np.random.default_rng(0)
    x = data.normal(size=(n_train + 30, 10)).astype(dtype)
    y = data.integers(0, 3, size=n_train + 30)
    train, dev = Dataset(x[:n_train], y[:n_train]), Dataset(x[n_train:], y[n_train:])

    def make(logdir=None):
        manual_seed(5 + comm.rank)  # a different initialisation on every rank: rank 0's must win
        model = nn.Sequential(nn.Linear(10, 16, dtype=dtype), nn.Tanh(), nn.Linear(16, 3, dtype=dtype))
        optimizer = optim.Adam(model.parameters(), lr=0.01)
        callbacks = [Checkpoint(logdir + "/checkpoint.safetensors", every=3)] if logdir else []
        trainer = Trainer(model, optimizer, task="multiclass", rng=1, strategy=strategy_for(comm), callbacks=callbacks)
        return model, trainer

    class Interrupt(Callback):
        def on_batch_end(self, trainer, step, logs):
            if trainer.state.epoch == 2 and step == 4:
                raise KeyboardInterrupt

    if mode == "resume":  # interrupted mid-epoch on every rank, then resumed from the checkpoint
        logdir = sys.argv[6]
        model, trainer = make(logdir)
        try:
            trainer.fit(train, dev, epochs=3, batch_size=batch, callbacks=[Interrupt()])
        except KeyboardInterrupt:
            pass
        model, trainer = make(logdir)
        trainer.restore(logdir + "/checkpoint.safetensors")
        logs = trainer.fit(train, dev, epochs=3, batch_size=batch)
    else:
        model, trainer = make()
        logs = trainer.fit(train, dev, epochs=int(mode), batch_size=batch)
    flat = np.concatenate([p.data.ravel() for p in model.parameters()])
    digests = comm.allgather(flat.tobytes())
    if comm.rank == 0:
        np.save(out, flat)
        logs = {k: v for k, v in logs.items() if k != "time"}
        logs["replicas_identical"] = len(set(digests)) == 1
        json.dump(logs, open(out + ".json", "w"))
    """
)


def train_twice(tmp_path: Path, dtype: str, n_train: int, batch: int, mode: str, *extra: str) -> tuple[np.ndarray, np.ndarray, dict, dict]:
    script = tmp_path / "trainer.py"
    script.write_text(TRAINER)
    results = []
    for n in (1, 2):
        out = tmp_path / f"w{n}.npy"
        argv = [sys.executable, str(script), dtype, str(out), str(n_train), str(batch), mode]
        argv += [str(tmp_path / f"run{n}")] if mode == "resume" else []
        result = run_mpi(n, argv)
        assert result.returncode == 0, result.stderr
        results.append((np.load(out).astype(np.float64), json.loads(Path(str(out) + ".json").read_text()), result))
    (one, logs1, r1), (two, logs2, r2) = results
    return one, two, logs1, logs2


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(a))


@pytest.mark.parametrize("dtype,tolerance", [("float32", 1e-6), ("float64", 1e-12)])
def test_two_ranks_train_the_same_model_as_one_process(tmp_path, dtype, tolerance):
    # 300 examples in batches of 22: the last batch (14) splits 7 + 7.
    one, two, logs1, logs2 = train_twice(tmp_path, dtype, 300, 22, "1")
    assert relative(one, two) < tolerance
    assert logs2["replicas_identical"]
    for key in ("loss", "accuracy", "dev:loss", "dev:accuracy"):
        assert logs2[key] == pytest.approx(logs1[key], rel=10 * tolerance), key


def test_a_last_batch_smaller_than_the_ranks_leaves_one_rank_idle(tmp_path):
    # 309 = 14 * 22 + 1: the last batch has one example, rank 1 gets none (its gradient is 0).
    one, two, logs1, logs2 = train_twice(tmp_path, "float64", 309, 22, "2")
    assert relative(one, two) < 1e-12
    assert logs2["replicas_identical"]
    assert logs2["accuracy"] == pytest.approx(logs1["accuracy"], rel=1e-12)


def test_resuming_a_mid_epoch_checkpoint_under_mpi_is_exact(tmp_path):
    one, two, logs1, logs2 = train_twice(tmp_path, "float64", 300, 20, "resume")
    assert relative(one, two) < 1e-12
    assert logs2["loss"] == pytest.approx(logs1["loss"], rel=1e-12)  # the resumed epoch's metrics too
    assert logs2["replicas_identical"]
    assert (tmp_path / "run2" / "checkpoint.safetensors").exists()


# ----------------------------------------------------------------------------- the CLI
@pytest.fixture(scope="module")
def table(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "table.csv"
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 5))
    y = (x @ rng.normal(size=5) > 0).astype(int) + (x[:, 1] > 0.8).astype(int)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([f"f{i}" for i in range(5)] + ["y"])
        for row, label in zip(x, y):
            writer.writerow([f"{v:.6f}" for v in row] + [label])
    return path


DESCEND = [sys.executable, "-c", "import sys; from descend.cli import main; sys.exit(main())"]


def test_mpiexec_descend_train_prints_and_writes_once(tmp_path, table):
    options = ["train", "--data", str(table), "--target", "y", "--epochs", "2", "--batch_size", "20",
               "--optimizer", "Adam", "--learning_rate", "0.01", "--no_tensorboard", "--no_plots"]
    single = run_mpi(1, DESCEND + options + ["--logdir", str(tmp_path / "one")])
    assert single.returncode == 0, single.stderr
    double = run_mpi(2, DESCEND + options + ["--logdir", str(tmp_path / "two")], cwd=tmp_path)
    assert double.returncode == 0, double.stderr
    epochs = [line for line in double.stdout.splitlines() if line.startswith("Epoch ")]
    assert len(epochs) == 2  # rank 0 alone prints
    assert double.stdout.count("Evaluation") == 1
    assert "Data-parallel on 2 MPI processes" in double.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]  # nothing else written
    from descend.train.checkpoint import load_checkpoint

    a = load_checkpoint(tmp_path / "one" / "checkpoint.safetensors")["model"]
    b = load_checkpoint(tmp_path / "two" / "checkpoint.safetensors")["model"]
    for key in a:
        assert np.allclose(a[key], b[key], rtol=1e-5, atol=1e-6), key
    with open(tmp_path / "two" / "metrics.csv") as f:
        assert len(list(csv.DictReader(f))) == 2


def test_a_global_batch_that_does_not_split_is_one_clear_error(tmp_path, table):
    result = run_mpi(2, DESCEND + ["train", "--data", str(table), "--target", "y", "--batch_size", "25",
                                   "--logdir", str(tmp_path / "run")])
    assert result.returncode == 1
    lines = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(lines) == 1, result.stderr  # reported once, by rank 0
    assert "--batch_size 24" in lines[0] and "--batch_size 26" in lines[0]


def test_a_rank_that_fails_during_setup_is_reported_once(tmp_path, table):
    result = run_mpi(2, DESCEND + ["train", "--data", str(tmp_path / "missing.csv"), "--target", "y",
                                   "--batch_size", "20", "--logdir", str(tmp_path / "run")])
    assert result.returncode == 1
    assert result.stderr.count("error:") == 1, result.stderr


CRASH = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from descend import nn, optim
    from descend.distributed import init_distributed, strategy_for
    from descend.train import Callback, Trainer

    mode = sys.argv[1]
    comm = init_distributed(timeout=5)
    x = np.random.default_rng(0).normal(size=(400, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)

    class Fail(Callback):
        def on_batch_end(self, trainer, step, logs):
            if comm.rank == 1 and trainer.state.epoch == 2 and step == 3:
                if mode == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                raise RuntimeError("rank 1 ran out of memory")

    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.1), task="multiclass", rng=0,
                      strategy=strategy_for(comm), callbacks=[Fail()])
    trainer.fit((x, y), epochs=1000, batch_size=20)
    print("finished")
    """
)


@pytest.mark.parametrize("mode", ["kill", "raise"])
def test_a_rank_that_dies_during_training_ends_the_job(tmp_path, mode):
    script = tmp_path / "crash.py"
    script.write_text(CRASH)
    start = time.monotonic()
    result = run_mpi(2, [sys.executable, str(script), mode], timeout=90)
    elapsed = time.monotonic() - start
    assert result.returncode != 0 and "finished" not in result.stdout
    assert elapsed < 30, elapsed
    if mode == "raise":
        report = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        assert "rank 1 of 2 failed; aborting all ranks" in result.stderr, report
        assert "RuntimeError: rank 1 ran out of memory" in result.stderr, report


GUARD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from descend import nn, optim
    from descend.distributed import init_distributed, strategy_for
    from descend.train import NonFiniteGuard, NonFiniteLossError, Trainer

    comm = init_distributed(timeout=20)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(203, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    if sys.argv[2] == "nan" and comm.rank == 0:
        x[:, 1] = np.nan  # only rank 0's shards hold NaN: rank 1's own loss stays finite
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    trainer = Trainer(model, optim.SGD(model.parameters(), lr=float(sys.argv[1])), task="multiclass", rng=0,
                      strategy=strategy_for(comm), callbacks=[NonFiniteGuard()])
    try:
        trainer.fit((x, y), epochs=5, batch_size=20)
        print(f"rank {comm.rank}: finished at update {trainer.state.global_step}")
    except NonFiniteLossError as error:
        print(f"rank {comm.rank}: {type(error).__name__} at update {error.global_step + 1}", flush=True)
    """
)


@pytest.mark.parametrize("lr,data,error", [("1e6", "clean", "LossDivergedError at update 2"),
                                           ("0.1", "nan", "NonFiniteLossError at update 1")])
def test_every_rank_stops_at_the_same_update(tmp_path, lr, data, error):
    # The guard sees the global batch's loss (reduce_loss), not each shard's, so the ranks agree
    # even where only one rank's shards hold NaN, and the job ends normally instead of one rank
    # raising while the other waits in the gradient Allreduce until the watchdog aborts both.
    import re

    script = tmp_path / "guard.py"
    script.write_text(GUARD)
    result = run_mpi(2, [sys.executable, str(script), lr, data], timeout=90)
    assert result.returncode == 0, result.stderr
    outcomes = dict(re.findall(r"rank (\d): (\w+ at update \d+)", result.stdout))  # lines may interleave
    assert outcomes == {"0": error, "1": error}, result.stdout
