"""The cost of subnormal numbers in Adam's pass over W1's 101,770 parameters.

In training, the first moment of a weight whose gradient stays zero (an MNIST pixel that is
rarely nonzero) decays by beta1 per step into the subnormal range (below 1.18e-38 in
float32): after one epoch of W1 about 3 % of them are subnormal. x86 CPUs do arithmetic on
subnormals in microcode. This times ``Adam.step()`` (C kernels) with a given fraction of the
first moments subnormal and their gradients zero, with exact IEEE arithmetic and with
``descend.kernels.set_flush_denormal(True)``:

    python benchmarks/subnormal_adam.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import set_blas_threads  # noqa: E402

SHAPES = [(784, 128), (128,), (128, 10), (10,)]  # W1


def time_steps(fraction: float, rounds: int = 7, steps: int = 20) -> float:
    """Median microseconds per Adam step with ``fraction`` of the first moments subnormal."""
    import descend as ds
    from descend import optim

    rng = np.random.default_rng(0)
    params = [ds.tensor(rng.standard_normal(s).astype(np.float32) * 0.05, requires_grad=True)
              for s in SHAPES]
    opt = optim.Adam(params, lr=1e-3)
    grads = [(rng.standard_normal(s) * 1e-3).astype(np.float32) for s in SHAPES]
    flat = np.concatenate([g.ravel() for g in grads])
    chosen = rng.choice(flat.size, int(fraction * flat.size), replace=False)
    flat[chosen] = 0.0  # these weights get no gradient ...
    offsets = np.cumsum([0] + [g.size for g in grads])
    grads = [flat[a:b].reshape(s) for a, b, s in zip(offsets[:-1], offsets[1:], SHAPES)]
    for p, g in zip(params, grads):
        p.grad = g
    opt.step()
    state = opt.state_dict()
    state["state"][0]["exp_avg"][chosen] = np.float32(1e-39)  # ... and a subnormal first moment
    samples = []
    for _ in range(rounds):
        opt.load_state_dict(state)  # 20 steps of decay by 0.9 keep them subnormal
        start = time.process_time()
        for _ in range(steps):
            opt.step()
        samples.append((time.process_time() - start) / steps * 1e6)
    return float(np.median(samples))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fractions", default="0,0.03,0.3")
    args = p.parse_args()
    print(set_blas_threads(1))
    from descend import kernels

    print(kernels.describe())
    print("| subnormal first moments | Adam.step us, IEEE | Adam.step us, set_flush_denormal(True) |")
    print("|---|---|---|")
    for fraction in (float(f) for f in args.fractions.split(",")):
        exact = time_steps(fraction)
        if not kernels.set_flush_denormal(True):
            print(f"| {fraction:.0%} | {exact:.1f} | not supported here |")
            continue
        try:
            flushed = time_steps(fraction)
        finally:
            kernels.set_flush_denormal(False)
        print(f"| {fraction:.0%} | {exact:.1f} | {flushed:.1f} |")


if __name__ == "__main__":
    main()
