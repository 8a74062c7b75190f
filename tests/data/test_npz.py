"""A file that is not an .npz archive is reported as such, never with NumPy's "pickled data ...
allow_pickle" text (the wrong diagnosis, and an unsafe fix)."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from descend.data import DatasetCorruptError, DataFormatError, load_dataset, load_mnist, load_tabular
from descend.data.npz import npz_names, read_npz

NOT_ZIP = {
    "csv.npz": (b"a,b,y\n1,2,0\n3,4,1\n", "starts like a text file"),
    "empty.npz": (b"", "the file is empty"),
    "array.npz": (None, "single .npy array"),
    "pickle.npz": (pickle.dumps({"a": 1}), "looks like a Python pickle"),
    "gzip.npz": (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip-compressed"),
    "broken.npz": (b"PK\x03\x04 not really a zip", "starts with"),
}


def _write(path: Path, content: bytes | None) -> Path:
    if content is None:
        with open(path, "wb") as f:
            np.save(f, np.arange(3))
    else:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("name", sorted(NOT_ZIP))
def test_a_non_zip_npz_is_named_as_such_everywhere(tmp_path: Path, name: str):
    content, detail = NOT_ZIP[name]
    path = _write(tmp_path / name, content)
    for load, error in (
        (lambda: load_tabular(path, "y"), DataFormatError),
        (lambda: load_dataset(path, target="y"), DataFormatError),
        (lambda: load_dataset(path), DataFormatError),
        (lambda: load_mnist(path, download=False), DatasetCorruptError),
    ):
        with pytest.raises(error) as caught:
            load()
        message = str(caught.value)
        assert "not a valid .npz (zip) archive" in message and detail in message
        assert "allow_pickle" not in message and "pickled" not in message


def test_object_arrays_are_refused_without_suggesting_allow_pickle(tmp_path: Path):
    path = tmp_path / "objects.npz"
    np.savez(path, a=np.zeros(3), y=np.array(["x", 1, None], dtype=object))
    with pytest.raises(DataFormatError) as caught:
        read_npz(path, DataFormatError)
    message = str(caught.value)
    assert "'y' holds Python objects" in message and "string array" in message
    assert "allow_pickle" not in message


def test_a_zip_member_that_is_not_an_array(tmp_path: Path):
    path = tmp_path / "odd.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert npz_names(path, DataFormatError) == ["readme.txt"]
    with pytest.raises(DataFormatError, match="'readme.txt' of the archive is not a NumPy array"):
        read_npz(path, DataFormatError)


def test_a_valid_archive_reads_in_order(tmp_path: Path):
    path = tmp_path / "ok.npz"
    np.savez(path, b=np.arange(3), a=np.ones(3))
    arrays = read_npz(path, DataFormatError)
    assert list(arrays) == ["b", "a"] and npz_names(path, DataFormatError) == ["b", "a"]
    np.testing.assert_array_equal(arrays["b"], np.arange(3))
