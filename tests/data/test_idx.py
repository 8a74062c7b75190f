"""The IDX parser on small generated files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from descend.data import DatasetCorruptError, parse_idx, read_idx, write_idx


def idx_bytes(code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


def test_parse_hand_made_uint8():
    data = idx_bytes(0x08, (2, 3), bytes(range(6)))
    array = parse_idx(data)
    assert array.dtype == np.uint8
    assert array.shape == (2, 3)
    np.testing.assert_array_equal(array, [[0, 1, 2], [3, 4, 5]])


def test_parse_big_endian_int32_and_float32():
    ints = parse_idx(idx_bytes(0x0C, (2,), b"\x00\x00\x01\x02\xff\xff\xff\xfe"))
    assert ints.dtype == np.int32 and ints.dtype.isnative
    np.testing.assert_array_equal(ints, [258, -2])
    floats = parse_idx(idx_bytes(0x0D, (1,), struct.pack(">f", 1.5)))
    assert floats.dtype == np.float32 and floats.dtype.isnative
    assert floats[0] == 1.5


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_write_read_roundtrip(tmp_path: Path, dtype, suffix: str):
    rng = np.random.default_rng(1)
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == array.shape
    np.testing.assert_array_equal(back, array)
    if suffix:
        assert path.read_bytes()[:2] == b"\x1f\x8b"


def test_gzip_detected_by_content_not_name(tmp_path: Path):
    path = tmp_path / "labels-idx1-ubyte"  # no .gz suffix, gzip content
    path.write_bytes(gzip.compress(idx_bytes(0x08, (3,), b"\x01\x02\x03")))
    np.testing.assert_array_equal(read_idx(path), [1, 2, 3])


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x00", "shorter than the 4-byte header"),
        (b"\x01\x00\x08\x01\x00\x00\x00\x01\x00", "magic number"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown data type code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (
            b"\x00\x00\x08\x03\x00\x00\x00\x01",
            "truncated IDX file: the header declares 3 dimensions",
        ),
        (idx_bytes(0x08, (2, 3), bytes(5)), "only 5 bytes follow the header"),
        (idx_bytes(0x0C, (2,), bytes(7)), "truncated"),
        (idx_bytes(0x08, (2,), bytes(3)), "1 extra bytes"),
        (gzip.compress(idx_bytes(0x08, (1,), b"\x00")), "gzip-compressed"),
    ],
)
def test_invalid_headers_are_clear_errors(data: bytes, message: str):
    with pytest.raises(
        DatasetCorruptError, match="not an IDX file|invalid IDX|truncated IDX"
    ) as info:
        parse_idx(data, source="some-file")
    assert message in str(info.value)
    assert "some-file" in str(info.value)


def test_truncated_gzip_is_a_clear_error(tmp_path: Path):
    compressed = gzip.compress(idx_bytes(0x08, (100, 10), bytes(range(250)) * 4))
    path = tmp_path / "x-idx2-ubyte.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DatasetCorruptError, match="truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_damaged_gzip_and_fake_gz_name(tmp_path: Path):
    compressed = bytearray(gzip.compress(idx_bytes(0x08, (50,), bytes(range(50)))))
    compressed[-6] ^= 0xFF  # inside the CRC/size trailer
    damaged = tmp_path / "damaged.gz"
    damaged.write_bytes(bytes(compressed))
    with pytest.raises(DatasetCorruptError, match="damaged gzip|truncated gzip"):
        read_idx(damaged)
    fake = tmp_path / "plain.gz"
    fake.write_bytes(idx_bytes(0x08, (1,), b"\x00"))
    with pytest.raises(DatasetCorruptError, match="not a gzip file"):
        read_idx(fake)


def test_write_idx_rejects_unsupported_dtype(tmp_path: Path):
    with pytest.raises(TypeError, match="IDX type code"):
        write_idx(tmp_path / "a", np.zeros(3, dtype=np.int64))
