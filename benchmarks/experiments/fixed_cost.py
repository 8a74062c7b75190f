"""The fixed cost of a training step, where descend's eager Python shows: a 16-8-10 ReLU
network at batch 4 with SGD (W2's shape of step, its products negligible), descend against
the hand-written NumPy step of the benchmark (no loss value, no modules, no engine), and the
backward engine's share (``loss.backward()`` against calling the three ops' backward
directly, without the engine's bookkeeping):

    python benchmarks/experiments/fixed_cost.py
"""

import time

import numpy as np

from descend import nn, optim
from descend.data import Dataset
from descend.functional import cross_entropy

IN, H, OUT, B, STEPS = 16, 8, 10, 4, 20_000
rng = np.random.default_rng(0)
X = rng.standard_normal((1000, IN)).astype(np.float32)
Y = rng.integers(0, OUT, 1000)
W1 = (rng.standard_normal((IN, H)) * 0.1).astype(np.float32)
W2 = (rng.standard_normal((H, OUT)) * 0.1).astype(np.float32)


def model_and_optimizer():
    model = nn.Sequential(nn.Linear(IN, H), nn.ReLU(), nn.Linear(H, OUT))
    model[0].weight.data[...] = W1
    model[2].weight.data[...] = W2
    return model, optim.SGD(model.parameters(), lr=0.1)


def descend_step_us() -> float:
    model, opt = model_and_optimizer()
    data, order_rng, n = Dataset(X, Y), np.random.default_rng(1), 0
    start = time.process_time()
    while n < STEPS:
        for xb, yb in data.batches(B, rng=order_rng, reuse_buffers=True):
            opt.zero_grad(set_to_none=True)
            loss = cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            n += 1
    return (time.process_time() - start) / n * 1e6


def numpy_step_us() -> float:
    ps = [W1.copy(), np.zeros(H, np.float32), W2.copy(), np.zeros(OUT, np.float32)]
    order_rng, n = np.random.default_rng(1), 0
    start = time.process_time()
    while n < STEPS:
        order = order_rng.permutation(len(X))
        for s in range(0, len(X), B):
            idx = order[s:s + B]
            xb, yb = np.take(X, idx, axis=0), np.take(Y, idx)
            h = xb @ ps[0]
            h += ps[1]
            np.maximum(h, 0, out=h)
            g = h @ ps[2]
            g += ps[3]
            g -= g.max(axis=1, keepdims=True)
            np.exp(g, out=g)
            g /= g.sum(axis=1, keepdims=True)
            g[np.arange(len(yb)), yb] -= 1
            g /= len(yb)
            grads = [None, None, h.T @ g, g.sum(axis=0)]
            g = g @ ps[2].T
            g *= h > 0
            grads[0], grads[1] = xb.T @ g, g.sum(axis=0)
            for p, gr in zip(ps, grads):
                p -= 0.1 * gr
            n += 1
    return (time.process_time() - start) / n * 1e6


def backward_us(engine: bool) -> float:
    model, opt = model_and_optimizer()
    xb, yb = X[:B], Y[:B]
    samples = []
    for _ in range(STEPS):
        opt.zero_grad(set_to_none=True)
        loss = cross_entropy(model(xb), yb)
        start = time.perf_counter_ns()
        if engine:
            loss.backward()
        else:  # the same three op backwards, called by hand
            loss_op = loss._ctx
            (gz, _) = loss_op.backward(np.ones((), np.float32))
            out_op = loss_op.inputs[0]._ctx
            gh, _, _ = out_op.backward(gz)
            out_op.inputs[0]._ctx.backward(gh)
        samples.append(time.perf_counter_ns() - start)
    return float(np.median(samples)) / 1000


if __name__ == "__main__":
    step = {"descend": [], "numpy": []}
    back = {"engine": [], "by hand": []}
    for _ in range(5):
        step["descend"].append(descend_step_us())
        step["numpy"].append(numpy_step_us())
        back["engine"].append(backward_us(True))
        back["by hand"].append(backward_us(False))
    print("CPU us per step, median of 5: " + ", ".join(f"{k} {np.median(v):.1f}" for k, v in step.items()))
    print("wall us per backward, median of 5 medians: "
          + ", ".join(f"{k} {np.median(v):.1f}" for k, v in back.items()))
