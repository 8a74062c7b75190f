"""Writing files without ever losing a user's data.

Every file descend writes (checkpoints, logs, metrics, predictions, reports) goes through
:func:`atomic_writer`: the bytes go to a fresh temporary file created with
:func:`tempfile.mkstemp` in the destination's directory (an unpredictable name, opened with
``O_EXCL``, so a planted symlink is never followed), are flushed and ``fsync``-ed, and the
temporary file is then renamed over the destination with :func:`os.replace` (atomic on POSIX
and Windows) and the directory is ``fsync``-ed. A reader therefore sees the old file or the
new one, never a half-written one, whatever happens: a kill, a power cut, a full disk.

Temporary files are named ``.<name>.<pid>.<random>.tmp``; :func:`remove_stale_temp_files`
deletes those whose process is gone (a kill during a write leaves one behind).

A failed write raises :class:`WriteError`, an ``OSError`` whose message names the file, says
why (``No space left on device``) and that the previous version of the file is intact.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

__all__ = [
    "WriteError", "atomic_writer", "atomic_write", "open_append", "remove_stale_temp_files",
    "is_temp_file", "same_file",
]

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp$")


class WriteError(OSError):
    """A file could not be written; the previous version of it (if any) is intact.

    ``str()`` is the message alone (it already names the file), without OSError's
    ``[Errno N] ...: 'file'`` decoration.
    """

    def __str__(self) -> str:
        return str(self.strerror or super().__str__())


def _describe(error: OSError, path: Path) -> str:
    reason = error.strerror or str(error)
    if error.errno == errno.ENOSPC:
        reason = "No space left on device"
    elif error.errno == errno.EDQUOT:
        reason = "disk quota exceeded"
    existed = path.exists() and not path.is_symlink()
    kept = "its previous version is intact" if existed else "nothing was written"
    return f"could not write {path}: {reason}; {kept}"


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system (or OS) allows it
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def atomic_writer(
    path: str | os.PathLike[str], mode: str = "w", *, encoding: str | None = "utf-8",
    newline: str | None = None, permissions: int = 0o644,
) -> Iterator[IO[Any]]:
    """A file object whose contents replace ``path`` atomically when the block ends normally.

    ``mode`` is ``"w"`` (text) or ``"wb"`` (binary). If the block raises, the temporary file
    is removed and ``path`` is untouched. ``permissions`` are the new file's mode bits
    (default ``0o644``: readable by others, as any file a user writes).

    Raises:
        WriteError: the file could not be written (disk full, no permission, ...); ``path``
            keeps its previous contents.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_writer: mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise WriteError(error.errno, _describe(error, path), str(path)) from None
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, permissions)
        binary = "b" in mode
        with os.fdopen(fd, mode, encoding=None if binary else encoding,
                       newline=None if binary else newline) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(error, WriteError):
            raise
        raise WriteError(error.errno, _describe(error, path), str(path)) from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_directory(directory)


def atomic_write(path: str | os.PathLike[str], data: bytes | str, *, permissions: int = 0o644) -> Path:
    """Replace ``path`` by ``data`` (bytes, or text written as UTF-8) atomically; see
    :func:`atomic_writer`. Returns ``path``."""
    mode = "wb" if isinstance(data, (bytes, bytearray, memoryview)) else "w"
    with atomic_writer(path, mode, permissions=permissions) as file:
        file.write(data)
    return Path(path)


def open_append(path: str | os.PathLike[str], encoding: str = "utf-8") -> IO[str]:
    """Open a text file for appending, creating it if needed, without following a symlink.

    A log file (``logs.txt``) is appended to line by line, so it cannot be replaced
    atomically; instead it is opened with ``O_NOFOLLOW`` so that a symlink planted in its
    place is refused rather than followed to a file outside the run directory.

    Raises:
        WriteError: ``path`` is a symlink or not a regular file, or cannot be opened.
    """
    path = Path(path)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as error:
        if error.errno == errno.ELOOP or path.is_symlink():
            raise WriteError(
                errno.ELOOP, f"refusing to write {path}: it is a symbolic link (descend never follows a link "
                "it did not create); remove it or choose another directory", str(path),
            ) from None
        raise WriteError(error.errno, _describe(error, path), str(path)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise WriteError(errno.EINVAL, f"refusing to write {path}: it is not a regular file", str(path))
    return os.fdopen(fd, "a", encoding=encoding)


def is_temp_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is named like a temporary file of :func:`atomic_writer`."""
    return _TEMP.match(Path(path).name) is not None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except OSError:
        return True
    return True


def remove_stale_temp_files(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files left in ``directory`` by writers that were killed.

    A temporary file is stale when the process named in it no longer exists. Returns the
    removed paths. Files of live processes, and files not named like ours, are left alone.
    """
    removed = []
    directory = Path(directory)
    if not directory.is_dir():
        return removed
    for entry in directory.iterdir():
        match = _TEMP.match(entry.name)
        if match is None or entry.is_symlink() or not entry.is_file():
            continue
        if _alive(int(match.group("pid"))):
            continue
        with contextlib.suppress(OSError):
            entry.unlink()
            removed.append(entry)
    return removed


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether ``a`` and ``b`` name the same existing file (through links and ``..``)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
