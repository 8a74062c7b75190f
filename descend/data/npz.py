"""Reading ``.npz`` archives safely, with messages that say what is wrong.

An ``.npz`` file is a zip archive of ``.npy`` arrays (written by :func:`numpy.savez`). Given
a file that is not a zip archive, :func:`numpy.load` tries to read it as a pickle and, with
``allow_pickle=False``, says the file "contains pickled data" and suggests ``allow_pickle``:
the wrong diagnosis, and an unsafe fix (unpickling an untrusted file can run any code). Here
the file is checked to be a zip archive first, arrays of Python objects are refused with a
reason, and nothing is ever unpickled.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from .errors import DatasetError

__all__ = ["read_npz", "npz_names"]

_NPY_MAGIC = b"\x93NUMPY"


def read_npz(path: str | os.PathLike[str], error: type[DatasetError]) -> dict[str, np.ndarray]:
    """All arrays of the ``.npz`` archive ``path``, by name (in archive order).

    Args:
        path: the archive.
        error: the exception class to raise (a :class:`DatasetError` subclass, e.g.
            ``DataFormatError`` for a user's table, ``DatasetCorruptError`` for a dataset).

    Raises:
        error: the file cannot be read, is not a zip archive ("not a valid .npz (zip)
            archive"), is a damaged archive, holds something other than ``.npy`` arrays, or
            holds an array of Python objects (which would need unpickling).
    """
    path = Path(path)
    _check_zip(path, error)
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                arrays[key] = _member(path, archive, key, error)
    except DatasetError:
        raise
    except (OSError, EOFError, ValueError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise error(f"{path}: damaged .npz archive ({exc}); write it again with numpy.savez") from exc
    return arrays


def npz_names(path: str | os.PathLike[str], error: type[DatasetError]) -> list[str]:
    """The array names of the ``.npz`` archive ``path`` without loading the arrays.

    Raises:
        error: the file cannot be read, is not a zip archive or is a damaged one.
    """
    path = Path(path)
    _check_zip(path, error)
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise error(f"{path}: damaged .npz archive ({exc}); write it again with numpy.savez") from exc
    return [name[:-4] if name.endswith(".npy") else name for name in members]


def _check_zip(path: Path, error: type[DatasetError]) -> None:
    try:
        with open(path, "rb") as file:
            head = file.read(8)
        is_zip = zipfile.is_zipfile(path)
    except OSError as exc:
        raise error(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    if not is_zip:
        raise error(f"{path}: not a valid .npz (zip) archive{_what_it_is(head)}. An .npz file "
                    "is a zip archive of arrays, written by numpy.savez or numpy.savez_compressed")


def _member(path: Path, archive: np.lib.npyio.NpzFile, key: str, error: type[DatasetError]) -> np.ndarray:
    try:
        value = archive[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "pickle" in str(exc).lower():
            raise error(
                f"{path}: array {key!r} holds Python objects (dtype=object), which descend does "
                "not load because unpickling a file can run arbitrary code; store numbers as a "
                "numeric array and text as a string array (e.g. np.array(labels, dtype=str))"
            ) from None
        raise error(f"{path}: array {key!r} of the .npz archive is damaged ({exc})") from exc
    if not isinstance(value, np.ndarray):
        raise error(f"{path}: member {key!r} of the archive is not a NumPy array (.npy file); an "
                    ".npz must hold only arrays, as numpy.savez writes")
    return value


def _what_it_is(head: bytes) -> str:
    if not head:
        return " (the file is empty)"
    if head.startswith(_NPY_MAGIC):
        return " (it is a single .npy array, as numpy.save writes; use numpy.savez for an .npz)"
    if head[:1] in (b"\x80",):
        return " (it looks like a Python pickle, which descend never loads)"
    if head[:2] == b"\x1f\x8b":
        return " (it is gzip-compressed data)"
    try:
        text = head.decode("ascii")
    except UnicodeDecodeError:
        return f" (it starts with the bytes {head!r})"
    if text.isprintable() or "\n" in text or "," in text:
        return f" (it starts like a text file: {text!r}; a CSV file should end in .csv)"
    return f" (it starts with the bytes {head!r})"
