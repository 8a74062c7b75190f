"""Where the tests find MNIST: the copy that ships with descend (package data), so every test
that needs MNIST runs on every machine, offline, without a path outside the project."""

from __future__ import annotations

from pathlib import Path

from descend.data.locations import BUNDLED_DATA_DIRS

REPO = Path(__file__).resolve().parents[1]


def mnist_dir() -> Path:
    """The directory of the shipped MNIST files (``descend/data/bundled/mnist``)."""
    path = BUNDLED_DATA_DIRS[0] / "mnist"
    if not (path / "train-images-idx3-ubyte.gz").is_file():
        # not a skip: a checkout or installation without them is broken
        raise FileNotFoundError(f"the MNIST copy that ships with descend is missing from {path}")
    return path
