"""What every benchmark worker shares: the workloads, the data, the initial weights, and the
line protocol between the orchestrator (bench.py) and a worker process.

NumPy only (no descend, no torch), so that each framework's worker imports exactly what it
measures. A worker is started as ``python worker_X.py SPEC_JSON``; it prepares (imports, loads
the data, builds the model from the shared initial weights), prints one JSON line, and then
answers each line ``epoch`` on stdin with one JSON line holding the epoch's wall time, and the
line ``finish`` with the final dev accuracy and the process's peak RSS.
"""

from __future__ import annotations

import gzip
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

# Each workload: the network (layer sizes and activation), the batch size and the optimizer
# (name and hyperparameters, PyTorch's names); "inference" workloads time forward passes only.
WORKLOADS = {
    "W1": dict(sizes=[784, 128, 10], act="relu", batch=50, opt="adam", hp=dict(lr=1e-3),
               what="784-128-10 ReLU, batch 50, Adam 1e-3 (the course's network)"),
    "W2": dict(sizes=[784, 128, 10], act="relu", batch=50, opt="sgd", hp=dict(lr=0.1),
               what="784-128-10 ReLU, batch 50, SGD lr 0.1"),
    "W3": dict(sizes=[784, 512, 512, 10], act="relu", batch=256, opt="adam", hp=dict(lr=1e-3),
               what="784-512-512-10 ReLU, batch 256, Adam 1e-3"),
    "W4": dict(sizes=[784, 100, 10], act="tanh", batch=64, opt="sgd",
               hp=dict(lr=0.01, momentum=0.9, nesterov=True),
               what="784-100-10 tanh, batch 64, SGD lr 0.01 Nesterov momentum 0.9"),
    "W5": dict(sizes=[784, 128, 10], act="relu", batch=1000, opt=None, hp={}, inference=True,
               passes=10,
               what="inference of 784-128-10 ReLU on the 10,000 test images, batch 1,000"),
}

def resolve_workload(key: str) -> dict | None:
    """The workload named ``key``: one of WORKLOADS, or a variant of one for the scaling sweep,
    ``BASE@mods`` with mods joined by ``,``: ``bN`` batch N, ``wN`` every hidden layer N wide,
    ``dN`` N hidden layers (e.g. ``W1@b8``, ``W1@w2048``, ``W2@d4,w256``). None if unknown."""
    base, _, mods = key.partition("@")
    w = WORKLOADS.get(base)
    if w is None:
        return None
    w = dict(w, hp=dict(w["hp"]))
    if not mods:
        return w
    hidden = w["sizes"][1:-1]
    width, depth = hidden[0], len(hidden)
    for mod in mods.split(","):
        kind, value = mod[:1].lower(), mod[1:]
        if kind not in "bwd" or not value.isdigit() or int(value) < 1:
            return None
        if kind == "b":
            w["batch"] = int(value)
        elif kind == "w":
            width = int(value)
        else:
            depth = int(value)
    w["sizes"] = [w["sizes"][0]] + [width] * depth + [w["sizes"][-1]]
    w["what"] = (f"{'-'.join(map(str, w['sizes']))} {w['act']}, batch {w['batch']}, "
                 f"{w['opt']} {w['hp']} (sweep variant of {base})")
    return w


MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class BenchError(Exception):
    """A bad option or missing input of the benchmark: one line, printed without a traceback
    (``descend bench`` turns it into its ``error:`` line, bench.py prints it and exits 2)."""


def _shipped_mnist() -> Path | None:
    """The MNIST copy that ships with descend (``descend.data.locations``), or None without
    descend. Only the orchestrator gets here: workers are handed an explicit data_dir, so a
    worker still imports only what it measures."""
    try:
        from descend.data.locations import BUNDLED_DATA_DIRS
    except ImportError:
        return None
    return BUNDLED_DATA_DIRS[0] / "mnist"


