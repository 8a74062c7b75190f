"""The figures docs/data.md gives for refusing a gzip bomb (not a test: run it).

    .venv/bin/python tests/data/bomb_figures.py

A 64 KB gzip file that inflates to 64 MiB of zeros is offered, through a file:// URL, as a
dataset file whose content is 10,000 bytes; prints the median time and peak traced memory of
the refusal over 5 runs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
import zlib
from pathlib import Path

from descend.data import DatasetCorruptError
from descend.data.download import download_verified


def bomb(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    return b"".join(compressor.compress(zeros) for _ in range(size >> 20)) + compressor.flush()


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory) / "bomb.gz"
        source.write_bytes(bomb(64 << 20))
        peaks, times = [], []
        for _ in range(5):
            tracemalloc.start()
            started = time.perf_counter()
            try:
                download_verified(source.as_uri(), Path(directory) / "out" / "x.gz", sha256="0" * 64,
                                  size=10_000, progress=False)
            except DatasetCorruptError:
                pass
            else:
                raise SystemExit("the bomb was accepted")
            times.append(time.perf_counter() - started)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
        print(f"{source.stat().st_size:,} bytes inflating to 64 MiB refused: median "
              f"{statistics.median(times) * 1e3:.1f} ms, peak traced memory "
              f"{statistics.median(peaks) / 1e6:.2f} MB (5 runs)")


if __name__ == "__main__":
    main()
