"""Micro-benchmark of descend's kernels: each compiled kernel against its NumPy reference on
the W1 network's shapes (784-128-10, batch 50) and W3's (784-512-512-10, batch 256).

    python benchmarks/kernels_micro.py [--repeat 7] [--threads 1]

Prints the median over ``--repeat`` rounds of the time per call, in microseconds (wall time;
on a shared machine run it twice), and the ratio NumPy / C. Needs the C extension built.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import descend as ds
from descend import kernels, optim
from descend.kernels import elementwise as el

OPTIMIZERS = [
    ("Adam", {}), ("Adam", dict(amsgrad=True, weight_decay=1e-4)), ("AdamW", {}),
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    ("RMSprop", {}), ("Adagrad", {}),
]


def per_call(fn, calls: int, repeat: int) -> float:
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - start) / calls)
    return statistics.median(rounds) * 1e6


def optimizer_step(name, kwargs, sizes, backend):
    rng = np.random.default_rng(0)
    shapes = [s for a, b in zip(sizes[:-1], sizes[1:]) for s in ((a, b), (b,))]
    params = [ds.tensor(rng.standard_normal(s).astype(np.float32), requires_grad=True) for s in shapes]
    with kernels.using(backend):
        opt = getattr(optim, name)(params, **kwargs)
    for p in params:
        p.grad = rng.standard_normal(p.shape).astype(np.float32) * 1e-3
    opt.gather_gradients()

    def step():
        with kernels.using(backend):
            opt.step()

    return step


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()
    if not kernels.available():
        raise SystemExit(f"the C extension is not built ({kernels.describe()})")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    print(kernels.describe())
    print("| kernel | shape | C us | NumPy us | NumPy / C |")
    print("|---|---|---|---|---|")
    for label, sizes, calls in (("W1", [784, 128, 10], 300), ("W3", [784, 512, 512, 10], 40)):
        for name, kwargs in OPTIMIZERS:
            t = {b: per_call(optimizer_step(name, kwargs, sizes, b), calls, args.repeat) for b in ("c", "numpy")}
            n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
            print(f"| {name}{' ' + str(kwargs) if kwargs else ''} step | {label} {n:,} params | {t['c']:.1f} | {t['numpy']:.1f} | {t['numpy'] / t['c']:.2f} |")
    rng = np.random.default_rng(1)
    for shape in ((50, 128), (256, 512)):
        h = rng.standard_normal(shape).astype(np.float32)
        y = np.maximum(h, 0)
        b = rng.standard_normal(shape[1]).astype(np.float32)
        gb = np.empty(shape[1], np.float32)
        cases = {
            "bias + relu forward": lambda: el.bias_activation_(h, b, "relu"),
            "relu backward + bias gradient": lambda: el.activation_backward(h, y, "relu", gb),
            "tanh backward + bias gradient": lambda: el.activation_backward(h, y, "tanh", gb),
        }
        for label, fn in cases.items():
            t = {}
            for backend in ("c", "numpy"):
                with kernels.using(backend):
                    t[backend] = per_call(fn, 2000 if shape[0] == 50 else 200, args.repeat)
            print(f"| {label} | {shape} | {t['c']:.1f} | {t['numpy']:.1f} | {t['numpy'] / t['c']:.2f} |")
    z = rng.standard_normal((50, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 50)
    from descend.functional import cross_entropy

    def xent():
        logits = ds.tensor(z, requires_grad=True)
        cross_entropy(logits, labels).backward()

    t = {}
    for backend in ("c", "numpy"):
        with kernels.using(backend):
            t[backend] = per_call(xent, 2000, args.repeat)
    print(f"| softmax + cross-entropy forward + backward (op, engine included) | (50, 10) | {t['c']:.1f} | {t['numpy']:.1f} | {t['numpy'] / t['c']:.2f} |")


if __name__ == "__main__":
    main()
