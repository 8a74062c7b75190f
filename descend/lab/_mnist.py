"""MNIST for the lab: loaded through ``descend.data`` (never from a hard-coded path).

``data_dir`` is passed to :func:`descend.data.load_mnist`, which also looks at ``$DESCEND_DATA``,
the user cache and the system directory, and otherwise downloads (unless ``download=False``).
A missing dataset raises the data layer's :class:`~descend.data.DatasetNotFoundError`, whose
message says where it looked and how to get the data.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

__all__ = ["load_flat_mnist"]


def load_flat_mnist(data_dir: str | os.PathLike | None, download: bool = True) -> Any:
    """MNIST :class:`~descend.data.Splits` with images flattened to (N, 784) float32 in [0, 1]."""
    from ..data import load_mnist

    return load_mnist(data_dir, download=download, flatten=True)


def subset(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` examples drawn without replacement."""
    idx = rng.choice(len(x), size=min(n, len(x)), replace=False)
    return x[idx], y[idx]
