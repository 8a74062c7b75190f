"""MNIST ships with descend: found offline with nothing configured, after every place the user
controls, and verified by SHA-256 like a download."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

import descend.data
from descend.data import FASHION_MNIST, MNIST, DatasetCorruptError, load_dataset, load_mnist
from descend.data import locations

PACKAGE_COPY = Path(descend.data.__file__).resolve().parent / "bundled" / "mnist"


@pytest.fixture
def fresh_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A user with an empty home and cache, no DESCEND_* variables, no system datasets, and no
    network (downloads go to a closed port); the shipped copy is left in place."""
    for name in ("DESCEND_DATA", "DESCEND_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(locations, "SYSTEM_DATA_DIRS", (tmp_path / "system",))
    monkeypatch.setenv("DESCEND_MNIST_URL", "http://127.0.0.1:9/")
    return tmp_path


def test_the_package_holds_the_four_files_with_the_catalogued_content():
    for data_file in MNIST.files:
        content = gzip.decompress((PACKAGE_COPY / data_file.gz_name).read_bytes())
        assert len(content) == data_file.size
        assert hashlib.sha256(content).hexdigest() == data_file.sha256


def test_mnist_loads_offline_with_nothing_configured(fresh_machine: Path):
    splits = load_mnist(progress=False)
    assert Path(splits.source) == PACKAGE_COPY
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (55_000, 5_000, 10_000)
    np.testing.assert_array_equal(splits.train.y[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    assert not (fresh_machine / "home" / ".cache").exists()  # nothing copied or downloaded
    assert load_dataset("mnist", download=False).source == splits.source


def test_every_place_the_user_controls_comes_first(fresh_machine: Path, link_mnist, monkeypatch):
    cache = link_mnist(PACKAGE_COPY, fresh_machine / "home" / ".cache" / "descend" / "datasets" / "mnist")
    assert load_mnist(download=False).source == str(cache)
    data = link_mnist(PACKAGE_COPY, fresh_machine / "data" / "mnist")
    monkeypatch.setenv("DESCEND_DATA", str(fresh_machine / "data"))
    assert load_mnist(download=False).source == str(data)
    explicit = link_mnist(PACKAGE_COPY, fresh_machine / "explicit")
    assert load_mnist(explicit, download=False).source == str(explicit)


def test_the_shipped_copy_is_listed_last_and_only_for_mnist():
    labels = [c.label for c in locations.candidates(MNIST, None)]
    assert labels[-1] == locations.BUNDLED_LABEL and labels.count(locations.BUNDLED_LABEL) == 1
    fashion = [c.label for c in locations.candidates(FASHION_MNIST, None)]
    assert locations.BUNDLED_LABEL not in fashion  # not shipped: downloaded as before


def test_a_damaged_shipped_copy_is_detected_and_says_reinstall(fresh_machine: Path, copy_mnist,
                                                               monkeypatch):
    bundled = fresh_machine / "site-packages" / "bundled"
    copy = copy_mnist(PACKAGE_COPY, bundled / "mnist")
    labels = gzip.decompress((copy / "t10k-labels-idx1-ubyte.gz").read_bytes())
    damaged = labels[:-1] + bytes([(labels[-1] + 1) % 10])
    (copy / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(damaged))
    monkeypatch.setattr(locations, "BUNDLED_DATA_DIRS", (bundled,))
    with pytest.raises(DatasetCorruptError, match=r"copy shipped with descend.*reinstall descend"):
        load_mnist(progress=False)
