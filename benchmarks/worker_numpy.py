"""Hand-written NumPy: the same network, data order, initial weights and hyperparameters,
with the gradients derived by hand (no autograd, no framework), written the way a careful
NumPy user would (in-place updates, one loop over the parameters). It shows what NumPy
itself costs beyond the matrix products; descend's time divided by it is the price of being
a general library."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402

from common import initial_weights, load_mnist_arrays, read_spec, serve, set_blas_threads, shuffle_rng  # noqa: E402


class NumpyRunner:
    def __init__(self, spec):
        w = spec["workload"]
        self.info = dict(blas=set_blas_threads(spec.get("threads")))
        x, y, dx, dy, tx, ty = load_mnist_arrays(spec.get("data_dir"))
        self.inference = w.get("inference", False)
        self.x, self.y = (tx, ty) if self.inference else (x, y)
        self.dx, self.dy = dx, dy
        self.params = initial_weights(w["sizes"], spec["seed"])
        self.act = w["act"]
        self.opt, self.hp = w["opt"], w["hp"]
        self.state = [[np.zeros_like(p), np.zeros_like(p)] for p in self.params]
        self.t = 0
        self.batch, self.passes = w["batch"], w.get("passes", 1)
        self.rng = shuffle_rng(spec["seed"])

    def forward(self, xb):
        hs = [xb]
        ps = self.params
        for i in range(0, len(ps), 2):
            h = hs[-1] @ ps[i]
            h += ps[i + 1]
            if i + 2 < len(ps):
                if self.act == "relu":
                    np.maximum(h, 0, out=h)
                else:
                    np.tanh(h, out=h)
            hs.append(h)
        return hs

    def epoch(self, max_steps):
        x, y, bs = self.x, self.y, self.batch
        n = len(x)
        if self.inference:
            for _ in range(self.passes):
                for i, s in enumerate(range(0, n, bs)):
                    if max_steps is not None and i >= max_steps:
                        break
                    self.forward(x[s:s + bs])[-1].argmax(axis=1)
            return
        order = self.rng.permutation(n)
        for i, s in enumerate(range(0, n, bs)):
            if max_steps is not None and i >= max_steps:
                break
            idx = order[s:s + bs]
            self.step(np.take(x, idx, axis=0), np.take(y, idx))

    def step(self, xb, yb):
        ps = self.params
        hs = self.forward(xb)
        m = len(yb)
        # softmax + cross-entropy: dL/dz = (softmax(z) - onehot(y)) / m
        g = hs[-1]
        g -= g.max(axis=1, keepdims=True)
        np.exp(g, out=g)
        g /= g.sum(axis=1, keepdims=True)
        g[np.arange(m), yb] -= 1
        g /= m
        grads = [None] * len(ps)
        for i in range(len(ps) - 2, -1, -2):
            h = hs[i // 2]
            grads[i] = h.T @ g
            grads[i + 1] = g.sum(axis=0)
            if i:
                g = g @ ps[i].T
                if self.act == "relu":
                    g *= h > 0
                else:
                    g *= 1 - h * h
        self.update(grads)

    def update(self, grads):
        hp = self.hp
        lr = hp["lr"]
        if self.opt == "adam":
            b1, b2, eps = 0.9, 0.999, 1e-8
            self.t += 1
            step = lr / (1 - b1 ** self.t)
            c2 = np.sqrt(1 - b2 ** self.t)
            for p, g, (m, v) in zip(self.params, grads, self.state):
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * g * g
                p -= step * m / (np.sqrt(v) / c2 + eps)
        else:
            mu, nesterov = hp.get("momentum", 0.0), hp.get("nesterov", False)
            for p, g, (buf, _) in zip(self.params, grads, self.state):
                if mu:
                    buf *= mu
                    buf += g
                    g = g + mu * buf if nesterov else buf
                p -= lr * g

    def evaluate(self):
        pred = self.forward(self.dx)[-1].argmax(axis=1)
        return float((pred == self.dy).mean())


if __name__ == "__main__":
    spec = read_spec()
    serve(spec, NumpyRunner(spec))
