"""Where the tests find MNIST: $DESCEND_TEST_MNIST, else the workspace's shared copy beside the
project (../shared/datasets/mnist). Only tests look there; the library never does."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mnist_dir() -> Path | None:
    explicit = os.environ.get("DESCEND_TEST_MNIST")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(REPO.parent / "shared" / "datasets" / "mnist")
    for path in candidates:
        if (path / "train-images-idx3-ubyte.gz").is_file() or (path / "train-images-idx3-ubyte").is_file():
            return path
    return None
