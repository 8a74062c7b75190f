"""Downloads from a local HTTP server on 127.0.0.1: verification, atomic writes, failures."""

from __future__ import annotations

import gzip
import http.server
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

import descend.data.download as download_module
from descend.data import (
    DatasetCorruptError,
    DatasetNotFoundError,
    DownloadError,
    cache_dir,
    download_dataset,
    load_image_dataset,
    load_mnist,
    write_idx,
)
from descend.data.download import download_verified


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_mnist_download_verifies_and_writes_the_cache_atomically(
    isolated: Path, mnist_dir: Path, link_mnist, mnist_files, serve, monkeypatch
):
    served = link_mnist(mnist_dir, isolated / "mirror")
    server = serve(served)
    monkeypatch.setenv("DESCEND_MNIST_URL", server.url.rstrip("/"))  # a missing "/" is added
    replaced: list[tuple[Path, Path]] = []
    real_replace = os.replace

    def recording_replace(src, dst):
        replaced.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(download_module.os, "replace", recording_replace)

    splits = load_mnist(progress=False)
    cache = cache_dir() / "datasets" / "mnist"
    assert splits.source == str(cache)
    assert (len(splits.train), len(splits.dev), len(splits.test)) == (55_000, 5_000, 10_000)
    np.testing.assert_array_equal(splits.train.y[:10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    assert sorted(server.requested) == sorted(f"/{name}" for name in mnist_files)
    assert leftovers(cache) == sorted(mnist_files)  # no temporary files left
    for name in mnist_files:
        assert (cache / name).read_bytes() == (mnist_dir / name).read_bytes()
    # every file was written under a temporary name in the same directory, then renamed
    assert sorted(dst.name for _, dst in replaced) == sorted(mnist_files)
    for src, dst in replaced:
        assert src.parent == dst.parent == cache and src.name != dst.name

    # the next load uses the cache: no request, even with the mirror gone
    server.close()
    assert load_mnist(progress=False).source == str(cache)
    assert len(server.requested) == len(mnist_files)


def test_corrupted_mirror_file_is_rejected_and_nothing_is_cached(
    isolated: Path, mnist_dir: Path, mnist_files, serve, monkeypatch
):
    mirror = isolated / "mirror"
    mirror.mkdir()
    for name in mnist_files:
        shutil.copyfile(mnist_dir / name, mirror / name)
    first = mirror / "train-images-idx3-ubyte.gz"
    content = bytearray(first.read_bytes())
    content[len(content) // 2] ^= 0x10  # one flipped bit
    first.write_bytes(bytes(content))
    monkeypatch.setenv("DESCEND_MNIST_URL", serve(mirror).url)
    with pytest.raises(DatasetCorruptError) as info:
        load_mnist(progress=False)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message and "nothing was written" in message.lower()
    assert leftovers(cache_dir() / "datasets" / "mnist") == []


def test_valid_gzip_with_wrong_content_fails_the_checksum(isolated: Path, tiny, serve, monkeypatch):
    mirror = isolated / "mirror"
    shutil.copytree(tiny.directory, mirror)
    images = tiny.train_images.copy()
    images[3, 4, 5] ^= 0x80
    write_idx(mirror / "train-images-idx3-ubyte.gz", images)
    monkeypatch.setenv("DESCEND_TINY_URL", serve(mirror).url)
    with pytest.raises(DatasetCorruptError) as info:
        load_image_dataset(tiny.spec, progress=False)
    message = str(info.value)
    assert "SHA-256" in message and tiny.spec.train_images.sha256 in message
    assert leftovers(cache_dir() / "datasets" / "tiny") == []


def test_only_missing_files_are_downloaded(isolated: Path, tiny, serve, monkeypatch):
    cache = cache_dir() / "datasets" / "tiny"
    cache.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(tiny.directory / name, cache / name)
    server = serve(tiny.directory)
    monkeypatch.setenv("DESCEND_TINY_URL", server.url)
    splits = load_image_dataset(tiny.spec, progress=False)
    assert sorted(server.requested) == ["/t10k-images-idx3-ubyte.gz", "/train-labels-idx1-ubyte.gz"]
    np.testing.assert_array_equal(splits.test.x, tiny.test_images.astype(np.float32) / 255)
    assert download_dataset("tiny") == cache  # complete: nothing more to fetch
    assert len(server.requested) == 2


def test_http_error_gives_not_found_with_reason(isolated: Path, tiny, serve, monkeypatch):
    empty = isolated / "empty"
    empty.mkdir()
    monkeypatch.setenv("DESCEND_TINY_URL", serve(empty).url)
    with pytest.raises(DatasetNotFoundError, match="HTTP 404") as info:
        load_image_dataset(tiny.spec, progress=False)
    assert isinstance(info.value.__cause__, DownloadError)
    assert leftovers(cache_dir() / "datasets" / "tiny") == []


class _ShortBodyHandler(http.server.BaseHTTPRequestHandler):
    """Promises more bytes than it sends, then closes the connection."""

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):  # noqa: N802
        body = gzip.compress(np.random.default_rng(0).bytes(5000))[:1002]  # valid so far
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + 5000))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True


def test_interrupted_transfer_leaves_nothing(isolated: Path, tiny, serve):
    server = serve(isolated, handler=_ShortBodyHandler)
    destination = isolated / "cache" / "file.gz"
    with pytest.raises(DownloadError, match="stopped after 1002 of 6002 bytes|failed after"):
        download_verified(
            server.url + "file.gz", destination, sha256="0" * 64, progress=False, timeout=5
        )
    assert leftovers(destination.parent) == []


def test_progress_bar_on_stderr_and_optional_tqdm(isolated: Path, tiny, serve, capfd, monkeypatch):
    server = serve(tiny.directory)
    spec_file = tiny.spec.train_images
    url = server.url + spec_file.gz_name
    from descend.data import download

    monkeypatch.setattr(download, "_on_terminal", lambda: True)  # the bar is drawn on a terminal only
    download_verified(
        url, isolated / "a" / "x.gz", sha256=spec_file.sha256, progress=True, what="TinyBar"
    )
    captured = capfd.readouterr()
    assert "TinyBar" in captured.err and captured.out == ""
    download_verified(
        url, isolated / "b" / "x.gz", sha256=spec_file.sha256, progress=False, what="TinyBar"
    )
    assert "TinyBar" not in capfd.readouterr().err
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were not installed
    path = download_verified(
        url, isolated / "c" / "x.gz", sha256=spec_file.sha256, progress=True, what="TinyBar"
    )
    assert "TinyBar" not in capfd.readouterr().err
    assert gzip.decompress(path.read_bytes()) == gzip.decompress(
        (tiny.directory / spec_file.gz_name).read_bytes()
    )


def test_unwritable_cache_is_a_clear_error(isolated: Path, tiny, serve, monkeypatch):
    blocker = isolated / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("DESCEND_CACHE", str(blocker))
    monkeypatch.setenv("DESCEND_TINY_URL", serve(tiny.directory).url)
    with pytest.raises(DatasetNotFoundError, match="cannot write to .* Set DESCEND_CACHE"):
        load_image_dataset(tiny.spec, progress=False)


def test_download_bar_only_on_a_terminal(monkeypatch):
    import io

    from descend.data import download

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stderr", io.StringIO())
    assert download._progress_bar(100, "x", True) is None  # a pipe or a log file: no bar
    monkeypatch.setattr("sys.stderr", Terminal())
    bar = download._progress_bar(100, "x", True)
    assert bar is not None
    bar.close()
    assert download._progress_bar(100, "x", False) is None
