"""Downloading a dataset file: bounded, hashed while streaming, written atomically.

The file is streamed into a temporary file in the destination directory (through
:func:`descend.fileio.atomic_writer`), and renamed into place with :func:`os.replace` only once
its content has the expected SHA-256. An interrupted or corrupt download therefore never leaves
a file under the final name; the temporary file is removed on any error.

The cost of a download is bounded by what the file can be, so a hostile or broken server cannot
make it unbounded:

* at most :func:`transfer_limit` ``(size)`` bytes are read from the server (the content size
  plus what gzip can add to incompressible data), and a ``Content-Length`` above that is refused
  before anything is read; an endless stream is cut off there;
* the content is decompressed chunk by chunk as it arrives with a bounded output
  (``zlib``'s ``max_length``), hashed on the fly, and the download stops as soon as it
  decompresses to more than ``size`` bytes: a gzip bomb costs at most one chunk of memory.

Files are created with mode 0644 and new directories with 0755, so that a cache can be shared
(say, by a teacher with a class).
"""

from __future__ import annotations

import hashlib
import os
import sys
import zlib
from pathlib import Path
from typing import IO, Any

from ..fileio import WriteError, atomic_writer
from .errors import DatasetCorruptError, DownloadError

__all__ = ["download_verified", "content_sha256", "transfer_limit"]

_CHUNK = 1 << 16
USER_AGENT = "descend-data/1 (+python urllib)"
FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
_GZIP_MAGIC = b"\x1f\x8b"


def content_sha256(content: bytes) -> str:
    """SHA-256 hex digest of ``content`` (the decompressed bytes of a dataset file)."""
    return hashlib.sha256(content).hexdigest()


def transfer_limit(size: int) -> int:
    """The most bytes a download of content of ``size`` bytes may take on the wire.

    Deflate stores incompressible data in blocks of at most 65,535 bytes with 5 bytes of
    overhead each, and gzip adds a header and trailer (18 bytes plus an optional file name),
    so ``size + size / 64 + 64 KiB`` is an upper bound for any faithful copy, compressed or
    not.
    """
    return size + size // 64 + 65_536


class _Verifier:
    """Consumes the downloaded bytes: detects gzip, decompresses with a bounded output, counts
    and hashes the content, and stops as soon as the content exceeds ``size``.

    Like :func:`gzip.decompress` (which loads the file later), it accepts several gzip members
    one after another and zero bytes of padding after a member; anything else after the last
    member is refused.
    """

    def __init__(self, size: int | None, what: str, url: str) -> None:
        self.size = size
        self.what = what
        self.url = url
        self.hasher = hashlib.sha256()
        self.content_bytes = 0
        self.gzip: bool | None = None  # decided by the first two bytes
        self.decompressor: Any = None  # the gzip member being read; None between members
        self.pending = b""  # bytes not yet used (before a member's first two bytes arrive)

    def feed(self, chunk: bytes) -> None:
        if self.gzip is None:
            self.pending += chunk
            if len(self.pending) < 2:
                return
            chunk, self.pending = self.pending, b""
            self.gzip = chunk[:2] == _GZIP_MAGIC
        if self.gzip:
            self._inflate(chunk)
        else:
            self._content(chunk)

    def _inflate(self, data: bytes) -> None:
        data, self.pending = self.pending + data, b""
        while True:
            if self.decompressor is None:  # between members: padding, or the next member
                data = data.lstrip(b"\0")
                if len(data) < 2:
                    self.pending = data
                    return
                if data[:2] != _GZIP_MAGIC:
                    raise self._corrupt(f"trailing data after the gzip stream ({data[:8]!r}...)")
                self.decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
            # max_length bounds the output of one call, so a bomb never expands in memory
            try:
                out = self.decompressor.decompress(data, _CHUNK)
            except zlib.error as error:
                raise self._corrupt(f"not valid gzip data ({error})") from error
            self._content(out)
            if self.decompressor.eof:
                data, self.decompressor = self.decompressor.unused_data, None
                continue
            data = self.decompressor.unconsumed_tail
            if not data and len(out) < _CHUNK:
                return  # all input used and no output pending: wait for more input

    def _content(self, data: bytes) -> None:
        self.content_bytes += len(data)
        if self.size is not None and self.content_bytes > self.size:
            raise self._corrupt(
                f"its content is larger than the {self.size:,} bytes the file has (a gzip bomb, "
                "or another file); the download was stopped there"
            )
        self.hasher.update(data)

    def finish(self) -> str:
        """Check the stream ended completely; return the content's SHA-256."""
        if self.gzip is None:  # fewer than two bytes arrived
            self.gzip = False
            self._content(self.pending)
        elif self.gzip and self.decompressor is not None:
            raise self._corrupt("truncated gzip data (the stream ends inside it)")
        elif self.gzip and self.pending:
            raise self._corrupt(f"trailing data after the gzip stream ({self.pending!r})")
        if self.size is not None and self.content_bytes != self.size:
            raise self._corrupt(
                f"its content has {self.content_bytes:,} bytes, expected {self.size:,}"
            )
        return self.hasher.hexdigest()

    def _corrupt(self, reason: str) -> DatasetCorruptError:
        return DatasetCorruptError(
            f"the download of {self.what} from {self.url} was refused: {reason}. Nothing was "
            "written. The mirror may be serving something else (an error page?) or a damaged file."
        )


