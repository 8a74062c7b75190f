"""Combine several `descend bench` JSON files (separate invocations) into one table: for each
workload and ratio, the median over the runs of each run's median epoch ratio, with the range
over the runs in brackets; wall-clock and process-CPU ratios.

    python benchmarks/summarize.py benchmarks/results/issue14-run*.json
"""

from __future__ import annotations

import json
import statistics
import sys

PAIRS = [("descend", "floor"), ("descend-numpy", "floor"), ("descend-ftz", "floor"),
         ("numpy", "floor"), ("jax", "floor"),
         ("jax-step", "floor"), ("torch", "floor"), ("descend", "numpy"), ("descend", "jax-step"),
         ("descend", "jax"), ("descend", "torch"), ("descend", "torch-fused")]


def run_ratio(fw: dict, a: str, b: str, key: str) -> float | None:
    """The median over the timed epochs of the epoch-by-epoch ratio a / b in one run."""
    if a not in fw or b not in fw:
        return None
    pairs = [x / y for x, y in zip(fw[a][key], fw[b][key]) if y]
    return statistics.median(pairs) if pairs else None


def cell(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def main(paths: list[str]) -> None:
    runs = [json.load(open(p)) for p in paths]
    workloads = list(dict.fromkeys(k for r in runs for k in r["workloads"]))
    identical = {k: [r["workloads"][k].get("c_numpy_bit_identical") for r in runs if k in r["workloads"]]
                 for k in workloads}
    for key, label in (("times_s", "wall"), ("cpu_s", "process CPU")):
        print(f"\n{label} time ratios, median over {len(runs)} runs [range] ({', '.join(paths)})\n")
        pairs = [(a, b) for a, b in PAIRS if any(
            a in r["workloads"][w]["frameworks"] and b in r["workloads"][w]["frameworks"]
            for r in runs for w in r["workloads"])]
        print("| workload | " + " | ".join(f"{a}/{b}" for a, b in pairs) + " | C = NumPy kernels |")
        print("|" + "---|" * (len(pairs) + 2))
        for w in workloads:
            cells = []
            for a, b in pairs:
                vals = [v for r in runs if w in r["workloads"]
                        for v in [run_ratio(r["workloads"][w]["frameworks"], a, b, key)] if v is not None]
                cells.append(cell(vals))
            same = identical[w]
            flag = "-" if all(s is None for s in same) else ("yes" if all(same) else "NO")
            print(f"| {w} | " + " | ".join(cells) + f" | {flag} |")


if __name__ == "__main__":
    main(sys.argv[1:])
