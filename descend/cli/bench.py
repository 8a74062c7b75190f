"""Registers ``descend bench``: descend versus PyTorch (and JAX) on MNIST; see benchmarks/bench.py."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import CommandError, register

ENV = "DESCEND_BENCHMARKS"


def _harness() -> Path:
    """benchmarks/bench.py of the source checkout this package was imported from, or $DESCEND_BENCHMARKS."""
    candidates = []
    if os.environ.get(ENV):
        candidates.append(Path(os.environ[ENV]))
    candidates.append(Path(__file__).resolve().parents[2] / "benchmarks")  # descend/cli/ -> root
    for d in candidates:
        if (d / "bench.py").is_file():
            return d / "bench.py"
    raise CommandError(
        "descend bench needs the benchmark harness, benchmarks/bench.py of a descend source "
        f"checkout; looked in {', '.join(map(str, candidates))}. Clone the repository and "
        f"install it with 'pip install -e .', or set {ENV}=DIR to its benchmarks/ directory."
    )


def _load():
    path = _harness()
    sys.path.insert(0, str(path.parent))
    try:
        import bench  # the harness module of benchmarks/
    finally:
        sys.path.remove(str(path.parent))
    return bench


def add_arguments(parser: argparse.ArgumentParser) -> None:
    try:
        bench = _load()
    except CommandError:  # no harness here: `descend bench` will say so when run
        parser.add_argument("bench_args", nargs="*", help=argparse.SUPPRESS)
        return
    bench.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    bench = _load()
    try:
        return int(bench.run(args) or 0)
    except bench.BenchError as error:
        raise CommandError(str(error)) from None


register(
    "bench", add_arguments, run,
    help="Time descend against PyTorch (and JAX) on MNIST workloads.",
    description="Time descend against PyTorch (and JAX, when installed) on the same MNIST data, "
    "networks, initial weights and hyperparameters, alternating epochs in one run; print median "
    "epoch times, ratios to PyTorch and to the matmul floor, peak RSS and dev accuracy, and write "
    "JSON (the harness is benchmarks/bench.py; see docs/performance.md).",
)
