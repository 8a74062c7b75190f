"""Data-parallel training with MPI: the building blocks (no Trainer), and MPI's failure modes.

The MPI tests start 2 ranks with ``mpiexec`` (MPICH from ``pip install 'descend[mpi]'``, or
the system's Open MPI, with the flags that let it run as root on a small machine). They are
skipped, with the reason, only when no MPI launcher or no mpi4py is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from descend.distributed import (
    MPI_INSTALL_HINT,
    Communicator,
    DistributedError,
    check_global_batch_size,
    find_mpiexec,
    init_distributed,
    launched_by_mpi,
    mpi_available,
    mpiexec_command,
    mpiexec_environment,
    shard_bounds,
)
from descend.distributed import communicator as communicator_module

MPIEXEC = find_mpiexec()
needs_mpi = pytest.mark.skipif(
    MPIEXEC is None or not mpi_available(),
    reason="MPI is not installed (no mpiexec or no mpi4py): pip install 'descend[mpi]'",
)

ROOT = Path(__file__).resolve().parents[1]


def run_mpi(n: int, argv: list[str], timeout: float = 60, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``mpiexec -n n argv`` with one BLAS thread per rank; returns the completed process."""
    environment = mpiexec_environment(env)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        environment[name] = "1"
    environment["PYTHONPATH"] = str(ROOT) + os.pathsep + environment.get("PYTHONPATH", "")
    return subprocess.run(
        mpiexec_command(n, argv, MPIEXEC), capture_output=True, text=True, timeout=timeout,
        env=environment, cwd=cwd or ROOT, stdin=subprocess.DEVNULL,
    )


# ----------------------------------------------------------------------------- no MPI needed
def test_shard_bounds_cover_the_batch_contiguously():
    for n in range(0, 23):
        for size in range(1, 6):
            bounds = [shard_bounds(n, r, size) for r in range(size)]
            assert bounds[0][0] == 0 and bounds[-1][1] == n
            for (lo, hi), (lo2, _) in zip(bounds, bounds[1:]):
                assert hi == lo2
            sizes = [hi - lo for lo, hi in bounds]
            assert max(sizes) - min(sizes) <= 1
            assert sizes == [len(a) for a in np.array_split(np.arange(n), size)]


def test_global_batch_size_must_divide_and_the_error_says_what_to_use():
    check_global_batch_size(50, 1)
    check_global_batch_size(50, 2)
    check_global_batch_size(48, 3)
    with pytest.raises(DistributedError) as info:
        check_global_batch_size(50, 3)
    message = str(info.value)
    assert "--batch_size 50" in message and "3" in message
    assert "--batch_size 48" in message and "--batch_size 51" in message
    with pytest.raises(DistributedError, match="at least the number of ranks"):
        check_global_batch_size(2, 4)


def test_launch_detection_reads_the_launchers_environment(monkeypatch):
    for name in ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "MPI_LOCALNRANKS", "MPI_LOCALRANKID"):
        monkeypatch.delenv(name, raising=False)
    assert launched_by_mpi() == 0
    assert isinstance(init_distributed(), Communicator) and init_distributed().size == 1
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert launched_by_mpi() == 4
    monkeypatch.delenv("OMPI_COMM_WORLD_SIZE")
    monkeypatch.setenv("PMI_SIZE", "3")
    assert launched_by_mpi() == 3


def test_without_mpi4py_the_error_explains_the_install(monkeypatch):
    monkeypatch.setattr(communicator_module, "mpi_available", lambda: False)
    with pytest.raises(DistributedError) as info:
        communicator_module.init_distributed(require=True)
    assert "pip install 'descend[mpi]'" in str(info.value)
    assert "mpiexec -n K" in str(info.value)
    monkeypatch.setenv("PMI_SIZE", "2")
    with pytest.raises(DistributedError, match="started by an MPI launcher"):
        communicator_module.init_distributed()
    assert "apt-get install" in MPI_INSTALL_HINT


def test_single_process_communicator_is_the_identity():
    comm = Communicator()
    a = np.arange(4.0)
    assert comm.allreduce_(a) is a and list(a) == [0, 1, 2, 3]
    assert comm.bcast({"x": 1}) == {"x": 1}
    assert comm.allgather(5) == [5]
    assert comm.is_root and not comm.distributed


