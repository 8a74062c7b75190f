"""Where the time of a descend training step goes: cProfile of one epoch (or --steps) of a
workload, and a breakdown of the step into its phases (gather, forward, loss, backward,
optimizer) timed with perf_counter.

    python benchmarks/profile_step.py W1 [--steps 1100] [--top 25] [--flush-denormal]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import find_mnist, resolve_workload, set_blas_threads  # noqa: E402
from worker_descend import DescendRunner  # noqa: E402


def phases(runner, steps: int) -> dict:
    """Median microseconds per step of each phase of the training step."""
    import numpy as np
    ds = runner.ds
    model, opt, ce = runner.model, runner.opt, runner.cross_entropy
    batches = runner.train.batches(runner.batch, rng=runner.rng, reuse_buffers=True)
    parts = {k: [] for k in ("gather", "zero_grad", "forward", "loss", "backward", "step")}
    clock = time.process_time  # CPU time: robust to other processes on a shared machine
    it = iter(batches)
    for _ in range(steps):
        t0 = clock()
        try:
            xb, yb = next(it)
        except StopIteration:
            it = iter(runner.train.batches(runner.batch, rng=runner.rng, reuse_buffers=True))
            xb, yb = next(it)
        t1 = clock()
        opt.zero_grad(set_to_none=True)
        t2 = clock()
        out = model(xb)
        t3 = clock()
        loss = ce(out, yb)
        t4 = clock()
        loss.backward()
        t5 = clock()
        opt.step()
        t6 = clock()
        for k, a, b in (("gather", t0, t1), ("zero_grad", t1, t2), ("forward", t2, t3),
                        ("loss", t3, t4), ("backward", t4, t5), ("step", t5, t6)):
            parts[k].append((b - a) * 1e6)
    del ds
    return {k: float(np.median(v)) for k, v in parts.items()}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("workload", nargs="?", default="W1")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--data_dir", default=None)
    p.add_argument("--flush-denormal", action="store_true",
                   help="descend.kernels.set_flush_denormal(True) first (subnormals read and written as 0)")
    args = p.parse_args()
    if args.flush_denormal:
        import descend.kernels

        print("set_flush_denormal:", descend.kernels.set_flush_denormal(True))
    spec = dict(workload=resolve_workload(args.workload), seed=0, data_dir=str(find_mnist(args.data_dir)),
                threads=args.threads, _t0=time.perf_counter())
    runner = DescendRunner(spec)
    print(set_blas_threads(args.threads))
    runner.epoch(args.steps)  # warm up
    ph = phases(runner, args.steps or 1000)
    total = sum(ph.values())
    print("median CPU us per step: " + ", ".join(f"{k} {v:.1f}" for k, v in ph.items())
          + f"; sum {total:.1f}")
    from worker_floor import Floor
    floor = Floor(spec)
    steps = args.steps or 1000
    samples = []
    for _ in range(5):
        start = time.process_time()
        floor.epoch(steps)
        samples.append((time.process_time() - start) / steps * 1e6)
    print(f"matmul floor (gather + products), median CPU us per step: {sorted(samples)[2]:.1f}")
    prof = cProfile.Profile()
    prof.enable()
    runner.epoch(args.steps)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
