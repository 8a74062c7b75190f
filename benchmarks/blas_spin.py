"""Does a multi-threaded BLAS keep burning CPU after a matrix product returns?

OpenBLAS's worker threads busy-wait for a while after each product before they sleep (the
wait is set by the environment variable ``OPENBLAS_THREAD_TIMEOUT``, read when OpenBLAS
loads). Whatever the main thread does meanwhile (a framework's Python, its elementwise
kernels, its optimizer) then costs that work's time on the main thread plus the spinning
worker's, in process CPU time. This script times some plain Python work (no BLAS) right
after a W1-sized product (50x784 @ 784x128, float32) and without one, in wall and process
CPU time:

    python benchmarks/blas_spin.py --threads 2
    OPENBLAS_THREAD_TIMEOUT=4 python benchmarks/blas_spin.py --threads 2

(docs/performance.md, "Third round": this is why descend's process-CPU ratio to the floor
grew with two threads.)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import set_blas_threads  # noqa: E402


def python_work(n: int = 600) -> int:
    """About 10 us of interpreter work that calls no BLAS."""
    s = 0
    for i in range(n):
        s += i
    return s


def measure(product, repeats: int) -> tuple[float, float]:
    """Mean wall and process-CPU microseconds of ``python_work`` after ``product()``."""
    cpu = wall = 0.0
    for _ in range(repeats):
        product()
        c0, w0 = time.process_time(), time.perf_counter()
        python_work()
        cpu += time.process_time() - c0
        wall += time.perf_counter() - w0
    return wall / repeats * 1e6, cpu / repeats * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2, help="BLAS threads")
    p.add_argument("--repeats", type=int, default=3000)
    args = p.parse_args()
    import os

    import numpy as np

    print(set_blas_threads(args.threads),
          f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT', '(unset)')}")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 784)).astype(np.float32)
    w = rng.standard_normal((784, 128)).astype(np.float32)
    for label, product in (("right after a product", lambda: x @ w), ("no product before", lambda: None)):
        wall, cpu = measure(product, args.repeats)
        print(f"python work {label}: {wall:.1f} us wall, {cpu:.1f} us process CPU "
              f"(CPU / wall {cpu / wall:.2f})")


if __name__ == "__main__":
    main()
