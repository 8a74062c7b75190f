"""What the PNG plots cost a whole `descend train --epochs 1` (issue 12.5: under a third).

Runs the command with and without plots, alternating, in fresh processes, and prints the
median wall-clock time of each and the plots' share of the run with plots:

    .venv/bin/python benchmarks/plots_cost.py --repeats 7
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(extra: list[str], directory: Path) -> float:
    command = [sys.executable, "-m", "descend", "train", "--epochs", "1", "--no_tensorboard",
               "--logdir", str(directory), *extra]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"plots": [], "no plots": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            times["plots"].append(run([], Path(tmp) / f"p{i}"))
            times["no plots"].append(run(["--no_plots"], Path(tmp) / f"n{i}"))
    with_plots, without = (statistics.median(times[k]) for k in ("plots", "no plots"))
    for key, values in times.items():
        print(f"{key:9s} median {statistics.median(values):.3f} s  (min {min(values):.3f}, max {max(values):.3f})")
    print(f"plots cost {with_plots - without:.3f} s = {(with_plots - without) / with_plots:.0%} of the run with plots")


if __name__ == "__main__":
    main()