def find_mnist(data_dir: str | None) -> Path:
    """The directory holding MNIST's four IDX files: --data_dir, $DESCEND_DATA, the cache, or
    the copy that ships with descend (so the benchmark runs offline right after installation)."""
    tried = []
    bases = [data_dir, os.environ.get("DESCEND_DATA"), str(Path.home() / ".cache" / "descend" / "datasets")]
    if data_dir and not Path(data_dir).is_dir():
        raise BenchError(f"--data_dir {data_dir}: no such directory; pass the directory holding "
                         "MNIST's four IDX files (gzipped or not)")
    dirs = [d for base in bases if base for d in (Path(base), Path(base) / "mnist")]
    shipped = None if data_dir else _shipped_mnist()
    for d in dirs + ([shipped] if shipped is not None else []):
        tried.append(str(d))
        if all((d / f).exists() or (d / (f + ".gz")).exists() for f in MNIST_FILES):
            return d
    raise BenchError("MNIST not found; looked in " + ", ".join(tried)
                     + ". Pass --data_dir DIR holding the four IDX files (gzipped or not).")


def _read_idx(path: Path) -> np.ndarray:
    gz = path.with_name(path.name + ".gz")
    raw = gzip.open(gz).read() if gz.exists() else path.read_bytes()
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist_arrays(data_dir: str | None):
    """(train_x, train_y, dev_x, dev_y, test_x, test_y): float32 pixels/255 flattened to 784,
    int64 labels; the course's 55,000 / 5,000 / 10,000 split (as descend.data.load_mnist)."""
    d = find_mnist(data_dir)
    xs, ys, tx, ty = (_read_idx(d / f) for f in MNIST_FILES)
    x = xs.reshape(len(xs), -1).astype(np.float32)
    x /= np.float32(255)
    t = tx.reshape(len(tx), -1).astype(np.float32)
    t /= np.float32(255)
    y, ty = ys.astype(np.int64), ty.astype(np.int64)
    return x[:55000], y[:55000], x[55000:], y[55000:], t, ty


def initial_weights(sizes, seed: int):
    """Glorot-uniform weights in descend's (in, out) layout and zero biases, float32."""
    rng = np.random.default_rng(seed)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        a = np.sqrt(6.0 / (fan_in + fan_out))
        params.append(rng.uniform(-a, a, size=(fan_in, fan_out)).astype(np.float32))
        params.append(np.zeros(fan_out, np.float32))
    return params


def shuffle_rng(seed: int) -> np.random.Generator:
    """The generator every framework draws its epoch permutations from (the same sequence)."""
    return np.random.default_rng(seed + 1)


def peak_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def set_blas_threads(threads: int | None) -> str:
    """Limit NumPy's BLAS (and OpenMP) pools to ``threads``; return a description of the kernel."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return "threadpoolctl not installed"
    if threads:
        threadpool_limits(threads)
    return "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                     f"threads={i.get('num_threads')}" for i in threadpool_info()
                     if i.get("user_api") == "blas")


def send(obj) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def serve(spec: dict, runner) -> None:
    """The worker side of the protocol. ``runner`` has ``epoch(max_steps)``, ``evaluate()``
    (final dev accuracy, or None) and a ``info`` dict."""
    send(dict(ready=True, setup_s=time.perf_counter() - spec["_t0"], **runner.info))
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "epoch":
            start, cpu = time.perf_counter(), time.process_time()
            runner.epoch(spec.get("max_steps"))
            send(dict(epoch_s=time.perf_counter() - start, cpu_s=time.process_time() - cpu))
        elif cmd == "finish":
            fingerprint = getattr(runner, "fingerprint", None)
            send(dict(dev_acc=runner.evaluate(), peak_rss_mb=peak_rss_mb(),
                      params_sha256=fingerprint() if fingerprint else None))
            return
        else:
            send(dict(error=f"unknown command {cmd!r}"))


def read_spec() -> dict:
    spec = json.loads(sys.argv[1])
    spec["_t0"] = time.perf_counter()
    return spec
