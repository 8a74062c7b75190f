"""A negative result, kept so that it can be re-measured: software prefetch of the next
minibatch's rows.

Gathering 50 random rows of MNIST's 172 MB training matrix takes about 11 us from memory and
3 us from cache. The idea: while a step computes, prefetch the next batch's rows (their
indices are known from the permutation), so that the next gather reads from cache. This times
(1) the gather alone, cold, warm, and after prefetching every 64-byte line, the first line, or
every fourth line of each row, with W1's products in between; (2) W1 and W2 epochs with the
prefetch added to ``Dataset.batches(reuse_buffers=True)``, interleaved with the plain ones.
The prefetch itself stalls about as long as it saves (the CPU's miss buffers fill up).

    python benchmarks/experiments/gather_prefetch.py        (needs gcc)
"""

import ctypes
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import WORKLOADS, find_mnist  # noqa: E402

C_SOURCE = r"""
#include <stddef.h>
#include <stdint.h>
void prefetch_rows(const char *base, size_t row_bytes, const int64_t *idx, size_t n, size_t step) {
    for (size_t i = 0; i < n; i++)
        for (size_t off = 0; off < row_bytes; off += step)
            __builtin_prefetch(base + (size_t)idx[i] * row_bytes + off, 0, 3);
}
"""


def build() -> ctypes.CDLL:
    tmp = Path(tempfile.mkdtemp())
    (tmp / "pf.c").write_text(C_SOURCE)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(tmp / "pf.so"), str(tmp / "pf.c")], check=True)
    lib = ctypes.CDLL(str(tmp / "pf.so"))
    lib.prefetch_rows.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
    return lib


def gather_alone(lib) -> None:
    x = np.random.default_rng(0).random((55000, 784), dtype=np.float32)
    buf = np.empty((50, 784), np.float32)
    order = np.random.default_rng(1).permutation(55000)
    w = np.random.default_rng(2).random((784, 128), dtype=np.float32)
    big = np.zeros(400_000, np.float32)

    def run(step: int, warm: bool = False) -> str:
        gathers, prefetches = [], []
        for s in range(0, 50_000, 50):
            idx = order[s:s + 50]
            t = time.perf_counter()
            if step:
                lib.prefetch_rows(x.ctypes.data, x.strides[0], idx.ctypes.data, 50, step)
            prefetches.append(time.perf_counter() - t)
            if warm:
                x.take(idx, 0, buf, "clip")
            buf @ w  # a step's worth of other memory traffic in between
            np.add(big, 1.0, out=big)
            t = time.perf_counter()
            x.take(idx, 0, buf, "clip")
            gathers.append(time.perf_counter() - t)
        return f"gather {np.median(gathers) * 1e6:.1f} us + prefetch {np.median(prefetches) * 1e6:.1f} us"

    print("50 rows of 55000 x 784 float32, median wall time:")
    print("  no prefetch:        ", run(0))
    print("  warm (just read):   ", run(0, warm=True))
    print("  every line:         ", run(64))
    print("  first line of a row:", run(4096))
    print("  every 4th line:     ", run(256))


def epochs(lib) -> None:
    import descend.data.dataset as dataset
    from worker_descend import DescendRunner

    plain = dataset.Dataset._gather_into

    def with_prefetch(self, order, batch_size, stop):
        x, y = self.x, self.y
        size = min(batch_size, len(self))
        xbuf, ybuf = np.empty((size, *x.shape[1:]), x.dtype), np.empty((size, *y.shape[1:]), y.dtype)
        for start in range(0, stop, batch_size):
            index = order[start:start + batch_size]
            m = len(index)
            xb, yb = (xbuf, ybuf) if m == size else (xbuf[:m], ybuf[:m])
            x.take(index, 0, xb, "clip")
            following = order[start + batch_size:start + 2 * batch_size]
            if len(following):
                lib.prefetch_rows(x.ctypes.data, x.strides[0], following.ctypes.data, len(following), 64)
            y.take(index, 0, yb, "clip")
            yield xb, yb

    for name in ("W1", "W2"):
        runner = DescendRunner(dict(workload=WORKLOADS[name], seed=42, threads=1, data_dir=str(find_mnist(None))))
        runner.epoch(None)
        times = {"plain": [], "prefetch": []}
        for _ in range(5):
            for label, gather in (("plain", plain), ("prefetch", with_prefetch)):
                dataset.Dataset._gather_into = gather
                t = time.process_time()
                runner.epoch(None)
                times[label].append(time.process_time() - t)
        dataset.Dataset._gather_into = plain
        print(f"{name} CPU s per epoch, median of 5: plain {np.median(times['plain']):.4f}, "
              f"with prefetch {np.median(times['prefetch']):.4f}")


if __name__ == "__main__":
    lib = build()
    gather_alone(lib)
    epochs(lib)
