"""Downloads cost what the file can cost: a gzip bomb, an endless stream or an oversized
announcement is stopped early with a clear error; the content is hashed while it streams; the
files and directories written are readable by other users (a shared cache)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import stat
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from descend.data import DatasetCorruptError, DownloadError, load_image_dataset
from descend.data.download import download_verified, transfer_limit


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def _bomb(decompressed: int) -> bytes:
    """gzip data of ``decompressed`` zero bytes (about 1000:1), made without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    parts = [compressor.compress(zeros) for _ in range(decompressed >> 20)]
    return b"".join(parts) + compressor.flush()


def _handler(body: bytes | None, *, length: int | None = None, endless: bool = False):
    class Handler(http.server.BaseHTTPRequestHandler):
        sent = [0]

        def log_message(self, format, *args):  # noqa: A002
            pass

        def do_GET(self):  # noqa: N802
            self.send_response(200)
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            try:
                if endless:
                    # valid gzip that never ends and never outputs a byte: a header, then
                    # empty stored deflate blocks; only the transfer cap can stop it
                    self.wfile.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff")
                    block = b"\x00\x00\x00\xff\xff" * 13_000
                    for _ in range(100_000):  # 6.5 GB, far more than the client may read
                        self.wfile.write(block)
                        Handler.sent[0] += len(block)
                else:
                    self.wfile.write(body)
                    Handler.sent[0] += len(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True

    return Handler


def test_a_gzip_bomb_is_stopped_with_bounded_memory(isolated: Path, serve):
    bomb = _bomb(64 << 20)  # 64 MiB of content in about 64 KB
    assert len(bomb) < transfer_limit(10_000)  # small enough to pass the transfer cap
    (isolated / "mirror").mkdir()
    (isolated / "mirror" / "file.gz").write_bytes(bomb)
    server = serve(isolated / "mirror")
    destination = isolated / "cache" / "file.gz"
    tracemalloc.start()
    try:
        with pytest.raises(DatasetCorruptError, match=r"larger than the 10,000 bytes .* gzip bomb"):
            download_verified(server.url + "file.gz", destination, sha256="0" * 64, size=10_000,
                              progress=False, timeout=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"peak {peak} bytes while refusing a 64 MiB bomb"
    assert leftovers(destination.parent) == []


def test_an_endless_stream_is_cut_off_at_the_transfer_limit(isolated: Path, serve):
    handler = _handler(None, endless=True)
    server = serve(isolated, handler=handler)
    destination = isolated / "cache" / "file.gz"
    started = time.perf_counter()
    with pytest.raises(DownloadError, match=r"more than the 70,614 bytes the file can take"):
        download_verified(server.url + "file.gz", destination, sha256="0" * 64, size=5_000,
                          progress=False, timeout=5)
    assert time.perf_counter() - started < 30  # not the 6.5 GB the server offers
    assert transfer_limit(5_000) == 70_614
    assert leftovers(destination.parent) == []


def test_an_oversized_content_length_is_refused_before_reading(isolated: Path, serve):
    server = serve(isolated, handler=_handler(b"\x1f\x8b" * 10, length=10**10))
    with pytest.raises(DownloadError, match=r"announces 10,000,000,000 bytes"):
        download_verified(server.url + "x.gz", isolated / "c" / "x.gz", sha256="0" * 64,
                          size=1000, progress=False, timeout=5)


def test_content_of_the_wrong_size_is_refused(isolated: Path, serve):
    content = b"abc" * 100
    body = gzip.compress(content)
    server = serve(isolated, handler=_handler(body, length=len(body)))
    digest = hashlib.sha256(content).hexdigest()
    with pytest.raises(DatasetCorruptError, match="has 300 bytes, expected 301"):
        download_verified(server.url + "x.gz", isolated / "c" / "x.gz", sha256=digest, size=301,
                          progress=False, timeout=5)
    with pytest.raises(DatasetCorruptError, match="truncated gzip data"):
        short = body[:-10]
        server2 = serve(isolated, handler=_handler(short, length=len(short)))
        download_verified(server2.url + "x.gz", isolated / "c" / "x.gz", sha256=digest, size=300,
                          progress=False, timeout=5)
    assert leftovers(isolated / "c") == []


def test_multi_member_gzip_and_plain_content_are_hashed_while_streaming(isolated: Path, serve):
    content = np.random.default_rng(1).bytes(300_000)  # several chunks, incompressible
    digest = hashlib.sha256(content).hexdigest()
    two_members = gzip.compress(content[:100_000]) + gzip.compress(content[100_000:])
    server = serve(isolated, handler=_handler(two_members, length=len(two_members)))
    path = download_verified(server.url + "x.gz", isolated / "a" / "x.gz", sha256=digest,
                             size=len(content), progress=False, timeout=5)
    assert path == isolated / "a" / "x.gz" and path.read_bytes() == two_members
    plain = serve(isolated, handler=_handler(content, length=len(content)))
    path = download_verified(plain.url + "x.gz", isolated / "b" / "x.gz", sha256=digest,
                             size=len(content), progress=False, timeout=5)
    assert path == isolated / "b" / "x"  # stored as it came, under a name that says so
    assert path.read_bytes() == content and leftovers(isolated / "b") == ["x"]


def test_a_bomb_served_as_a_dataset_file_is_reported_by_the_loader(isolated: Path, tiny, serve,
                                                                   monkeypatch):
    mirror = isolated / "mirror"
    mirror.mkdir()
    for data_file in tiny.spec.files:
        (mirror / data_file.gz_name).write_bytes((tiny.directory / data_file.gz_name).read_bytes())
    (mirror / tiny.spec.train_images.gz_name).write_bytes(_bomb(8 << 20))
    monkeypatch.setenv("DESCEND_TINY_URL", serve(mirror).url)
    with pytest.raises(DatasetCorruptError, match="gzip bomb"):
        load_image_dataset(tiny.spec, progress=False)
    cache = isolated / "home" / ".cache" / "descend" / "datasets" / "tiny"
    assert tiny.spec.train_images.gz_name not in leftovers(cache)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_downloaded_files_and_new_directories_are_readable_by_others(isolated: Path, tiny, serve,
                                                                     monkeypatch):
    monkeypatch.setenv("DESCEND_TINY_URL", serve(tiny.directory).url)
    old = os.umask(0o077)  # even a private umask gives a shareable cache
    try:
        splits = load_image_dataset(tiny.spec, progress=False)
    finally:
        os.umask(old)
    cache = Path(splits.source)
    assert cache == isolated / "home" / ".cache" / "descend" / "datasets" / "tiny"
    for data_file in tiny.spec.files:
        assert _mode(cache / data_file.gz_name) == 0o644
    for directory in (cache, cache.parent, cache.parent.parent, cache.parent.parent.parent):
        assert _mode(directory) == 0o755, directory
    assert _mode(isolated / "home") == stat.S_IMODE((isolated / "home").stat().st_mode)


@pytest.mark.parametrize("chunk", [1, 7, 65536])
def test_the_streaming_check_accepts_what_the_loader_accepts(chunk: int):
    """Members, zero padding and any chunking, as gzip.decompress (the loader) reads them; and
    refuses trailing garbage and truncation. The verifier is fed directly in chunks."""
    from descend.data.download import _Verifier

    content = np.random.default_rng(2).bytes(100_000)
    digest = hashlib.sha256(content).hexdigest()
    good = [
        gzip.compress(content),
        gzip.compress(content[:1]) + gzip.compress(content[1:]),
        gzip.compress(content) + bytes(7),  # zero padding, as some mirrors have
        gzip.compress(content[:50]) + bytes(3) + gzip.compress(content[50:]),
    ]
    bad = {
        gzip.compress(content) + b"junk": "trailing data",
        gzip.compress(content) + b"\x1f": "trailing data",
        gzip.compress(content)[:-3]: "truncated gzip data",
        b"\x1f\x8b" + bytes(50): "not valid gzip data",
    }
    for data in good:
        assert gzip.decompress(data) == content
        verifier = _Verifier(len(content), "x", "u")
        for start in range(0, len(data), chunk):
            verifier.feed(data[start:start + chunk])
        assert verifier.finish() == digest
    for data, message in bad.items():
        verifier = _Verifier(len(content), "x", "u")
        with pytest.raises(DatasetCorruptError, match=message):
            for start in range(0, len(data), chunk):
                verifier.feed(data[start:start + chunk])
            verifier.finish()
