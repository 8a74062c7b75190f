"""The lookup order: data_dir, $DESCEND_DATA, the user cache, the system directory, download."""

from __future__ import annotations

import gzip
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from descend.data import (
    DatasetCorruptError,
    DatasetNotFoundError,
    cache_dir,
    load_image_dataset,
    load_mnist,
    write_idx,
)


def copy_tiny(tiny, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for path in tiny.directory.iterdir():
        shutil.copyfile(path, target / path.name)
    return target


def test_cache_dir_resolution(isolated: Path, monkeypatch):
    assert cache_dir() == isolated / "home" / ".cache" / "descend"
    monkeypatch.setenv("XDG_CACHE_HOME", str(isolated / "xdg"))
    assert cache_dir() == isolated / "xdg" / "descend"
    monkeypatch.setenv("DESCEND_CACHE", str(isolated / "mine"))
    assert cache_dir() == isolated / "mine"


def test_lookup_order(isolated: Path, tiny, monkeypatch):
    explicit = copy_tiny(tiny, isolated / "explicit")
    env = copy_tiny(tiny, isolated / "env" / "tiny")  # found as $DESCEND_DATA/tiny
    cache = copy_tiny(tiny, isolated / "home" / ".cache" / "descend" / "datasets" / "tiny")
    system = copy_tiny(tiny, isolated / "system" / "tiny")
    monkeypatch.setenv("DESCEND_DATA", str(isolated / "env"))

    assert load_image_dataset(tiny.spec, explicit, download=False).source == str(explicit)
    assert load_image_dataset(tiny.spec, download=False).source == str(env)
    monkeypatch.delenv("DESCEND_DATA")
    assert load_image_dataset(tiny.spec, download=False).source == str(cache)
    shutil.rmtree(cache)
    splits = load_image_dataset(tiny.spec, download=False)
    assert splits.source == str(system)
    np.testing.assert_array_equal(splits.test.y, tiny.test_labels)
    np.testing.assert_array_equal(splits.dev.y, tiny.train_labels[9:])
    shutil.rmtree(system)
    with pytest.raises(DatasetNotFoundError) as info:
        load_image_dataset(tiny.spec, isolated / "nowhere", download=False)
    message = str(info.value)
    places = [
        f"1. data_dir argument {isolated / 'nowhere'}: does not exist",
        "2. $DESCEND_DATA: not set",
        f"3. user cache {cache}: does not exist",
        f"4. system directory {system}: does not exist",
        "5. download from http://127.0.0.1:9/: disabled (download=False)",
    ]
    positions = [message.index(place) for place in places]
    assert positions == sorted(positions)
    for fix in ("--data_dir", "DESCEND_DATA=DIR", "DESCEND_TINY_URL", "DESCEND_CACHE"):
        assert fix in message


def test_unused_data_dir_is_warned_about(isolated: Path, tiny):
    cache = copy_tiny(tiny, cache_dir() / "datasets" / "tiny")
    with pytest.warns(UserWarning, match=r"data_dir '.*typo' does not hold Tiny .*does not exist"):
        splits = load_image_dataset(tiny.spec, isolated / "typo", download=False)
    assert splits.source == str(cache)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_image_dataset(tiny.spec, cache, download=False)  # used: no warning
        load_image_dataset(tiny.spec, download=False)  # none given: no warning


def test_several_data_directories_and_incomplete_ones(isolated: Path, tiny, monkeypatch):
    first = isolated / "first"
    first.mkdir()
    shutil.copyfile(
        tiny.directory / "train-images-idx3-ubyte.gz", first / "train-images-idx3-ubyte.gz"
    )
    second = copy_tiny(tiny, isolated / "second")
    monkeypatch.setenv("DESCEND_DATA", os.pathsep.join([str(first), str(second)]))
    assert load_image_dataset(tiny.spec, download=False).source == str(second)
    monkeypatch.setenv("DESCEND_DATA", str(first))
    with pytest.raises(
        DatasetNotFoundError, match="incomplete, missing train-labels-idx1-ubyte.gz"
    ):
        load_image_dataset(tiny.spec, download=False)


def test_corrupt_file_in_cache_is_detected(isolated: Path, tiny):
    cache = copy_tiny(tiny, cache_dir() / "datasets" / "tiny")
    labels = tiny.test_labels.copy()
    labels[0] = (labels[0] + 1) % 10
    write_idx(cache / "t10k-labels-idx1-ubyte.gz", labels)  # valid gzip, valid IDX, wrong content
    with pytest.raises(DatasetCorruptError) as info:
        load_image_dataset(tiny.spec)
    message = str(info.value)
    assert str(cache / "t10k-labels-idx1-ubyte.gz") in message
    assert "SHA-256" in message and "user cache" in message
    assert "delete it and load again" in message


def test_corrupt_real_mnist_file_in_cache_is_detected(isolated: Path, mnist_dir: Path, link_mnist):
    cache = link_mnist(mnist_dir, cache_dir() / "datasets" / "mnist")
    name = "train-labels-idx1-ubyte.gz"
    content = bytearray((mnist_dir / name).read_bytes())
    content[len(content) // 2] ^= 0x01  # one flipped bit in the compressed stream
    (cache / name).unlink()
    (cache / name).write_bytes(bytes(content))
    with pytest.raises(DatasetCorruptError) as info:
        load_mnist()
    assert str(cache / name) in str(info.value)


def test_truncated_gz_in_cache(isolated: Path, tiny):
    cache = copy_tiny(tiny, cache_dir() / "datasets" / "tiny")
    path = cache / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetCorruptError, match="truncated gzip"):
        load_image_dataset(tiny.spec)


def test_uncompressed_files_are_accepted_and_verified(isolated: Path, tiny):
    directory = isolated / "raw"
    directory.mkdir()
    for path in tiny.directory.iterdir():
        (directory / path.stem).write_bytes(gzip.decompress(path.read_bytes()))
    splits = load_image_dataset(tiny.spec, directory, download=False)
    np.testing.assert_array_equal(splits.train.y, tiny.train_labels[:9])
    raw = directory / "t10k-images-idx3-ubyte"
    content = bytearray(raw.read_bytes())
    content[-1] ^= 0xFF
    raw.write_bytes(bytes(content))
    with pytest.raises(DatasetCorruptError, match="SHA-256"):
        load_image_dataset(tiny.spec, directory, download=False)


def test_failed_download_is_part_of_the_not_found_message(isolated: Path, tiny):
    with pytest.raises(DatasetNotFoundError) as info:
        load_image_dataset(tiny.spec, progress=False)
    message = str(info.value)
    assert "5. download from http://127.0.0.1:9/: failed:" in message
    cache = cache_dir() / "datasets" / "tiny"
    assert not cache.exists() or not any(cache.iterdir())
