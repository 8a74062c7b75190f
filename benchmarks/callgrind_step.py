"""Instructions per training step of a workload, counted by callgrind: stable on a busy
machine where CPU times drift by several percent. Runs the workload twice under
``valgrind --tool=callgrind`` (warm-up + ``--short`` steps, then warm-up + ``--long`` steps) and
prints (Ir(long) - Ir(short)) / (long - short), so start-up, data loading and warm-up cancel.

    python benchmarks/callgrind_step.py W1@b8 [--short 100] [--long 600] [--data_dir DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _child(workload: str, steps: int, data_dir: str | None) -> None:
    sys.path.insert(0, str(HERE))
    from common import find_mnist, resolve_workload
    from worker_descend import DescendRunner

    spec = {"workload": resolve_workload(workload), "seed": 0,
            "data_dir": str(find_mnist(data_dir)), "threads": 1, "_t0": time.perf_counter()}
    runner = DescendRunner(spec)
    runner.epoch(50)  # warm-up: buffers, caches, first-call paths
    runner.epoch(steps)


def _instructions(workload: str, steps: int, data_dir: str | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
               __file__, "--child", workload, "--long", str(steps)]
        if data_dir:
            cmd += ["--data_dir", data_dir]
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        m = re.search(r"Collected : (\d+)", res.stderr)
        if res.returncode or m is None:
            raise SystemExit(f"callgrind failed:\n{res.stderr[-2000:]}")
        return int(m.group(1))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("workload", nargs="?", default="W1")
    p.add_argument("--short", type=int, default=100)
    p.add_argument("--long", type=int, default=600)
    p.add_argument("--data_dir", default=None)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        _child(a.workload, a.long, a.data_dir)
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind not found: install it (apt-get install valgrind) to count instructions")
    short = _instructions(a.workload, a.short, a.data_dir)
    long = _instructions(a.workload, a.long, a.data_dir)
    per_step = (long - short) / (a.long - a.short)
    print(f"{a.workload}: {per_step:,.0f} instructions per step (callgrind, 1 thread)")


if __name__ == "__main__":
    main()
