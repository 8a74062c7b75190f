"""Exceptions raised by the data layer.

Every failure the data layer reports is a :class:`DatasetError`, so callers (the trainer, the
command line) can catch one class and show its message, which always says what went wrong,
where, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetCorruptError",
    "DownloadError",
    "DataFormatError",
]


class DatasetError(Exception):
    """Base class of every error of :mod:`descend.data`."""


class DatasetNotFoundError(DatasetError):
    """A dataset is in none of the places looked at, and could not be downloaded.

    The message lists every place looked at and the ways to provide the data.
    """


class DatasetCorruptError(DatasetError):
    """A dataset file exists but its content is wrong.

    Raised for a SHA-256 mismatch, a truncated or non-gzip ``.gz`` file, an IDX file whose
    header is invalid or disagrees with its size, or arrays of the wrong shape or range.
    """


class DownloadError(DatasetError):
    """A download failed (network error, HTTP error, incomplete transfer, unwritable cache)."""


class DataFormatError(DatasetError):
    """A user's own data file (CSV or ``.npz``) cannot be used as given.

    For example: a missing target column, a non-numeric feature column, NaN or infinite
    values, an empty file, rows of different lengths.
    """