def _on_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def _progress_bar(total: int | None, description: str, enabled: bool) -> Any:
    """A tqdm bar on stderr, or None when disabled, when stderr is not a terminal (a log file
    or a pipe would fill with bar redraws), or when tqdm (optional) is not installed."""
    if not enabled or not _on_terminal():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(
        total=total,
        desc=description,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        dynamic_ncols=True,
    )


def _make_directories(directory: Path) -> None:
    """Create ``directory`` and missing parents with mode 0755 (existing ones are left as
    they are)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        if directory.parent == directory:
            break
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
        os.chmod(path, DIRECTORY_MODE)


def download_verified(
    url: str,
    destination: str | os.PathLike[str],
    *,
    sha256: str,
    size: int | None = None,
    progress: bool = True,
    timeout: float = 60.0,
    what: str | None = None,
) -> Path:
    """Download ``url`` to ``destination`` if its content has the given SHA-256 (and size).

    The SHA-256 is of the content after gzip decompression when the download is gzip data
    (detected by its magic bytes), else of the bytes as downloaded. The file is stored as
    downloaded (still compressed); content that arrives uncompressed is stored without the
    ``.gz`` suffix of ``destination``.

    Args:
        url: the address to fetch (``http://``, ``https://`` or ``file://``).
        destination: the final path; its directory is created (mode 0755) if needed.
        sha256: the expected hex digest of the content.
        size: the expected size of the content in bytes. When given, the download reads at most
            :func:`transfer_limit` ``(size)`` bytes and stops as soon as the content exceeds
            ``size`` (see the module docstring); without it, only the hash is checked.
        progress: show a progress bar on stderr (needs the optional ``tqdm`` package).
        timeout: seconds to wait for the server on each network operation.
        what: a name for messages (default: the file name).

    Returns:
        The path written (mode 0644): ``destination``, or ``destination`` without ``.gz``.

    Raises:
        DownloadError: the transfer failed, was longer than the limit, or the destination
            directory is not writable.
        DatasetCorruptError: the content is not the expected one (hash, size, damaged or
            oversized gzip data); nothing is left at ``destination``.
    """
    destination = Path(destination)
    what = what or destination.name
    limit = None if size is None else transfer_limit(size)
    verifier = _Verifier(size, what, url)
    try:
        _make_directories(destination.parent)
        with atomic_writer(destination, "wb", permissions=FILE_MODE) as out:
            _fetch(url, out, verifier, what=what, progress=progress, timeout=timeout, limit=limit)
            digest = verifier.finish()
            if digest != sha256:
                raise DatasetCorruptError(
                    f"the download of {what} from {url} has the wrong content: SHA-256 {digest}, "
                    f"expected {sha256}. Nothing was written to {destination.parent}. The mirror "
                    "serves a different or damaged file; try another mirror or get the file "
                    "another way (see docs/data.md)."
                )
    except OSError as error:  # WriteError included: the directory or the file
        reason = str(error) if isinstance(error, WriteError) else (error.strerror or str(error))
        raise DownloadError(
            f"cannot write to {destination.parent} to download {what}: {reason}. "
            f"Set DESCEND_CACHE to a writable directory."
        ) from error
    if not verifier.gzip and destination.suffix == ".gz":
        # stored as downloaded, under the name that says what it is
        plain = destination.with_suffix("")
        os.replace(destination, plain)
        return plain
    return destination


def _fetch(
    url: str, out: IO[bytes], verifier: _Verifier, *, what: str, progress: bool, timeout: float,
    limit: int | None,
) -> None:
    # Imported here: urllib and http pull in the email package, which loading a dataset
    # that is already on disk (the common case) does not need.
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    received = [0]  # a list: the copy loop adds to it, and the error messages read it
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if limit is not None and total is not None and total > limit:
                raise DownloadError(
                    f"downloading {what} from {url} refused: the server announces {total:,} "
                    f"bytes, more than the {limit:,} the file can take"
                )
            _copy(response, out, verifier, received, limit=limit,
                  bar=_progress_bar(total, what, progress), where=f"{what} from {url}")
    except urllib.error.HTTPError as error:
        raise DownloadError(
            f"downloading {what} from {url} failed: HTTP {error.code} {error.reason}"
        ) from error
    except urllib.error.URLError as error:
        raise DownloadError(f"downloading {what} from {url} failed: {error.reason}") from error
    except (http.client.HTTPException, OSError) as error:
        raise DownloadError(
            f"downloading {what} from {url} failed after {received[0]} bytes: {error!r}"
        ) from error
    if total is not None and received[0] != total:
        raise DownloadError(
            f"downloading {what} from {url} stopped after {received[0]} of {total} bytes"
        )


def _copy(
    response: Any, out: IO[bytes], verifier: _Verifier, received: list[int], *, limit: int | None,
    bar: Any, where: str,
) -> None:
    """Copy the response to ``out`` through ``verifier``, reading at most ``limit + 1`` bytes."""
    try:
        while True:
            want = _CHUNK if limit is None else min(_CHUNK, limit + 1 - received[0])
            chunk = response.read(want)
            if not chunk:
                return
            received[0] += len(chunk)
            if limit is not None and received[0] > limit:
                raise DownloadError(
                    f"downloading {where} stopped: the server sent more than the {limit:,} bytes "
                    "the file can take (an endless or wrong stream)"
                )
            verifier.feed(chunk)
            out.write(chunk)
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
