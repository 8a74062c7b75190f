"""The IDX file format of MNIST and Fashion-MNIST, optionally gzip-compressed.

An IDX file is a header followed by the raw array in C order, big-endian::

    bytes 0-1   0x00 0x00            magic: two zero bytes
    byte  2     type code             0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                                      0x0D float32, 0x0E float64
    byte  3     number of dimensions  d >= 1
    4*d bytes   the sizes, each a big-endian uint32
    the data    prod(sizes) * itemsize bytes, nothing after it

:func:`parse_idx` checks every part of that header against the size of the data, so a truncated
or foreign file is reported with a message that says what is wrong instead of producing an
array of the wrong shape.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import DatasetCorruptError

__all__ = ["parse_idx", "read_idx", "write_idx", "read_maybe_gzip"]

PathLike = str | os.PathLike[str]

GZIP_MAGIC = b"\x1f\x8b"

# type code -> big-endian dtype as stored in the file
_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES: dict[str, int] = {dt.newbyteorder("=").str[1:]: code for code, dt in _IDX_TYPES.items()}


def parse_idx(data: bytes | bytearray | memoryview, *, source: str = "<bytes>") -> np.ndarray:
    """Parse the bytes of an (uncompressed) IDX file into an array.

    Args:
        data: the whole file content.
        source: a name for the data (usually its path), used in error messages.

    Returns:
        The array in native byte order. For uint8/int8 data it is a read-only view over
        ``data`` (no copy); copy it if you need to modify it.

    Raises:
        DatasetCorruptError: the header is invalid (magic, type code, number of dimensions)
            or the amount of data does not match the sizes the header declares.
    """
    view = memoryview(data).cast("B")
    total = len(view)
    if total < 4:
        raise DatasetCorruptError(
            f"{source}: not an IDX file: {total} bytes is shorter than the 4-byte header"
        )
    zero0, zero1, code, ndim = view[0], view[1], view[2], view[3]
    if zero0 != 0 or zero1 != 0:
        hint = (
            " (it looks gzip-compressed; decompress it first)"
            if bytes(view[:2]) == GZIP_MAGIC
            else ""
        )
        raise DatasetCorruptError(
            f"{source}: not an IDX file: the magic number starts with bytes "
            f"{zero0:#04x} {zero1:#04x}, expected 0x00 0x00{hint}"
        )
    if code not in _IDX_TYPES:
        known = ", ".join(f"{c:#04x}" for c in _IDX_TYPES)
        raise DatasetCorruptError(
            f"{source}: not an IDX file: unknown data type code {code:#04x} (known: {known})"
        )
    if ndim == 0:
        raise DatasetCorruptError(f"{source}: invalid IDX header: 0 dimensions")
    header_size = 4 + 4 * ndim
    if total < header_size:
        raise DatasetCorruptError(
            f"{source}: truncated IDX file: the header declares {ndim} dimensions and needs "
            f"{header_size} bytes, but the file has only {total} bytes"
        )
    shape = struct.unpack(f">{ndim}I", view[4:header_size])
    dtype = _IDX_TYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual = total - header_size
    if actual < expected:
        raise DatasetCorruptError(
            f"{source}: truncated IDX file: the header declares shape {tuple(shape)} of "
            f"{dtype.newbyteorder('=').name}, which is {expected} bytes of data, but only "
            f"{actual} bytes follow the header"
        )
    if actual > expected:
        raise DatasetCorruptError(
            f"{source}: invalid IDX file: the header declares shape {tuple(shape)} "
            f"({expected} bytes of data) but {actual - expected} extra bytes follow the data"
        )
    array = np.frombuffer(view, dtype=dtype, count=expected // dtype.itemsize, offset=header_size)
    array = array.reshape(shape)
    if not dtype.isnative:
        array = array.astype(dtype.newbyteorder("="))
    return array


def read_maybe_gzip(path: PathLike) -> bytes:
    """Return the content of ``path``, decompressed if it is gzip (detected by its magic bytes).

    Raises:
        FileNotFoundError: the file does not exist.
        DatasetCorruptError: the file is gzip but truncated or damaged.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] != GZIP_MAGIC:
        if path.suffix == ".gz":
            raise DatasetCorruptError(
                f"{path}: not a gzip file although its name ends in .gz "
                f"(it starts with {raw[:4]!r}); delete it and get it again"
            )
        return raw
    try:
        return gzip.decompress(raw)
    except EOFError as error:
        raise DatasetCorruptError(
            f"{path}: truncated gzip file ({len(raw)} bytes; {error}); delete it and get it again"
        ) from error
    except (gzip.BadGzipFile, zlib.error, OSError) as error:
        raise DatasetCorruptError(
            f"{path}: damaged gzip file ({error}); delete it and get it again"
        ) from error


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file, gzip-compressed or not, into an array (see :func:`parse_idx`)."""
    return parse_idx(read_maybe_gzip(path), source=str(path))


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file; gzip-compressed if ``path`` ends in ``.gz``.

    Supported dtypes: uint8, int8, int16, int32, float32, float64 (the IDX types).
    """
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=").str[1:]
    if key not in _IDX_CODES:
        raise TypeError(
            f"write_idx: dtype {array.dtype} has no IDX type code; use one of "
            "uint8, int8, int16, int32, float32, float64"
        )
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: need 1 to 255 dimensions, got {array.ndim}")
    code = _IDX_CODES[key]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=_IDX_TYPES[code]).tobytes()
    content = header + payload
    path = Path(path)
    if path.suffix == ".gz":
        content = gzip.compress(content, compresslevel=6, mtime=0)
    path.write_bytes(content)
