"""The matmul floor: only the matrix products of a training step (forward, and backward for
the weights and the hidden activations) plus the minibatch gather, in NumPy. No framework
can be faster than this with the same BLAS; a framework's time divided by it measures its
overhead (elementwise ops, optimizer, Python)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import numpy as np  # noqa: E402

from common import initial_weights, load_mnist_arrays, read_spec, serve, set_blas_threads, shuffle_rng  # noqa: E402


class Floor:
    def __init__(self, spec):
        w = spec["workload"]
        self.info = dict(blas=set_blas_threads(spec.get("threads")))
        x, y, _, _, tx, ty = load_mnist_arrays(spec.get("data_dir"))
        self.inference = w.get("inference", False)
        self.x, self.y = (tx, ty) if self.inference else (x, y)
        self.weights = initial_weights(w["sizes"], spec["seed"])[0::2]
        self.batch = w["batch"]
        self.passes = w.get("passes", 1)
        self.rng = shuffle_rng(spec["seed"])

    def epoch(self, max_steps):
        x, y, bs, ws = self.x, self.y, self.batch, self.weights
        n = len(x)
        if self.inference:
            for _ in range(self.passes):
                for i, s in enumerate(range(0, n, bs)):
                    if max_steps is not None and i >= max_steps:
                        break
                    h = x[s:s + bs]
                    for w in ws:
                        h = h @ w
            return
        order = self.rng.permutation(n)
        xb = np.empty((bs, x.shape[1]), np.float32)
        yb = np.empty(bs, y.dtype)
        for i, s in enumerate(range(0, n, bs)):
            if max_steps is not None and i >= max_steps:
                break
            idx = order[s:s + bs]
            m = len(idx)
            xi = xb if m == bs else xb[:m]
            np.take(x, idx, axis=0, out=xi)
            np.take(y, idx, axis=0, out=yb[:m])
            hs = [xi]
            for w in ws:
                hs.append(hs[-1] @ w)
            g = hs[-1]  # stands in for dL/d(output): same shape, same cost
            for layer in range(len(ws) - 1, -1, -1):
                hs[layer].T @ g  # dL/dW
                if layer:
                    g = g @ ws[layer].T  # dL/dh

    def evaluate(self):
        return None


if __name__ == "__main__":
    spec = read_spec()
    serve(spec, Floor(spec))
