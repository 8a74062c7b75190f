"""Helpers of the run and command-line tests: small CSV tables, the real entry point.

(A uniquely named module: ``from conftest import ...`` resolves to whichever conftest.py was
imported first when several test folders run together.)
"""

from __future__ import annotations

import os
import subprocess
import sys
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


def run_cli(*args: str, env: dict | None = None, timeout: float = 120, **kwargs):
    """``python -m descend ARGS`` in a subprocess (the real entry point, exit status and streams)."""
    full_env = dict(os.environ)
    full_env.pop("DESCEND_DATA", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "descend", *args], cwd=kwargs.pop("cwd", REPO), env=full_env,
        capture_output=True, text=True, timeout=timeout, **kwargs,
    )