def test_bad_timeout_environment_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DESCEND_MPI_TIMEOUT", "soon")
    with pytest.raises(DistributedError, match="DESCEND_MPI_TIMEOUT"):
        communicator_module._timeout_from_environment()
    monkeypatch.setenv("DESCEND_MPI_TIMEOUT", "2.5")
    assert communicator_module._timeout_from_environment() == 2.5


# ----------------------------------------------------------------------------- with MPI
MANUAL_LOOP = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import descend as ds
    from descend import nn, optim, losses
    from descend.data import Dataset
    from descend.distributed import DataParallel, init_distributed

    dtype = np.dtype(sys.argv[1]); out = sys.argv[2]; opt_name = sys.argv[3]
    comm = init_distributed()
    data = np.random.default_rng(0)
    x = data.normal(size=(203, 12)).astype(dtype)
    y = data.integers(0, 4, size=203)
    from descend.random import manual_seed
    manual_seed(100 + comm.rank)          # different on every rank: the broadcast must fix it
    model = nn.Sequential(nn.Linear(12, 16, dtype=dtype), nn.Tanh(), nn.Linear(16, 4, dtype=dtype))
    opt = optim.Adam(model.parameters(), lr=0.01) if opt_name == "adam" else optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    dp = DataParallel(comm, opt, model)
    dp.broadcast_parameters()
    shuffle = np.random.default_rng(7)       # the same permutation on every rank
    for epoch in range(2):
        for xb, yb in Dataset(x, y).batches(20, rng=shuffle):      # the last batch has 3 examples
            lo, hi = dp.shard(len(xb))
            opt.zero_grad()
            if hi > lo:
                loss = losses.cross_entropy(model(ds.tensor(xb[lo:hi])), yb[lo:hi])
                loss.backward()
            dp.allreduce_gradients(hi - lo, len(xb))
            opt.step()
    dp.check_in_sync()
    if comm.rank == 0:
        np.save(out, np.concatenate([p.data.ravel() for p in model.parameters()]))
    """
)


@needs_mpi
@pytest.mark.parametrize("dtype,tolerance", [("float64", 1e-12), ("float32", 1e-6)])
def test_allreduced_gradients_reproduce_single_process_training(tmp_path, dtype, tolerance):
    script = tmp_path / "manual.py"
    script.write_text(MANUAL_LOOP)
    for n in (1, 2):
        result = run_mpi(n, [sys.executable, str(script), dtype, str(tmp_path / f"w{n}.npy"), "adam"])
        assert result.returncode == 0, result.stderr
    one = np.load(tmp_path / "w1.npy").astype(np.float64)
    two = np.load(tmp_path / "w2.npy").astype(np.float64)
    relative = np.linalg.norm(one - two) / np.linalg.norm(one)
    print(f"{dtype}: relative difference {relative:.3g}")
    assert relative < tolerance, relative


FAILURE = textwrap.dedent(
    """
    import os, signal, sys, time
    import numpy as np
    from descend.distributed import init_distributed

    mode = sys.argv[1]
    comm = init_distributed(timeout=float(sys.argv[2]))
    buffer = np.ones(8)
    for step in range(1000):
        if comm.rank == 1 and step == 3:
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if mode == "raise":
                raise RuntimeError("rank 1 lost its data")
            if mode == "hang":
                time.sleep(3600)
        comm.allreduce_(buffer)
        buffer[:] = 1
        time.sleep(0.01)
    print("finished", comm.rank)
    """
)


@needs_mpi
@pytest.mark.parametrize("mode,expect", [
    ("kill", ""),
    ("raise", "rank 1 of 2 failed; aborting all ranks"),
    ("hang", "waited"),
])
def test_a_failing_rank_ends_the_job_instead_of_hanging(tmp_path, mode, expect):
    script = tmp_path / "failure.py"
    script.write_text(FAILURE)
    start = time.monotonic()
    result = run_mpi(2, [sys.executable, str(script), mode, "3"], timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert "finished" not in result.stdout
    assert elapsed < 30, f"the surviving rank took {elapsed:.1f} s to exit"
    assert expect in result.stderr + result.stdout
    if mode == "raise":
        assert "RuntimeError: rank 1 lost its data" in result.stderr
    if mode == "hang":
        assert "rank 0 of 2 waited" in result.stderr and "Aborting all ranks" in result.stderr
