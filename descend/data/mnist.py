"""MNIST and Fashion-MNIST: find, verify, download and split.

Both datasets come as four IDX files (gzipped or not) or as one ``.npz`` archive, found in the
order described in :mod:`descend.data.locations`, else downloaded into the user cache. MNIST
ships with descend (package data), so it is always found, offline too; the shipped copy is
verified by SHA-256 like any other.

Splits, as in the course: train = the first 55,000 images of the official training set, dev =
its last 5,000, test = the 10,000 official test images. Images are float32 in [0, 1] (pixel
value / 255) of shape (N, 28, 28), or (N, 784) with ``flatten=True``; labels are int64 in 0..9.

Integrity: every IDX file's decompressed content is checked against its SHA-256 on *every* load
(``verify=True``, the default), wherever it was found, including the cache. The content has to
be decompressed to be used anyway, and hashing it costs about 0.03 s for all of MNIST, so a
damaged or foreign file is always detected and never used; no marker files are needed.
``verify=False`` skips the checksum (for a deliberately modified copy) but still checks the
IDX headers, shapes and label range. ``.npz`` archives have no canonical bytes and are checked
structurally only (keys, shapes, dtypes, value ranges).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from .catalog import (
    FASHION_MNIST,
    IMAGE_DATASETS,
    KNOWN_CONTENT,
    MNIST,
    DataFile,
    ImageDatasetSpec,
    get_spec,
)
from .dataset import Dataset, Splits
from .download import content_sha256, download_verified
from .errors import DatasetCorruptError, DatasetNotFoundError, DownloadError
from .idx import parse_idx, read_maybe_gzip
from .npz import read_npz
from .locations import (
    BUNDLED_LABEL,
    CACHE_ENV,
    DATA_ENV,
    Candidate,
    Found,
    candidates,
    dataset_cache_dir,
    probe,
)

__all__ = ["load_mnist", "load_fashion_mnist", "load_image_dataset", "download_dataset"]

PathLike = str | os.PathLike[str]


class _OtherDataset(Exception):
    """A file is intact but belongs to another known dataset (e.g. MNIST instead of Fashion)."""


def load_mnist(
    data_dir: PathLike | None = None,
    *,
    download: bool = True,
    flatten: bool = False,
    verify: bool = True,
    progress: bool = True,
) -> Splits:
    """Load MNIST split into train (55,000), dev (5,000) and test (10,000).

    Args:
        data_dir: a directory holding the four IDX files (``train-images-idx3-ubyte.gz``,
            ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
            ``t10k-labels-idx1-ubyte.gz``; gzipped or not) or a ``mnist/`` subdirectory or a
            ``mnist.npz`` with them; or the path of an ``.npz`` archive. Looked at first; then
            ``$DESCEND_DATA``, the user cache, ``/usr/share/datasets/mnist``, and the copy
            shipped with descend (so MNIST loads offline without any of these).
        download: if found nowhere (only possible when the shipped copy was removed), download
            into the user cache (verified by SHA-256).
        flatten: images of shape (N, 784) instead of (N, 28, 28).
        verify: check each IDX file's SHA-256 (see the module docstring).
        progress: show a download progress bar on stderr (needs ``tqdm``).

    Returns:
        :class:`Splits` with float32 images in [0, 1], int64 labels, task ``"multiclass"`` and
        classes 0..9.

    Raises:
        DatasetNotFoundError: found nowhere and not downloadable; the message lists where it
            looked and how to provide the data.
        DatasetCorruptError: a file was found but is damaged (checksum, truncation, header).
    """
    return load_image_dataset(
        MNIST, data_dir, download=download, flatten=flatten, verify=verify, progress=progress
    )


def load_fashion_mnist(
    data_dir: PathLike | None = None,
    *,
    download: bool = True,
    flatten: bool = False,
    verify: bool = True,
    progress: bool = True,
) -> Splits:
    """Load Fashion-MNIST, split and formatted exactly as :func:`load_mnist`.

    Also found in ``/usr/share/datasets/fashion-mnist`` (Debian package
    ``dataset-fashion-mnist``) and in ``fashion-mnist/``, ``fashion_mnist/`` or ``fashion/``
    subdirectories or a ``fashion-mnist.npz`` archive. Classes are the garment names
    (``"T-shirt/top"``, ``"Trouser"``, ...).
    """
    return load_image_dataset(
        FASHION_MNIST,
        data_dir,
        download=download,
        flatten=flatten,
        verify=verify,
        progress=progress,
    )


def load_image_dataset(
    spec: ImageDatasetSpec,
    data_dir: PathLike | None = None,
    *,
    download: bool = True,
    flatten: bool = False,
    verify: bool = True,
    progress: bool = True,
) -> Splits:
    """Load the MNIST-format dataset described by ``spec`` (see :func:`load_mnist`)."""
    looked: list[tuple[Candidate, str]] = []
    for candidate in candidates(spec, data_dir):
        found, note, _ = probe(spec, candidate)
        if found is not None:
            try:
                splits = _load_found(spec, found, flatten=flatten, verify=verify)
            except _OtherDataset as other:
                note = str(other)
            else:
                if found.label != "data_dir argument":
                    _warn_if_data_dir_unused(spec, data_dir, looked, splits.source)
                return splits
        looked.append((candidate, note))

    url = _base_url(spec)
    if not download:
        raise DatasetNotFoundError(
            _not_found_message(spec, looked, url, "disabled (download=False)")
        )
    try:
        directory = download_dataset(spec.name, progress=progress)
    except DownloadError as error:
        raise DatasetNotFoundError(
            _not_found_message(spec, looked, url, f"failed: {error}")
        ) from error
    found, note, _ = probe(spec, Candidate("user cache", directory, is_cache=True))
    if found is None:  # pragma: no cover - download_dataset guarantees the files
        raise DatasetNotFoundError(f"{spec.title}: downloaded into {directory} but {note}")
    splits = _load_found(spec, found, flatten=flatten, verify=verify)
    _warn_if_data_dir_unused(spec, data_dir, looked, splits.source)
    return splits


def _warn_if_data_dir_unused(
    spec: ImageDatasetSpec,
    data_dir: PathLike | None,
    looked: list[tuple[Candidate, str]],
    source: str,
) -> None:
    """An explicit data_dir that did not hold the dataset is worth a warning (a typo?)."""
    if data_dir is None:
        return
    notes = "; ".join(f"{c.path}: {note}" for c, note in looked if c.label == "data_dir argument")
    warnings.warn(
        f"data_dir {os.fspath(data_dir)!r} does not hold {spec.title} ({notes}); "
        f"using {source} instead",
        stacklevel=4,
    )


def download_dataset(name: str, *, progress: bool = True) -> Path:
    """Download the files of a known dataset that the user cache lacks; return its directory.

    Files already in the cache are kept (and verified when loaded). The base URL is the
    dataset's standard mirror unless the dataset's environment variable
    (``DESCEND_MNIST_URL``, ``DESCEND_FASHION_MNIST_URL``) names another one.

    Raises:
        DatasetNotFoundError: ``name`` is not a known dataset.
        DownloadError: a transfer failed.
        DatasetCorruptError: a downloaded file has the wrong SHA-256 (nothing is written).
    """
    spec = get_spec(name)
    if spec is None:
        raise DatasetNotFoundError(
            f"unknown dataset {name!r}; known: {', '.join(sorted(IMAGE_DATASETS))}"
        )
    directory = dataset_cache_dir(spec.name)
    base = _base_url(spec)
    for data_file in spec.files:
        if (directory / data_file.gz_name).is_file() or (directory / data_file.stem).is_file():
            continue
        download_verified(
            base + data_file.gz_name,
            directory / data_file.gz_name,
            sha256=data_file.sha256,
            size=data_file.size,
            progress=progress,
            what=f"{spec.title} {data_file.gz_name}",
        )
    return directory


def _base_url(spec: ImageDatasetSpec) -> str:
    base = os.environ.get(spec.url_env) or spec.url
    return base if base.endswith("/") else base + "/"


# --------------------------------------------------------------------------- loading


def _load_found(spec: ImageDatasetSpec, found: Found, *, flatten: bool, verify: bool) -> Splits:
    if found.kind == "npz":
        assert found.npz is not None
        train_x, train_y, dev_x, dev_y, test_x, test_y = _read_npz(spec, found.npz)
    elif (fast := _load_idx_streaming(spec, found, verify=verify)) is not None:
        train_x, train_y, dev_x, dev_y, test_x, test_y = fast
    else:
        arrays = [_read_idx_file(spec, found, f, verify=verify) for f in spec.files]
        train_images, train_labels, test_images, test_labels = arrays
        source = str(found.directory)
        _check_images(spec, train_images, f"{source}: {spec.train_images.stem}")
        _check_images(spec, test_images, f"{source}: {spec.test_images.stem}")
        _check_labels(spec, train_labels, len(train_images), f"{source}: {spec.train_labels.stem}")
        _check_labels(spec, test_labels, len(test_images), f"{source}: {spec.test_labels.stem}")
        if len(train_images) <= spec.dev_size:
            raise DatasetCorruptError(
                f"{source}: the training set has {len(train_images)} images, too few for a "
                f"dev set of {spec.dev_size}"
            )
        images = _to_unit_float(train_images)
        labels = train_labels.astype(np.int64)
        cut = len(images) - spec.dev_size
        train_x, dev_x = images[:cut], images[cut:]
        train_y, dev_y = labels[:cut], labels[cut:]
        test_x, test_y = _to_unit_float(test_images), test_labels.astype(np.int64)
    if flatten:
        train_x, dev_x, test_x = (a.reshape(len(a), -1) for a in (train_x, dev_x, test_x))
    return Splits(
        train=Dataset(train_x, train_y),
        dev=Dataset(dev_x, dev_y),
        test=Dataset(test_x, test_y),
        task="multiclass",
        classes=spec.classes,
        name=spec.name,
        source=str(found.source),
    )


_STREAM_CHUNK = 1 << 20  # bytes of pixels decompressed, hashed and converted at a time


def _load_idx_streaming(spec: ImageDatasetSpec, found: Found, *, verify: bool) -> tuple | None:
    """The common case, intact IDX files, with a lower peak memory: each image file is
    decompressed, hashed and converted to float32 chunk by chunk straight into its final
    array, so the whole decompressed file (47 MB for MNIST's training images) never sits
    in memory beside the 188 MB of floats. The values are exactly those of the plain path
    (``uint8 -> float32``, then ``/ float32(255)``).

    Returns None on anything unusual (damaged, foreign or unexpected files, a checksum
    mismatch): the plain path then reads the files again and reports the problem exactly.
    """
    try:
        train_file, train_labels_file, test_file, test_labels_file = spec.files
        images = _stream_unit_float(spec, found.files[train_file.stem], train_file.sha256, verify)
        if images is None:
            return None
        labels = _read_idx_file(spec, found, train_labels_file, verify=verify)
        test_x = _stream_unit_float(spec, found.files[test_file.stem], test_file.sha256, verify)
        if test_x is None:
            return None
        test_labels = _read_idx_file(spec, found, test_labels_file, verify=verify)
        source = str(found.directory)
        _check_labels(spec, labels, len(images), f"{source}: {train_labels_file.stem}")
        _check_labels(spec, test_labels, len(test_x), f"{source}: {test_labels_file.stem}")
        if len(images) <= spec.dev_size:
            return None
    except Exception:  # noqa: BLE001 (the plain path raises the right error)
        return None
    labels = labels.astype(np.int64)
    cut = len(images) - spec.dev_size
    return images[:cut], labels[:cut], images[cut:], labels[cut:], test_x, test_labels.astype(np.int64)


def _stream_unit_float(spec: ImageDatasetSpec, path: Path, sha256: str, verify: bool) -> np.ndarray | None:
    """The uint8 images of an IDX file as float32 in [0, 1], or None if it is not a valid
    IDX file of images of ``spec.image_shape`` with the expected checksum."""
    import gzip
    import hashlib
    import struct

    path = Path(path)
    with open(path, "rb") as f:
        compressed = f.read(2) == b"\x1f\x8b"
    if not compressed and path.suffix == ".gz":
        return None
    hasher = hashlib.sha256()
    with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
        header = f.read(16)
        if len(header) < 16 or header[:4] != b"\x00\x00\x08\x03":
            return None
        shape = struct.unpack(">3I", header[4:])
        if tuple(shape[1:]) != tuple(spec.image_shape):
            return None
        hasher.update(header)
        out = np.empty(shape, dtype=np.float32)
        flat = out.reshape(-1)
        total, pos = flat.size, 0
        scale = np.float32(255)
        while pos < total:
            chunk = f.read(min(_STREAM_CHUNK, total - pos))
            if not chunk:
                return None  # truncated
            hasher.update(chunk)
            k = len(chunk)
            np.divide(np.frombuffer(chunk, dtype=np.uint8), scale, out=flat[pos:pos + k])
            pos += k
        if f.read(1):
            return None  # extra bytes after the data
    if verify and hasher.hexdigest() != sha256:
        return None
    return out


def _read_idx_file(
    spec: ImageDatasetSpec, found: Found, data_file: DataFile, *, verify: bool
) -> np.ndarray:
    path = found.files[data_file.stem]
    content = read_maybe_gzip(path)
    if verify:
        digest = content_sha256(content)
        if digest != data_file.sha256:
            known = KNOWN_CONTENT.get(digest)
            if known is not None and known[0] != spec.title:
                raise _OtherDataset(f"holds {known[0]} files, not {spec.title}")
            if found.label == "user cache":
                fix = "delete it and load again to download a fresh copy"
            elif found.label == BUNDLED_LABEL:
                fix = "reinstall descend (pip install --force-reinstall descend) to restore it"
            else:
                fix = "replace it with an intact copy"
            what = f"{known[0]}'s {known[1]}" if known else "an unknown file"
            raise DatasetCorruptError(
                f"{path} is damaged or not {spec.title}'s {data_file.stem}: its content has "
                f"SHA-256 {digest}, expected {data_file.sha256} (it is {what}; found via "
                f"{found.label}). Fix: {fix}, or pass verify=False to use a deliberately "
                "modified copy."
            )
    return parse_idx(content, source=str(path))


def _check_images(spec: ImageDatasetSpec, images: np.ndarray, source: str) -> None:
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != spec.image_shape:
        raise DatasetCorruptError(
            f"{source}: expected uint8 images of shape (N, {spec.image_shape[0]}, "
            f"{spec.image_shape[1]}), got {images.dtype} {images.shape}"
        )


def _check_labels(spec: ImageDatasetSpec, labels: np.ndarray, n: int, source: str) -> None:
    if labels.ndim != 1 or labels.dtype.kind not in "ui":
        raise DatasetCorruptError(
            f"{source}: expected a 1-D integer label array, got {labels.dtype} {labels.shape}"
        )
    if len(labels) != n:
        raise DatasetCorruptError(f"{source}: {len(labels)} labels for {n} images")
    if n and (labels.min() < 0 or labels.max() >= len(spec.classes)):
        raise DatasetCorruptError(
            f"{source}: labels must be in 0..{len(spec.classes) - 1}, found "
            f"{labels.min()}..{labels.max()}"
        )


def _to_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 in [0, 1]; exactly ``images.astype(float32) / 255``."""
    out = images.astype(np.float32)
    out /= np.float32(255)
    return out


_COURSE_KEYS = (
    "train_images",
    "train_labels",
    "dev_images",
    "dev_labels",
    "test_images",
    "test_labels",
)
_KERAS_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _read_npz(spec: ImageDatasetSpec, path: Path) -> tuple[np.ndarray, ...]:
    """Read an image archive: either the course's keys ``{train,dev,test}_{images,labels}`` or
    the common ``x_train, y_train, x_test, y_test`` (whose training part is split 55k/5k)."""
    archive = read_npz(path, DatasetCorruptError)
    keys = set(archive)
    if set(_COURSE_KEYS) <= keys:
        raw = [archive[k] for k in _COURSE_KEYS]
    elif set(_KERAS_KEYS) <= keys:
        x_train, y_train, x_test, y_test = (archive[k] for k in _KERAS_KEYS)
        if len(x_train) <= spec.dev_size:
            raise DatasetCorruptError(
                f"{path}: x_train has {len(x_train)} images, too few for a dev set of {spec.dev_size}"
            )
        cut = len(x_train) - spec.dev_size
        raw = [x_train[:cut], y_train[:cut], x_train[cut:], y_train[cut:], x_test, y_test]
    else:
        raise DatasetCorruptError(
            f"{path}: not a {spec.title} archive: it has the arrays {sorted(keys)}, expected "
            f"{', '.join(_COURSE_KEYS)} (or {', '.join(_KERAS_KEYS)})"
        )
    result: list[np.ndarray] = []
    for split in range(3):
        images, labels = raw[2 * split], raw[2 * split + 1]
        name = ("train", "dev", "test")[split]
        images = _npz_images(spec, images, f"{path}: {name} images")
        labels = np.asarray(labels)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        _check_labels(spec, labels, len(images), f"{path}: {name} labels")
        result += [images, labels.astype(np.int64)]
    return tuple(result)


def _npz_images(spec: ImageDatasetSpec, images: np.ndarray, source: str) -> np.ndarray:
    h, w = spec.image_shape
    if images.ndim == 4 and images.shape[3] == 1:
        images = images[..., 0]
    elif images.ndim == 2 and images.shape[1] == h * w:
        images = images.reshape(len(images), h, w)
    if images.ndim != 3 or images.shape[1:] != (h, w):
        raise DatasetCorruptError(
            f"{source}: expected shape (N, {h}, {w}), (N, {h}, {w}, 1) or (N, {h * w}), got {images.shape}"
        )
    if images.dtype == np.uint8:
        return _to_unit_float(images)
    if images.dtype.kind != "f":
        raise DatasetCorruptError(f"{source}: expected uint8 or float pixels, got {images.dtype}")
    images = images.astype(np.float32)
    if images.size and not (
        np.isfinite(images).all() and images.min() >= 0.0 and images.max() <= 1.0
    ):
        raise DatasetCorruptError(f"{source}: float pixels must be finite and in [0, 1]")
    return images


# --------------------------------------------------------------------------- messages


def _not_found_message(
    spec: ImageDatasetSpec, looked: list[tuple[Candidate, str]], url: str, download_note: str
) -> str:
    lines = [f"{spec.title} was not found. Looked in, in this order:"]
    for number, (candidate, note) in enumerate(looked, 1):
        where = candidate.label if candidate.path is None else f"{candidate.label} {candidate.path}"
        lines.append(f"  {number}. {where}: {note}")
    lines.append(f"  {len(looked) + 1}. download from {url}: {download_note}")
    files = ", ".join(f.gz_name for f in spec.files)
    cache = dataset_cache_dir(spec.name)
    lines += [
        "To fix it, do one of:",
        f"  - pass data_dir=DIR (command line: --data_dir DIR) where DIR, DIR/{spec.name}/ or "
        f"DIR/{spec.name}.npz holds the data: the files {files} (gzipped or not);",
        f"  - set the environment variable {DATA_ENV}=DIR;",
        f"  - copy the four files into the cache, {cache} (cache root set by {CACHE_ENV});",
        f"  - download with network access (download=True), or set {spec.url_env} to a mirror "
        "that serves the four files;",
    ]
    if spec.debian_package:
        lines.append(f"  - on Debian/Ubuntu: apt-get install {spec.debian_package}")
    lines.append("See docs/data.md.")
    return "\n".join(lines)
