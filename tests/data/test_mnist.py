"""MNIST from the shared copy, Fashion-MNIST where installed, and .npz image archives."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from descend.data import (
    DatasetCorruptError,
    DatasetNotFoundError,
    load_dataset,
    load_fashion_mnist,
    load_image_dataset,
    load_mnist,
    read_idx,
    write_idx,
)


def test_shapes_dtypes_and_split_sizes(mnist):
    train, dev, test = mnist
    assert (len(train), len(dev), len(test)) == (55_000, 5_000, 10_000)
    for split in (train, dev, test):
        assert split.x.dtype == np.float32 and split.x.shape[1:] == (28, 28)
        assert split.y.dtype == np.int64 and split.y.shape == (len(split),)
        assert split.x.flags.c_contiguous
        assert split.x.min() == 0.0 and split.x.max() == 1.0
        assert split.y.min() == 0 and split.y.max() == 9
    assert mnist.task == "multiclass" and mnist.classes == tuple(range(10))
    assert mnist.num_classes == 10 and mnist.input_shape == (28, 28)
    assert mnist.name == "mnist"


def test_known_labels_and_pixel_checksums(mnist):
    train, dev, test = mnist
    np.testing.assert_array_equal(train.y[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    np.testing.assert_array_equal(dev.y[:5], [1, 2, 8, 7, 4])
    np.testing.assert_array_equal(test.y[:5], [7, 2, 1, 0, 4])
    np.testing.assert_array_equal(
        np.bincount(test.y), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    )
    np.testing.assert_array_equal(
        np.bincount(train.y), [5434, 6212, 5465, 5622, 5343, 4963, 5436, 5702, 5357, 5466]
    )
    assert int(np.round(train.x[0].sum() * 255)) == 27525
    assert int(np.round(dev.x[0].sum() * 255)) == 12743
    assert int(np.round(test.x[0].sum() * 255)) == 18454
    assert int((test.x.astype(np.float64) * 255).round().sum()) == 264_923_200


def test_split_is_first_55000_and_last_5000_of_official_train(mnist, mnist_dir: Path):
    raw = read_idx(mnist_dir / "train-images-idx3-ubyte.gz")
    labels = read_idx(mnist_dir / "train-labels-idx1-ubyte.gz")
    train, dev, _ = mnist
    # exactly uint8 / 255 in float32, as torchvision's ToTensor and the course compute it
    np.testing.assert_array_equal(train.x[[0, 54_999]], raw[[0, 54_999]].astype(np.float32) / 255)
    np.testing.assert_array_equal(dev.x[[0, -1]], raw[[55_000, 59_999]].astype(np.float32) / 255)
    np.testing.assert_array_equal(np.concatenate([train.y, dev.y]), labels)


def test_flattened_from_a_subdirectory_of_descend_data(
    isolated: Path, mnist_dir: Path, link_mnist, mnist, monkeypatch
):
    link_mnist(mnist_dir, isolated / "data" / "mnist")
    monkeypatch.setenv("DESCEND_DATA", str(isolated / "data"))
    flat = load_dataset("MNIST", download=False, flatten=True)
    assert flat.source == str(isolated / "data" / "mnist")
    assert flat.train.x.shape == (55_000, 784) and flat.test.x.shape == (10_000, 784)
    assert flat.input_shape == (784,)
    np.testing.assert_array_equal(flat.dev.x[7], mnist.dev.x[7].ravel())
    with pytest.raises(TypeError, match="only to tabular"):
        load_dataset("mnist", target="y")


def test_other_dataset_files_are_recognised_and_skipped(isolated: Path, mnist_dir: Path):
    with pytest.raises(DatasetNotFoundError) as info:
        load_fashion_mnist(mnist_dir, download=False)
    message = str(info.value)
    assert "holds MNIST files, not Fashion-MNIST" in message
    assert "apt-get install dataset-fashion-mnist" in message


FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.skipif(
    not (FASHION / "train-images-idx3-ubyte.gz").is_file(),
    reason="dataset-fashion-mnist not installed",
)
def test_fashion_mnist_from_debian_package(monkeypatch):
    for name in ("DESCEND_DATA", "DESCEND_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", "/nonexistent-home")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    splits = load_fashion_mnist(download=False)
    assert splits.source == str(FASHION)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (55_000, 5_000, 10_000)
    assert splits.classes[0] == "T-shirt/top" and splits.classes[9] == "Ankle boot"
    np.testing.assert_array_equal(np.bincount(splits.test.y), [1000] * 10)


# --------------------------------------------------------------------------- verify=False


def test_verify_false_accepts_a_modified_copy_but_checks_structure(tmp_path: Path, tiny):
    directory = tmp_path / "modified"
    directory.mkdir()
    images = tiny.train_images.copy()
    images[0, 0, 0] ^= 1
    write_idx(directory / "train-images-idx3-ubyte", images)  # uncompressed is fine too
    for stem, array in (
        ("train-labels-idx1-ubyte", tiny.train_labels),
        ("t10k-images-idx3-ubyte", tiny.test_images),
        ("t10k-labels-idx1-ubyte", tiny.test_labels),
    ):
        write_idx(directory / f"{stem}.gz", array)
    with pytest.raises(DatasetCorruptError, match="SHA-256"):
        load_image_dataset(tiny.spec, directory, download=False)
    splits = load_image_dataset(tiny.spec, directory, download=False, verify=False)
    assert splits.train.x[0, 0, 0] == np.float32(images[0, 0, 0]) / np.float32(255)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (9, 3, 4)

    write_idx(directory / "train-labels-idx1-ubyte.gz", np.full(12, 10, dtype=np.uint8))
    with pytest.raises(DatasetCorruptError, match=r"labels must be in 0\.\.9"):
        load_image_dataset(tiny.spec, directory, download=False, verify=False)
    write_idx(directory / "train-labels-idx1-ubyte.gz", tiny.train_labels[:11])
    with pytest.raises(DatasetCorruptError, match="11 labels for 12 images"):
        load_image_dataset(tiny.spec, directory, download=False, verify=False)


# --------------------------------------------------------------------------- .npz archives


def course_archive(path: Path, n=(6, 2, 3), **overrides) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    arrays = {}
    for split, size in zip(("train", "dev", "test"), n):
        arrays[f"{split}_images"] = rng.integers(0, 256, (size, 28, 28, 1), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 10, size).astype(np.int64)
    arrays.update(overrides)
    np.savez(path, **arrays)
    return arrays


def test_npz_in_course_format(isolated: Path):
    archive = isolated / "mnist.npz"
    arrays = course_archive(archive)
    splits = load_mnist(archive, download=False)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (6, 2, 3)
    assert splits.train.x.shape == (6, 28, 28) and splits.train.x.dtype == np.float32
    np.testing.assert_array_equal(
        splits.dev.x, arrays["dev_images"][..., 0].astype(np.float32) / 255
    )
    np.testing.assert_array_equal(splits.test.y, arrays["test_labels"])
    assert splits.test.y.dtype == np.int64
    # also found as DIR/mnist.npz, and through load_dataset(path)
    assert load_mnist(isolated, download=False).source == str(archive)
    assert len(load_dataset(archive).train) == 6


def test_npz_in_xy_format_is_split_55k_5k(isolated: Path):
    archive = isolated / "keras.npz"
    x_train = np.zeros((5_004, 28, 28), dtype=np.uint8)
    x_train[-5_000:, 0, 0] = 255
    np.savez(
        archive,
        x_train=x_train,
        y_train=np.arange(5_004) % 10,
        x_test=np.zeros((2, 784), dtype=np.float32),
        y_test=np.array([1, 2]),
    )
    splits = load_mnist(archive, download=False, flatten=True)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (4, 5_000, 2)
    assert splits.train.x[:, 0].max() == 0.0 and splits.dev.x[:, 0].min() == 1.0
    np.testing.assert_array_equal(splits.train.y, [0, 1, 2, 3])


def test_npz_errors(isolated: Path):
    wrong = isolated / "wrong.npz"
    np.savez(wrong, images=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(DatasetCorruptError, match=r"arrays \['images'\], expected train_images"):
        load_mnist(wrong, download=False)
    bad_range = isolated / "range.npz"
    course_archive(bad_range, train_images=np.full((6, 28, 28), 2.0, np.float32))
    with pytest.raises(DatasetCorruptError, match=r"in \[0, 1\]"):
        load_mnist(bad_range, download=False)
    bad_shape = isolated / "shape.npz"
    course_archive(bad_shape, test_images=np.zeros((3, 27, 28), np.uint8))
    with pytest.raises(DatasetCorruptError, match=r"test images: expected shape \(N, 28, 28\)"):
        load_mnist(bad_shape, download=False)
    not_zip = isolated / "broken.npz"
    not_zip.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DatasetCorruptError, match=r"not a valid \.npz \(zip\) archive"):
        load_mnist(not_zip, download=False)


def test_truncated_file_in_data_dir(isolated: Path, mnist_dir: Path, link_mnist, mnist_files):
    directory = isolated / "truncated"
    link_mnist(mnist_dir, directory)
    (directory / mnist_files[1]).unlink()
    content = (mnist_dir / mnist_files[1]).read_bytes()
    (directory / mnist_files[1]).write_bytes(content[: len(content) - 100])
    with pytest.raises(DatasetCorruptError, match="truncated gzip") as info:
        load_mnist(directory, download=False)
    assert mnist_files[1] in str(info.value)


def test_modified_content_in_data_dir_fails_the_checksum(
    isolated: Path, mnist_dir: Path, link_mnist, mnist_files
):
    directory = isolated / "modified"
    link_mnist(mnist_dir, directory)
    labels = read_idx(mnist_dir / mnist_files[3]).copy()
    labels[0] = (labels[0] + 1) % 10  # still a valid IDX file with valid labels
    (directory / mnist_files[3]).unlink()
    write_idx(directory / mnist_files[3], labels)
    with pytest.raises(DatasetCorruptError) as info:
        load_mnist(directory, download=False)
    message = str(info.value)
    assert "SHA-256" in message and "t10k-labels-idx1-ubyte" in message
    assert "replace it with an intact copy" in message
    assert gzip.decompress((directory / mnist_files[3]).read_bytes())[8] == labels[0]
