"""Small CSV tables for the run and command-line tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> Path:
    """Write ``columns`` (name -> values) as a CSV with a header line."""
    names = list(columns)
    n = len(next(iter(columns.values())))
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            f.write(",".join(str(columns[c][i]) for c in names) + "\n")
    return path
