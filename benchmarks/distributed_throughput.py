"""Data-parallel throughput: training steps per second with 1 and 2 MPI ranks.

The workload is the course's first MNIST configuration (W1): MLP 784-128-10 with ReLU, global
batch 50, Adam (lr 0.001). Each rank uses one BLAS thread (OMP/OpenBLAS/MKL_NUM_THREADS=1).
With K ranks every step processes the same global batch of 50 examples: each rank computes
the gradient of 50/K of them, the flat gradient buffer is averaged with one Allreduce, and
every rank applies the same Adam update.

Run (from the project root, with ``pip install -e '.[mpi,train]'``)::

    python benchmarks/distributed_throughput.py                 # launches 1 and 2 ranks itself
    python benchmarks/distributed_throughput.py --ranks 1 2 4 --steps 2000

It prints one line per rank count: steps/s, examples/s, the speed-up over 1 rank, and the
share of a step spent in the Allreduce. The measured steps are the Trainer's own training
loop (``Trainer.fit`` with ``strategy_for(comm)``), timed over whole epochs of a subset of MNIST's
training set (``--steps`` steps), after one warm-up epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def worker(args: argparse.Namespace) -> None:
    """One rank: train and report the timing (rank 0 prints a JSON line)."""

    from descend import nn, optim
    from descend.data import Dataset, load_mnist
    from descend.distributed import init_distributed, strategy_for
    from descend.random import manual_seed
    from descend.train import Trainer

    comm = init_distributed()
    splits = load_mnist(args.data_dir, download=False)
    n = min(len(splits.train), args.steps * args.batch_size)
    train = Dataset(splits.train.x[:n], splits.train.y[:n])
    manual_seed(args.seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    timings = {"allreduce": 0.0}
    if comm.size > 1:  # measure the time spent in the collective
        original = comm.allreduce_

        def timed(array):
            start = time.perf_counter()
            result = original(array)
            timings["allreduce"] += time.perf_counter() - start
            return result

        comm.allreduce_ = timed
    trainer = Trainer(model, optimizer, task="multiclass", rng=args.seed, strategy=strategy_for(comm))
    quiet = open(os.devnull, "w")
    stdout = sys.stdout
    sys.stdout = quiet  # the trainer's epoch lines
    try:
        trainer.fit(train, None, epochs=1, batch_size=args.batch_size)  # warm-up
        timings["allreduce"] = 0.0
        comm.barrier()
        start = time.perf_counter()
        trainer.fit(train, None, epochs=1 + args.epochs, batch_size=args.batch_size)
        comm.barrier()
        seconds = time.perf_counter() - start
    finally:
        sys.stdout = stdout
    steps = args.epochs * train.num_batches(args.batch_size)
    if comm.rank == 0:
        print(json.dumps({
            "ranks": comm.size, "steps": steps, "seconds": seconds, "steps_per_s": steps / seconds,
            "examples_per_s": steps * args.batch_size / seconds,
            "allreduce_share": timings["allreduce"] / seconds,
        }), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="rank counts to measure")
    parser.add_argument("--steps", type=int, default=1100, help="steps per timed epoch")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs")
    parser.add_argument("--batch_size", type=int, default=50, help="global batch size")
    parser.add_argument("--data_dir", default=os.environ.get("DESCEND_BENCH_DATA", str(ROOT.parent / "shared" / "datasets" / "mnist")))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per rank count; the fastest is reported (other load on a shared machine only slows runs down)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    from descend.distributed import find_mpiexec, mpiexec_command, mpiexec_environment

    env = mpiexec_environment()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if find_mpiexec() is None:
        sys.exit("no mpiexec found: pip install 'descend[mpi]'")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"MLP 784-128-10 relu, Adam, global batch {args.batch_size}, {args.epochs} x {args.steps} steps, one BLAS "
        f"thread per rank, best of {args.repeat}; {os.cpu_count()} cores, load average {load:.2f} before the runs"
    )
    base = None
    for k in args.ranks:
        argv = [sys.executable, __file__, "--worker", "--steps", str(args.steps), "--epochs", str(args.epochs),
                "--batch_size", str(args.batch_size), "--data_dir", args.data_dir, "--seed", str(args.seed)]
        runs = []
        for _ in range(max(1, args.repeat)):
            result = subprocess.run(mpiexec_command(k, argv), capture_output=True, text=True, env=env, cwd=ROOT)
            lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
            if result.returncode != 0 or not lines:
                sys.exit(f"{k} rank(s) failed:\n{result.stdout}\n{result.stderr}")
            runs.append(json.loads(lines[-1]))
        r = max(runs, key=lambda run: run["steps_per_s"])
        base = base or r["steps_per_s"]
        print(
            f"{k} rank{'s' if k > 1 else ' '}: {r['steps_per_s']:8.1f} steps/s  {r['examples_per_s']:9.0f} examples/s  "
            f"speed-up {r['steps_per_s'] / base:4.2f}x  allreduce {100 * r['allreduce_share']:4.1f}% of the time"
        )


if __name__ == "__main__":
    main()
