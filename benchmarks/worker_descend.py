"""descend side of the benchmark: the same network, initial weights, data order and
hyperparameters, written the way the library is meant to be used: ``descend.data`` batches,
``descend.nn`` layers, the fused cross-entropy loss and a ``descend.optim`` optimizer."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import initial_weights, read_spec, serve, set_blas_threads, shuffle_rng  # noqa: E402


class DescendRunner:
    def __init__(self, spec):
        t0 = time.perf_counter()
        import descend as ds
        from descend import nn, optim
        from descend.data import load_mnist
        from descend.functional import cross_entropy
        self.import_s = time.perf_counter() - t0
        self.ds, self.cross_entropy = ds, cross_entropy
        if spec.get("variant") == "flush-denormal":  # opt-in: subnormals read and written as 0
            import descend.kernels

            if not descend.kernels.set_flush_denormal(True):
                raise RuntimeError("descend.kernels.set_flush_denormal is not supported here")
        blas = set_blas_threads(spec.get("threads"))
        w = spec["workload"]
        splits = load_mnist(spec.get("data_dir"), flatten=True, download=False)
        self.inference = w.get("inference", False)
        self.train = splits.test if self.inference else splits.train
        self.dev = splits.dev
        sizes = w["sizes"]
        params = initial_weights(sizes, spec["seed"])
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[w["act"]]
        layers = []
        for i in range(len(sizes) - 1):
            lin = nn.Linear(sizes[i], sizes[i + 1])
            lin.weight.data[...] = params[2 * i]
            lin.bias.data[...] = params[2 * i + 1]
            layers.append(lin)
            if i < len(sizes) - 2:
                layers.append(act())
        self.model = nn.Sequential(*layers)
        hp = w["hp"]
        self.opt = None
        if w["opt"] == "adam":
            self.opt = optim.Adam(self.model.parameters(), **hp)
        elif w["opt"] == "sgd":
            self.opt = optim.SGD(self.model.parameters(), **hp)
        self.batch = w["batch"]
        self.passes = w.get("passes", 1)
        self.rng = shuffle_rng(spec["seed"])
        import descend.kernels

        self.info = dict(import_s=self.import_s, blas=blas, kernels=descend.kernels.describe())

    def epoch(self, max_steps):
        ds, model, opt, ce = self.ds, self.model, self.opt, self.cross_entropy
        bs = self.batch
        if self.inference:
            x = self.train.x
            with ds.no_grad():
                for _ in range(self.passes):
                    for i, s in enumerate(range(0, len(x), bs)):
                        if max_steps is not None and i >= max_steps:
                            break
                        model(x[s:s + bs]).argmax(axis=1)
            return
        batches = self.train.batches(bs, rng=self.rng, reuse_buffers=True)
        for i, (xb, yb) in enumerate(batches):
            if max_steps is not None and i >= max_steps:
                break
            opt.zero_grad(set_to_none=True)
            loss = ce(model(xb), yb)
            loss.backward()
            opt.step()

    def fingerprint(self):
        """SHA-256 of every parameter's bytes, in order: equal iff the parameters are identical."""
        import hashlib

        h = hashlib.sha256()
        for p in self.model.parameters():
            h.update(p.data.tobytes())
        return h.hexdigest()

    def evaluate(self):
        ds = self.ds
        with ds.no_grad():
            pred = self.model(self.dev.x).data.argmax(axis=1)
        return float((pred == self.dev.y).mean())


if __name__ == "__main__":
    spec = read_spec()
    serve(spec, DescendRunner(spec))
