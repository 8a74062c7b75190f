"""Choosing a table's feature columns, and text feature columns as one-hot inputs.

Columns are chosen by name: all but the target (the default), a list (``features=``), or all
but some (``drop=``). A name that is not a column is an error that lists the columns and
suggests the closest name ("did you mean 'price'?").

A feature column whose every cell is text (no number, no empty cell), with few distinct values,
is *categorical*: it becomes one input per category, 1 where the row has that category and 0
elsewhere (one-hot). The categories are the sorted distinct values of the data given for
training; they are stored with the schema, so new data is encoded identically, and a value
that was not seen in training is an error rather than a silent all-zero row. A text column
with too many distinct values to be categories (an identifier, a name, free text), or a column
mixing numbers and text (usually a typo or a missing-value marker), is refused with a message
that names it and says the way out: drop it, or encode it as numbers.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .errors import DataFormatError

__all__ = [
    "MAX_CATEGORIES",
    "did_you_mean",
    "choose_columns",
    "categories_of",
    "one_hot",
    "way_out",
]

# more distinct values than this (or than half the rows) is not a set of categories
MAX_CATEGORIES = 50


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` to ``name``, or ``""``."""
    lowered = {choice.lower(): choice for choice in choices}
    if name.lower() in lowered:
        return f" (did you mean {lowered[name.lower()]!r}?)"
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def way_out(name: str) -> str:
    """How to leave a feature column out, in the library's and the command line's terms."""
    return f"drop=[{name!r}] (command line: --drop {name})"


def _unknown(path: Path, what: str, names: list[str], columns: Sequence[str]) -> DataFormatError:
    listed = ", ".join(f"{n!r}{did_you_mean(n, columns)}" for n in names)
    return DataFormatError(
        f"{path}: {what} {listed}; the columns are {', '.join(map(repr, columns))}"
    )


def _names(argument: str, value: Sequence[str]) -> list[str]:
    if isinstance(value, str):
        raise TypeError(f"{argument} must be a sequence of column names, not a string")
    names = list(value)
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise DataFormatError(f"{argument}= names the column(s) {', '.join(map(repr, twice))} twice")
    return names


def choose_columns(
    path: Path,
    columns: Sequence[str],
    target: str,
    features: Sequence[str] | None,
    drop: Sequence[str] | None,
) -> list[str]:
    """The feature columns, in input order: ``features`` as given, else every column but the
    target and those in ``drop``, in file order.

    Raises:
        DataFormatError: an unknown name (with a suggestion), the target among the features or
            dropped, a name given twice, both ``features`` and ``drop``, or no column left.
        TypeError: ``features`` or ``drop`` is a string instead of a sequence of names.
    """
    if features is not None and drop is not None:
        raise DataFormatError("give either features= (the columns to use) or drop= (the columns "
                              "to leave out), not both")
    if features is not None:
        names = _chosen(path, columns, target, features)
    else:
        names = _kept(path, columns, target, drop)
    if not names:
        raise DataFormatError(f"{path}: no feature columns besides the target {target!r}")
    return names


def _chosen(path: Path, columns: Sequence[str], target: str, features: Sequence[str]) -> list[str]:
    names = _names("features", features)
    unknown = [n for n in names if n not in columns]
    if unknown:
        raise _unknown(path, "no feature column(s)", unknown, columns)
    if target in names:
        raise DataFormatError(f"the target column {target!r} cannot also be a feature")
    return names


def _kept(path: Path, columns: Sequence[str], target: str, drop: Sequence[str] | None) -> list[str]:
    dropped = _names("drop", drop or ())
    unknown = [n for n in dropped if n not in columns]
    if unknown:
        raise _unknown(path, "no column(s) to drop named", unknown, columns)
    if target in dropped:
        raise DataFormatError(f"drop= names the target column {target!r}; it is never a feature")
    return [n for n in columns if n != target and n not in dropped]


def categories_of(
    name: str, columns: Sequence[np.ndarray], n_rows: int, where: str
) -> tuple[str, ...]:
    """The categories of a text feature column: the sorted distinct values of all the files'
    ``columns`` (arrays of text cells, none empty).

    Raises:
        DataFormatError: too many distinct values to be categories (more than
            :data:`MAX_CATEGORIES`, or than half of the ``n_rows`` rows, and more than two).
    """
    categories = tuple(str(c) for c in np.unique(np.concatenate(columns)))
    limit = min(MAX_CATEGORIES, max(2, n_rows // 2))
    if len(categories) > limit:
        shown = ", ".join(repr(c) for c in categories[:4])
        raise DataFormatError(
            f"{where}: feature column {name!r} is text with {len(categories)} distinct values in "
            f"{n_rows} rows (e.g. {shown}, ...), too many to encode as categories (at most "
            f"{limit} here), like an identifier or free text. Leave it out with {way_out(name)}, "
            "or encode it as numbers yourself"
        )
    return categories


def one_hot(
    name: str, cells: np.ndarray, categories: Sequence[str], where: Callable[[int], str]
) -> np.ndarray:
    """The one-hot float64 matrix (N, K) of a text column for the given categories.

    Raises:
        DataFormatError: a cell is empty, or not one of the ``categories`` (seen in training).
    """
    cells = np.asarray(cells).astype(str)
    lookup = np.asarray(categories, dtype=str)
    order = np.argsort(lookup, kind="stable")
    found = np.minimum(np.searchsorted(lookup, cells, sorter=order), len(lookup) - 1)
    position = order[found]
    unknown = lookup[position] != cells
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        value = str(cells[row])
        if not value:
            raise DataFormatError(
                f"{where(row)}: text feature column {name!r} has a missing (empty) value; fill "
                f"it, or leave the column out with {way_out(name)}"
            )
        raise DataFormatError(
            f"{where(row)}: feature column {name!r} has the value {value!r}, which is not one of "
            f"the categories seen in training ({', '.join(map(repr, categories))})"
        )
    out = np.zeros((len(cells), len(lookup)), dtype=np.float64)
    out[np.arange(len(cells)), position] = 1.0
    return out
