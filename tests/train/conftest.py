"""Shared fixtures of the trainer and command-line tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared_data import REPO, mnist_dir  # noqa: F401  (tests import both from here)
from tables import write_csv


@pytest.fixture
def mnist() -> Path:
    return mnist_dir()  # the copy that ships with descend: never skipped


@pytest.fixture
def regression_csv(tmp_path: Path) -> Path:
    """y = 1.5 a - 2 b + 0.5 c + 3 + noise(0.1): a linear regression with noise variance 0.01."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 4))
    y = x @ np.array([1.5, -2.0, 0.5, 0.0]) + 3.0 + 0.1 * rng.normal(size=1500)
    return write_csv(tmp_path / "regression.csv", {
        "a": x[:, 0].round(5), "b": x[:, 1].round(5), "c": x[:, 2].round(5), "d": x[:, 3].round(5),
        "y": y.round(5),
    })


@pytest.fixture
def binary_csv(tmp_path: Path) -> Path:
    """label = [a + b > 0], with 5 % of the labels flipped."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1500, 3))
    label = (x[:, 0] + x[:, 1] > 0).astype(int)
    flip = rng.random(1500) < 0.05
    label[flip] = 1 - label[flip]
    return write_csv(tmp_path / "binary.csv", {
        "a": x[:, 0].round(5), "b": x[:, 1].round(5), "c": x[:, 2].round(5), "label": label,
    })


@pytest.fixture
def multiclass_csv(tmp_path: Path) -> Path:
    """animal in {cat, dog, emu} by thresholds on a: a text target, three classes."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(1500, 3))
    animal = np.array(["cat", "dog", "emu"])[np.digitize(x[:, 0], [-0.5, 0.5])]
    return write_csv(tmp_path / "animals.csv", {
        "a": x[:, 0].round(5), "b": x[:, 1].round(5), "c": x[:, 2].round(5), "animal": animal,
    })
