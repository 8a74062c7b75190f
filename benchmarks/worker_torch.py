"""PyTorch side of the benchmark: the same network, initial weights, data order and
hyperparameters, written the way a PyTorch user writes a fast loop (data preloaded as
tensors, index gather per batch, no DataLoader). ``variant`` "fused" uses fused=True
optimizers (one kernel per step instead of a loop over parameters)."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import initial_weights, load_mnist_arrays, read_spec, serve, shuffle_rng  # noqa: E402


class TorchRunner:
    def __init__(self, spec):
        t0 = time.perf_counter()
        import torch
        import torch.nn.functional as F
        self.import_s = time.perf_counter() - t0
        self.torch, self.F = torch, F
        if spec.get("threads"):
            torch.set_num_threads(spec["threads"])
        w = spec["workload"]
        x, y, dx, dy, tx, ty = load_mnist_arrays(spec.get("data_dir"))
        self.inference = w.get("inference", False)
        self.x = torch.from_numpy(tx if self.inference else x)
        self.y = torch.from_numpy(ty if self.inference else y)
        self.dx, self.dy = torch.from_numpy(dx), torch.from_numpy(dy)
        layers = []
        sizes = w["sizes"]
        params = initial_weights(sizes, spec["seed"])
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}[w["act"]]
        for i in range(len(sizes) - 1):
            lin = torch.nn.Linear(sizes[i], sizes[i + 1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(params[2 * i].T.copy()))
                lin.bias.copy_(torch.from_numpy(params[2 * i + 1]))
            layers.append(lin)
            if i < len(sizes) - 2:
                layers.append(act())
        self.model = torch.nn.Sequential(*layers)
        self.opt = None
        fused = spec.get("variant") == "fused"
        kw = dict(fused=True) if fused else {}
        if w["opt"] == "adam":
            self.opt = torch.optim.Adam(self.model.parameters(), **w["hp"], **kw)
        elif w["opt"] == "sgd":
            self.opt = torch.optim.SGD(self.model.parameters(), **w["hp"], **kw)
        self.batch = w["batch"]
        self.passes = w.get("passes", 1)
        self.rng = shuffle_rng(spec["seed"])
        self.info = dict(import_s=self.import_s, threads=torch.get_num_threads(),
                         version=torch.__version__)

    def epoch(self, max_steps):
        torch, F, model, opt = self.torch, self.F, self.model, self.opt  # noqa: F841
        x, y, bs = self.x, self.y, self.batch
        n = len(x)
        if self.inference:
            with torch.inference_mode():
                for _ in range(self.passes):
                    for i, s in enumerate(range(0, n, bs)):
                        if max_steps is not None and i >= max_steps:
                            break
                        model(x[s:s + bs]).argmax(1)
            return
        order = torch.from_numpy(self.rng.permutation(n))
        for i, s in enumerate(range(0, n, bs)):
            if max_steps is not None and i >= max_steps:
                break
            idx = order[s:s + bs]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()

    def evaluate(self):
        torch = self.torch
        with torch.inference_mode():
            pred = self.model(self.dx).argmax(1)
        return float((pred == self.dy).float().mean())


if __name__ == "__main__":
    spec = read_spec()
    serve(spec, TorchRunner(spec))
