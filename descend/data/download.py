"""Downloading a dataset file: progress bar, SHA-256 verification, atomic write.

The file is streamed into a temporary file in the destination directory, its (decompressed)
content is checked against the expected SHA-256, and only then is it renamed into place with
:func:`os.replace`, which is atomic on POSIX and Windows. An interrupted or corrupt download
therefore never leaves a file under the final name; the temporary file is removed on any error.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .errors import DatasetCorruptError, DownloadError
from .idx import read_maybe_gzip

__all__ = ["download_verified", "content_sha256"]

_CHUNK = 1 << 16
USER_AGENT = "descend-data/1 (+python urllib)"


def content_sha256(content: bytes) -> str:
    """SHA-256 hex digest of ``content`` (the decompressed bytes of a dataset file)."""
    return hashlib.sha256(content).hexdigest()


def _progress_bar(total: int | None, description: str, enabled: bool) -> Any:
    """A tqdm bar on stderr, or None when disabled or tqdm (optional) is not installed."""
    if not enabled:
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


def download_verified(
    url: str,
    destination: str | os.PathLike[str],
    *,
    sha256: str,
    progress: bool = True,
    timeout: float = 60.0,
    what: str | None = None,
) -> Path:
    """Download ``url`` to ``destination`` if its content has the given SHA-256.

    The SHA-256 is of the content after gzip decompression when the download is gzip data
    (detected by its magic bytes), else of the bytes as downloaded. The file is stored as
    downloaded (still compressed).

    Args:
        url: the address to fetch (``http://``, ``https://`` or ``file://``).
        destination: the final path; its directory is created if needed.
        sha256: the expected hex digest.
        progress: show a progress bar on stderr (needs the optional ``tqdm`` package).
        timeout: seconds to wait for the server on each network operation.
        what: a name for messages (default: the file name).

    Returns:
        ``destination`` as a Path.

    Raises:
        DownloadError: the transfer failed or the destination directory is not writable.
        DatasetCorruptError: the downloaded content does not have the expected SHA-256; nothing
            is left at ``destination``.
    """
    destination = Path(destination)
    what = what or destination.name
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
        )
    except OSError as error:
        raise DownloadError(
            f"cannot write to {destination.parent} to download {what}: {error}. "
            f"Set DESCEND_CACHE to a writable directory."
        ) from error
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _fetch(url, out, what=what, progress=progress, timeout=timeout)
            out.flush()
            os.fsync(out.fileno())
        try:
            content = read_maybe_gzip(tmp)
        except DatasetCorruptError as error:
            raise DatasetCorruptError(
                f"the download of {what} from {url} is not valid gzip data ({error}); nothing "
                "was written. The mirror may be serving something else (an error page?)."
            ) from error
        digest = content_sha256(content)
        if digest != sha256:
            raise DatasetCorruptError(
                f"the download of {what} from {url} has the wrong content: SHA-256 {digest}, "
                f"expected {sha256}. Nothing was written to {destination.parent}. The mirror "
                "serves a different or damaged file; try another mirror or get the file "
                "another way (see docs/data.md)."
            )
        os.replace(tmp, destination)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return destination


def _fetch(url: str, out: Any, *, what: str, progress: bool, timeout: float) -> None:
    # Imported here: urllib and http pull in the email package, which loading a dataset
    # that is already on disk (the common case) does not need.
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    received = 0
    total: int | None = None
    bar = None
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            bar = _progress_bar(total, what, progress)
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                out.write(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
    except urllib.error.HTTPError as error:
        raise DownloadError(
            f"downloading {what} from {url} failed: HTTP {error.code} {error.reason}"
        ) from error
    except urllib.error.URLError as error:
        raise DownloadError(f"downloading {what} from {url} failed: {error.reason}") from error
    except (http.client.HTTPException, OSError) as error:
        raise DownloadError(
            f"downloading {what} from {url} failed after {received} bytes: {error!r}"
        ) from error
    finally:
        if bar is not None:
            bar.close()
    if total is not None and received != total:
        raise DownloadError(
            f"downloading {what} from {url} stopped after {received} of {total} bytes"
        )
