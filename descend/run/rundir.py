"""The run directory: claimed with an exclusive lock for the life of a run, never clobbered.

Guarantees (docs/training.md, "What survives what"):

* a new run goes into a new or empty directory; a directory holding anything else is refused
  unless the run is resumed (``--resume``) or ``--overwrite`` is given, and ``--overwrite``
  only ever replaces an earlier *descend run* (a directory with ``options.json`` or a
  checkpoint), deleting its known files and nothing else;
* an exclusive lock (``filelock``, an OS-level lock that a killed process releases) is held
  on ``<dir>/.lock`` while the run lives, so two runs — or two resumes of one run, or a resume
  while the run is still training — can never write into one directory;
* a run that fails before its first epoch leaves nothing behind: the directory (if it
  created it) or its own files are removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from ..fileio import is_temp_file, remove_stale_temp_files
from .kinds import ConfigError

__all__ = ["RunDirectory", "RunDirectoryError", "LOCK_NAME", "RUN_FILES", "is_run_directory"]

LOCK_NAME = ".lock"
#: Files a run writes (and ``--overwrite`` may delete); the events/ folder holds TensorBoard's.
RUN_FILES = (
    "options.json", "logs.txt", "metrics.csv", "checkpoint.safetensors", "best.safetensors",
    "loss.png", "accuracy.png", "mse.png", "lr.png", "metrics.png",
)
RUN_DIRS = ("events", "train", "dev", "test")


class RunDirectoryError(ConfigError):
    """The run directory cannot be used (taken, not empty, a file, in use)."""


def is_run_directory(path: Path) -> bool:
    """Whether ``path`` holds a descend run (options.json or a checkpoint)."""
    return (path / "options.json").is_file() or (path / "checkpoint.safetensors").is_file()


def _contents(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir() if p.name != LOCK_NAME and not is_temp_file(p))


class RunDirectory:
    """A claimed run directory. Use :meth:`claim_new` or :meth:`claim_existing`, then
    :meth:`release` (or :meth:`abandon` when the run failed before it started)."""

    def __init__(self, path: Path, lock: Any, created: bool, fresh: bool = True) -> None:
        self.path = path
        self._lock = lock
        self._created = created
        self._fresh = fresh  # claimed for a new run (empty): everything in it is the run's

    # ------------------------------------------------------------------ claiming
    @staticmethod
    def _lock(path: Path) -> Any:
        try:
            from filelock import FileLock, Timeout
        except ImportError as error:  # pragma: no cover - filelock comes with descend[train]
            raise RunDirectoryError("descend train needs filelock: pip install 'descend[train]'") from error
        lock = FileLock(str(path / LOCK_NAME))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise RunDirectoryError(
                f"{path} is in use by another descend process (a run training or resuming there); wait "
                "for it to finish, or choose another --logdir"
            ) from None
        return lock

    @classmethod
    def claim_new(cls, path: str | os.PathLike[str], overwrite: bool = False) -> RunDirectory:
        """Create (or take the empty) directory ``path`` for a new run and lock it.

        Raises:
            RunDirectoryError: ``path`` is a file, is in use, or holds files (of a run: resume or
                ``--overwrite`` it; of anything else: choose another directory).
        """
        path = Path(path).expanduser()
        if path.exists() and not path.is_dir():
            raise RunDirectoryError(f"--logdir {path} is a file, not a directory; choose a directory for the run")
        created = not path.exists()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RunDirectoryError(f"cannot create the run directory {path}: {error.strerror or error}") from None
        lock = cls._lock(path)
        claimed = cls(path, lock, created)
        try:
            claimed._check_empty(overwrite)
        except BaseException:
            claimed.release()  # the files there are someone else's: touch nothing
            raise
        return claimed

    @classmethod
    def claim_existing(cls, path: str | os.PathLike[str]) -> RunDirectory:
        """Lock the directory of a run being resumed; remove stale temp files of killed writers."""
        path = Path(path).expanduser()
        if not path.is_dir():
            raise RunDirectoryError(f"the run directory {path} does not exist")
        claimed = cls(path, cls._lock(path), created=False, fresh=False)
        remove_stale_temp_files(path)
        return claimed

    def _check_empty(self, overwrite: bool) -> None:
        contents = _contents(self.path)
        if not contents:
            return
        shown = ", ".join(contents[:4]) + (", ..." if len(contents) > 4 else "")
        if not is_run_directory(self.path):
            raise RunDirectoryError(
                f"--logdir {self.path} is not empty ({shown}) and does not hold a descend run; choose a new or "
                "empty directory (descend never writes into a directory of other files)"
            )
        if not overwrite:
            raise RunDirectoryError(
                f"--logdir {self.path} already holds a run ({shown}); continue it with --resume {self.path}, "
                "replace it with --overwrite, or choose another --logdir"
            )
        self._delete_run_files()

    def _delete_run_files(self) -> None:
        others = [name for name in _contents(self.path) if name not in RUN_FILES and name not in RUN_DIRS]
        if others:
            raise RunDirectoryError(
                f"--overwrite: {self.path} holds files that are not a descend run's ({', '.join(others[:4])}); "
                "descend deletes only its own files: move them away or choose another --logdir"
            )
        for name in RUN_FILES:
            with contextlib.suppress(FileNotFoundError):
                (self.path / name).unlink()
        for name in RUN_DIRS:
            if (self.path / name).is_dir() and not (self.path / name).is_symlink():
                shutil.rmtree(self.path / name)
        remove_stale_temp_files(self.path)

    # ------------------------------------------------------------------ ending
    def release(self) -> None:
        """Release the lock (the run is over, whatever its outcome)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
            with contextlib.suppress(OSError):
                (self.path / LOCK_NAME).unlink()

    def abandon(self) -> None:
        """The run failed before it started: remove what it created, then release. (An
        existing run's directory, claimed to resume it, is only released.)"""
        if not self._fresh:
            self.release()
            return
        try:  # the directory was new or empty when claimed: everything in it is this run's
            for entry in list(self.path.iterdir()):
                if entry.name == LOCK_NAME:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    with contextlib.suppress(OSError):
                        entry.unlink()
        finally:
            self.release()
        if self._created:
            with contextlib.suppress(OSError):
                self.path.rmdir()

    def __enter__(self) -> RunDirectory:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
