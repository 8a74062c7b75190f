"""A user's own tabular data: CSV (with a header line) or ``.npz``, one named target column.

Task inference follows the lecture's output distributions:

* a target with values in {0, 1} -> ``"binary"`` (Bernoulli output: sigmoid + binary
  cross-entropy); targets float32 0/1;
* an integer target whose values are exactly 0..K-1 with K > 2 -> ``"multiclass"`` (categorical
  output: softmax + cross-entropy); targets int64 class indices;
* a text target -> ``"binary"`` with two distinct labels, ``"multiclass"`` with more; labels
  are sorted and mapped to class indices, the list kept in ``classes``;
* any other numeric target -> ``"regression"`` (Normal output: MSE); targets float32.

"Integer" means written without a decimal point or exponent in a CSV file, or an integer or
boolean dtype in an ``.npz``: ``3`` is a class, ``3.0`` a real number. Pass ``task=`` to
override the inference (e.g. ``task="multiclass"`` for labels 1..5, which then map to class
indices 0..4 by sorted value).

Features (all other columns, or those named by ``features=``) must be numeric and finite. They
are standardised with the mean and std of the *training split only* (see
:mod:`descend.data.standardize`); the statistics, the feature order and the label encoding are
kept in a :class:`TabularSchema` so that dev, test and prediction data are transformed exactly
as the training data was.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import numpy as np

from .columns import categories_of, choose_columns, did_you_mean, one_hot, way_out
from .dataset import Dataset, Splits, Task, make_rng
from .errors import DataFormatError, DatasetNotFoundError
from .npz import read_npz
from .standardize import Standardizer

__all__ = ["load_tabular", "read_table", "TabularSchema", "infer_task", "TASKS"]

PathLike = str | os.PathLike[str]
TASKS: tuple[str, ...] = get_args(Task)

_MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-"}
_DEFAULT_FRACTION = 0.1


# --------------------------------------------------------------------------- reading files


@dataclass
class Table:
    """The columns of one file, before any interpretation.

    CSV columns are tuples of the fields as read (strings); ``.npz`` columns are arrays that keep
    their dtype.
    """

    path: Path
    columns: dict[str, Any]
    n_rows: int
    lines: np.ndarray | None = None  # CSV: the line number of each row, for messages
    # CSV columns already parsed as numbers (each is parsed once, however often it is asked for)
    parsed: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def where(self, row: int) -> str:
        if self.lines is not None:
            return f"{self.path.name} line {int(self.lines[row])}"
        return f"{self.path.name} row {row}"

    @property
    def from_text(self) -> bool:
        return self.lines is not None


def read_table(path: PathLike, *, delimiter: str | None = None) -> Table:
    """Read a ``.csv``/``.tsv`` (optionally ``.gz``) or ``.npz`` file into a :class:`Table`.

    In an ``.npz`` each 1-D array is a column; a 2-D array ``a`` of shape (N, k) gives the
    columns ``a[0]`` .. ``a[k-1]``.

    Raises:
        DatasetNotFoundError: the file does not exist.
        DataFormatError: the file is empty, malformed, or of an unsupported type.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        where = "is a directory" if path.is_dir() else "does not exist"
        raise DatasetNotFoundError(f"{path}: {where}; expected a .csv or .npz file")
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    kind = suffixes[-2] if compressed and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
    if kind == ".npz" and not compressed:
        return _read_npz_table(path)
    if kind in (".csv", ".tsv", ".txt"):
        if delimiter is None:
            delimiter = "\t" if kind == ".tsv" else ","
        return _read_csv_table(path, delimiter, compressed)
    raise DataFormatError(f"{path}: unsupported file type; use .csv, .tsv (optionally .gz) or .npz")


def _read_csv_table(path: Path, delimiter: str, compressed: bool) -> Table:
    try:
        raw = gzip.decompress(path.read_bytes()) if compressed else path.read_bytes()
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFormatError(f"{path}: not UTF-8 text ({error})") from error
    except (OSError, EOFError) as error:
        raise DataFormatError(f"{path}: cannot read: {error}") from error
    if not text.strip():
        raise DataFormatError(f"{path}: the file is empty; expected a header line and data rows")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for record in reader:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # blank line
            if header is None:
                header = [field.strip() for field in record]
                _check_header(path, header)
                continue
            if len(record) != len(header):
                raise DataFormatError(
                    f"{path} line {reader.line_num}: {len(record)} fields, but the header has "
                    f"{len(header)} ({', '.join(header)})"
                )
            rows.append(record)
            lines.append(reader.line_num)
    except csv.Error as error:
        raise DataFormatError(f"{path} line {reader.line_num}: malformed CSV: {error}") from error
    assert header is not None
    if not rows:
        raise DataFormatError(f"{path}: the file has a header line but no data rows")
    columns = dict(zip(header, zip(*rows)))
    return Table(path, columns, len(rows), np.asarray(lines, dtype=np.int64))


def _check_header(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(header, 1):
        if not name:
            raise DataFormatError(f"{path}: column {index} of the header line has no name")
        if name in seen:
            raise DataFormatError(f"{path}: the header names column {name!r} twice")
        seen.add(name)


def _read_npz_table(path: Path) -> Table:
    arrays = read_npz(path, DataFormatError)
    if not arrays:
        raise DataFormatError(f"{path}: the archive holds no arrays")
    columns: dict[str, np.ndarray] = {}
    lengths: dict[str, int] = {}
    for key, array in arrays.items():
        if array.dtype.kind not in "biufUS":
            raise DataFormatError(f"{path}: array {key!r} has unsupported dtype {array.dtype}")
        if array.dtype.kind == "S":
            array = np.char.decode(array, "utf-8")
        if array.ndim == 1:
            columns[key] = array
        elif array.ndim == 2:
            for j in range(array.shape[1]):
                columns[f"{key}[{j}]"] = array[:, j]
        else:
            raise DataFormatError(
                f"{path}: array {key!r} has shape {array.shape}; columns must be 1-D (N,) "
                "or 2-D (N, k) arrays"
            )
        lengths[key] = len(array)
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}: {n}" for k, n in lengths.items())
        raise DataFormatError(f"{path}: the arrays have different numbers of rows ({detail})")
    n_rows = next(iter(lengths.values()))
    if n_rows == 0:
        raise DataFormatError(f"{path}: the arrays have no rows")
    return Table(path, columns, n_rows)


# --------------------------------------------------------------------------- interpreting columns


def _numeric(table: Table, name: str, role: str) -> tuple[np.ndarray, bool]:
    """Column ``name`` as float64 and whether it is integer-typed; errors name the first bad cell."""
    column = table.columns[name]
    if not table.from_text:
        if column.dtype.kind in "US":
            bad = 0
            raise DataFormatError(
                f"{table.path}: {role} column {name!r} is not numeric (text, e.g. "
                f"{str(column[bad])!r} at {table.where(bad)}); leave it out with {way_out(name)}"
            )
        return column.astype(np.float64), column.dtype.kind in "biu"
    if name in table.parsed:
        return table.parsed[name], False
    try:
        values = np.fromiter(map(float, column), dtype=np.float64, count=len(column))
    except ValueError:
        for row, cell in enumerate(column):
            try:
                float(cell)
            except ValueError:
                cell = cell.strip()
                what = "a missing value" if cell.lower() in _MISSING else f"the value {cell!r}"
                raise DataFormatError(
                    f"{table.path}: {role} column {name!r} is not numeric: {what} at "
                    f"{table.where(row)}. Every {role} must be a number"
                    + (f": fix the value, or leave the column out with {way_out(name)}"
                       if role == "feature" else "")
                ) from None
        raise  # pragma: no cover - the loop finds the cell float() rejects
    table.parsed[name] = values
    return values, False  # (whether a feature is integer-typed does not matter)


def _check_finite(table: Table, name: str, values: np.ndarray, role: str) -> None:
    finite = np.isfinite(values)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        first = int(bad[0])
        kind = "NaN (missing)" if np.isnan(values[first]) else "infinite"
        raise DataFormatError(
            f"{table.path}: {role} column {name!r} has {len(bad)} NaN/infinite value(s), the first "
            f"({kind}) at {table.where(first)}; remove or fill those rows"
        )


@dataclass
class _Target:
    """The target column of one table: numeric (float64) or text (str)."""

    table: Table
    name: str
    values: np.ndarray
    numeric: bool
    integer: bool

    @property
    def text(self) -> np.ndarray:
        """The values as text labels: as written in a CSV file, else formatted."""
        if self.table.from_text:
            return _text(self.table, self.name)
        if not self.numeric:
            return self.table.columns[self.name].astype(str)
        return np.array([str(_python_scalar(v, self.integer)) for v in self.values])


def _read_target(table: Table, name: str, task: str | None) -> _Target:
    column = table.columns[name]
    if not table.from_text:
        if column.dtype.kind in "US":
            _check_no_missing_text(table, name, column)
            return _Target(table, name, column, False, False)
        values = column.astype(np.float64)
        _check_finite(table, name, values, "target")
        return _Target(table, name, values, True, column.dtype.kind in "biu")
    column = _text(table, name)
    _check_no_missing_text(table, name, column)
    try:
        values = np.fromiter(map(float, column), dtype=np.float64, count=len(column))
    except ValueError:
        numeric_cells = [row for row, cell in enumerate(column) if _is_number(cell)]
        if numeric_cells and task not in ("binary", "multiclass"):
            text_row = next(row for row, cell in enumerate(column) if not _is_number(cell))
            cell = str(column[text_row])
            what = f"a missing value ({cell!r})" if cell.lower() in _MISSING else f"text ({cell!r})"
            raise DataFormatError(
                f"{table.path}: target column {name!r} mixes numbers (e.g. "
                f"{str(column[numeric_cells[0]])!r} at {table.where(numeric_cells[0])}) and "
                f"{what} at {table.where(text_row)}; fix the file, or pass task='multiclass' "
                "(or 'binary') to treat every value as a class label"
            ) from None
        return _Target(table, name, column, False, False)
    _check_finite(table, name, values, "target")
    integer = bool(np.char.isdigit(np.char.lstrip(column, "+-")).all())
    return _Target(table, name, values, True, integer)


def _text(table: Table, name: str) -> np.ndarray:
    """A CSV column as an array of strings without surrounding whitespace."""
    return np.char.strip(np.array(table.columns[name], dtype=str))


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _check_no_missing_text(table: Table, name: str, column: np.ndarray) -> None:
    """Empty cells are missing values. (Words like "none" or "NA" can be real labels; in a
    numeric column they are reported as text mixed with numbers.)"""
    missing = np.char.str_len(column.astype(str)) == 0
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataFormatError(
            f"{table.path}: target column {name!r} has {int(missing.sum())} missing (empty) "
            f"value(s), the first at {table.where(row)}; remove those rows"
        )


def _python_scalar(value: Any, integer: bool) -> Any:
    if isinstance(value, (str, np.str_)):
        return str(value)
    value = float(value)
    return int(value) if integer or value.is_integer() else value


def infer_task(values: np.ndarray, *, integer: bool) -> tuple[Task, tuple[Any, ...] | None, str]:
    """The task for a target column (see the module docstring).

    Args:
        values: all target values (float64 for a numeric column, str for text).
        integer: whether a numeric column is integer-typed.

    Returns:
        ``(task, classes, reason)``: the class labels (None for regression) and a sentence
        saying why, for messages.
    """
    if values.dtype.kind in "US":
        classes = tuple(str(c) for c in np.unique(values))
        if len(classes) == 2:
            return "binary", classes, f"text target with two labels {list(classes)}"
        if len(classes) < 2:
            raise DataFormatError(
                f"the target has a single label {classes[0]!r} in every row; a classifier "
                "needs at least two (pass task= to override)"
            )
        return "multiclass", classes, f"text target with {len(classes)} labels"
    unique = np.unique(values)
    if np.isin(unique, (0.0, 1.0)).all():
        return "binary", (0, 1), "target values are 0/1"
    k = len(unique)
    if integer and k > 2 and unique[0] == 0 and unique[-1] == k - 1:
        return "multiclass", tuple(range(k)), f"integer target with values 0..{k - 1}"
    if integer:
        reason = (
            f"integer target whose values ({_describe(unique)}) are not 0..K-1; pass "
            "task='multiclass' to treat them as classes"
        )
    else:
        reason = "real-valued target"
    return "regression", None, reason


def _describe(unique: np.ndarray) -> str:
    shown = ", ".join(str(_python_scalar(v, False)) for v in unique[:6])
    return shown + (", ..." if len(unique) > 6 else "")


def _classes_for(task: str, targets: list[_Target]) -> tuple[tuple[Any, ...] | None, str]:
    """Task ``task`` was asked for explicitly: check the targets fit it and list the classes."""
    numeric = all(t.numeric for t in targets)
    if task == "regression":
        if not numeric:
            bad = next(t for t in targets if not t.numeric)
            row = next(r for r, c in enumerate(bad.values) if not _is_number(str(c)))
            raise DataFormatError(
                f"{bad.table.path}: task='regression' needs a numeric target, but column "
                f"{bad.name!r} has {str(bad.values[row])!r} at {bad.table.where(row)}"
            )
        return None, "task='regression' was given"
    if numeric:
        values = np.concatenate([t.values for t in targets])
        integer = all(t.integer for t in targets)
        unique = np.unique(values)
        if task == "binary" and np.isin(unique, (0.0, 1.0)).all():
            return (0, 1), "task='binary' was given"
        classes = tuple(_python_scalar(v, integer) for v in unique)
    else:
        values = np.concatenate([t.text for t in targets])
        classes = tuple(str(c) for c in np.unique(values))
    if task == "binary" and len(classes) != 2:
        shown = ", ".join(repr(c) for c in classes[:6]) + (", ..." if len(classes) > 6 else "")
        raise DataFormatError(
            f"task='binary' needs a target with two distinct values, but {targets[0].name!r} "
            f"has {len(classes)}: {shown}"
        )
    return classes, f"task={task!r} was given"


# --------------------------------------------------------------------------- the schema


@dataclass
class TabularSchema:
    """How a table becomes model inputs and targets; fitted on the training data.

    Attributes:
        features: the feature columns, in input order.
        target: the target column.
        task: ``"regression"``, ``"binary"`` or ``"multiclass"``.
        classes: original label of each class index (binary: index 1 is the positive class),
            None for regression.
        standardizer: the training split's statistics of the inputs (see
            :attr:`input_names`), or None if not standardising.
        task_reason: why this task was chosen (inferred or given).
        target_standardizer: for regression, the training split's mean and std of the target
            (one column), or None if the target is not standardised. Models are trained on
            ``(y - mean) / std``; :meth:`decode_target` maps their outputs back.
        categories: for each text (categorical) feature column, its categories in input order;
            such a column becomes one 0/1 input per category (see :mod:`descend.data.columns`).
    """

    features: tuple[str, ...]
    target: str
    task: Task
    classes: tuple[Any, ...] | None
    standardizer: Standardizer | None
    task_reason: str = ""
    target_standardizer: Standardizer | None = None
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def input_names(self) -> tuple[str, ...]:
        """The name of each model input: a numeric feature's name, or ``"column=category"``
        for each category of a categorical feature."""
        names: list[str] = []
        for name in self.features:
            if name in self.categories:
                names += [f"{name}={category}" for category in self.categories[name]]
            else:
                names.append(name)
        return tuple(names)

    # -- features
    def feature_matrix(self, table: Table) -> np.ndarray:
        """The raw (unstandardised) float64 input matrix of ``table`` in :attr:`input_names`
        order: numeric features as they are, categorical ones one-hot.

        Raises:
            DataFormatError: a missing column, a non-numeric value in a numeric feature, NaN or
                infinity, a category not seen in training; naming the column and the row.
        """
        missing = [f for f in self.features if f not in table.columns]
        if missing:
            raise DataFormatError(
                f"{table.path}: missing feature column(s) {', '.join(map(repr, missing))}; "
                f"the file has {', '.join(map(repr, table.columns))}"
            )
        widths = [len(self.categories.get(name, (None,))) for name in self.features]
        matrix = np.empty((table.n_rows, sum(widths)), dtype=np.float64)
        start = 0
        for name, width in zip(self.features, widths):
            if name in self.categories:
                cells = _text(table, name) if table.from_text else table.columns[name].astype(str)
                matrix[:, start : start + width] = one_hot(
                    name, cells, self.categories[name], table.where
                )
            else:
                values, _ = _numeric(table, name, "feature")
                _check_finite(table, name, values, "feature")
                matrix[:, start] = values
            start += width
        return matrix

    def transform(self, x: np.ndarray, *, where: Callable[[int], str] | None = None) -> np.ndarray:
        """Raw input matrix (N, D) -> float32 model inputs (standardised if fitted so).

        ``where`` gives a row's location for messages (default ``"row i"``).

        Raises:
            DataFormatError: a value does not fit float32 after the transformation (it would
                become infinite and derail training), naming the input and the row.
        """
        if self.standardizer is not None:
            return self.standardizer.transform(x, names=self.input_names, where=where)
        with np.errstate(over="ignore"):  # checked next
            out = np.asarray(x, dtype=np.float32)
        _check_float32(out, x, self.input_names, where, "standardize=True")
        return out

    # -- targets
    def encode_target(self, target: _Target | np.ndarray) -> np.ndarray:
        """Target values -> float32 (regression: standardised if fitted so; binary: 0/1) or
        int64 class indices (multiclass)."""
        if isinstance(target, _Target):
            values, where = target.values, target.table.where
        else:
            values = np.asarray(target)
            where = lambda row: f"row {row}"  # noqa: E731
        if self.task == "regression":
            return self._encode_regression(values, where)
        assert self.classes is not None
        if any(isinstance(c, str) for c in self.classes) or values.dtype.kind in "US":
            lookup = np.array([str(c) for c in self.classes])
            if isinstance(target, _Target):
                values = target.text
            elif values.dtype.kind in "US":
                values = values.astype(str)
            else:
                values = np.array([str(_python_scalar(v, False)) for v in values])
        else:
            lookup = np.array(self.classes, dtype=np.float64)
            values = values.astype(np.float64)
        order = np.argsort(lookup, kind="stable")
        position = np.searchsorted(lookup, values, sorter=order)
        position = np.minimum(position, len(lookup) - 1)
        indices = order[position]
        unknown = lookup[indices] != values
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0])
            raise DataFormatError(
                f"{where(row)}: target {_python_scalar(values[row], False)!r} is not one of the classes "
                f"{list(self.classes)} of the training data"
            )
        return indices.astype(np.float32 if self.task == "binary" else np.int64)

    def _encode_regression(self, values: np.ndarray, where: Callable[[int], str]) -> np.ndarray:
        if values.dtype.kind not in "biuf":
            raise DataFormatError(f"a regression target must be numeric, got {values.dtype}")
        values = np.asarray(values, dtype=np.float64)
        column = values.reshape(len(values), -1)
        if self.target_standardizer is not None:
            out = self.target_standardizer.transform(column, names=[self.target], where=where)
            return out.reshape(values.shape)
        with np.errstate(over="ignore"):  # checked next
            out = column.astype(np.float32)
        _check_float32(out, column, [self.target], where, "standardize_target=True")
        return out.reshape(values.shape)

    def decode_target(self, values: np.ndarray) -> np.ndarray:
        """Model outputs -> the target's own terms; the inverse of :meth:`encode_target`.

        * regression: the model's predictions ``z`` (any shape) -> float64 ``z * std + mean``
          with the training target's statistics (``z`` itself when the target was not
          standardised). ``descend predict`` writes these values.
        * binary / multiclass: class indices (or binary 0/1 predictions) -> the original labels
          (an object array).
        """
        if self.task == "regression":
            z = np.asarray(values, dtype=np.float64)
            if self.target_standardizer is None:
                return z
            return z * self.target_standardizer.std[0] + self.target_standardizer.mean[0]
        if self.classes is None:
            raise ValueError("decode_target: a classification schema without classes")
        labels = np.asarray(self.classes, dtype=object)
        return labels[np.asarray(values).astype(np.int64)]

    # -- whole files
    def load(
        self, path: PathLike, *, require_target: bool = False, delimiter: str | None = None
    ) -> Dataset:
        """Read a file (e.g. data to predict) into a :class:`Dataset` transformed like training.

        The target column is used when present (``y`` None otherwise, unless
        ``require_target``). Extra columns are ignored.
        """
        table = read_table(path, delimiter=delimiter)
        x = self.transform(self.feature_matrix(table), where=table.where)
        if self.target not in table.columns:
            if require_target:
                raise DataFormatError(_missing_target_message(table, self.target))
            return Dataset(x, None)
        target = _read_target(table, self.target, self.task)
        return Dataset(x, self.encode_target(target))

    # -- persistence
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, e.g. to store with a checkpoint."""
        return {
            "features": list(self.features),
            "target": self.target,
            "task": self.task,
            "classes": None if self.classes is None else list(self.classes),
            "standardizer": None if self.standardizer is None else self.standardizer.to_dict(),
            "task_reason": self.task_reason,
            "target_standardizer": None
            if self.target_standardizer is None
            else self.target_standardizer.to_dict(),
            "categories": {name: list(values) for name, values in self.categories.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TabularSchema:
        """The inverse of :meth:`to_dict`, checked before anything uses it.

        A schema written by an older version (without ``target_standardizer`` or
        ``categories``) loads as one without them.

        Raises:
            DataFormatError: the stored schema is malformed: a missing or mistyped entry, an
                unknown task, classes that do not fit the task, or standardisation statistics
                that are not finite (or a std that is not positive); the message names the
                column.
        """
        try:
            return _schema_from_dict(data)
        except (KeyError, TypeError, ValueError) as error:
            detail = f"no entry {error}" if isinstance(error, KeyError) else str(error)
            raise DataFormatError(
                f"the stored table schema is damaged: {detail}. It cannot be used to transform "
                "data; train the model again or restore the run's files"
            ) from None


def _check_float32(
    out: np.ndarray,
    raw: np.ndarray,
    names: Sequence[str],
    where: Callable[[int], str] | None,
    fix: str,
) -> None:
    """Refuse values that became infinite in float32 (beyond about 3.4e38)."""
    bad = ~np.isfinite(out)
    if bad.any():
        row, column = (int(i[0]) for i in np.nonzero(bad))
        at = where(row) if where is not None else f"row {row}"
        name = names[column] if column < len(names) else str(column)
        raise DataFormatError(
            f"column {name!r} at {at}: the value {float(np.asarray(raw)[row, column]):g} does not "
            f"fit float32 (at most about 3.4e38); rescale the column or use {fix}"
        )


def _string_list(value: Any, what: str) -> list[str]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{what} must be a list of column names, got {value!r}")
    return list(value)


def _schema_from_dict(data: dict[str, Any]) -> TabularSchema:
    if not isinstance(data, dict):
        raise TypeError(f"expected a mapping, got {type(data).__name__}")
    features = _string_list(data["features"], "features")
    if not features:
        raise ValueError("no feature columns")
    target = data["target"]
    if not isinstance(target, str):
        raise TypeError(f"target must be a column name, got {target!r}")
    task = data["task"]
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r} (known: {', '.join(TASKS)})")
    classes = _stored_classes(task, data["classes"])
    schema = TabularSchema(
        features=tuple(features),
        target=target,
        task=task,
        classes=classes,
        standardizer=None,
        task_reason=str(data.get("task_reason", "")),
        categories=_stored_categories(data.get("categories") or {}, features),
    )
    if data.get("standardizer") is not None:
        schema.standardizer = Standardizer.from_dict(data["standardizer"], names=schema.input_names)
    if data.get("target_standardizer") is not None:
        if task != "regression":
            raise ValueError(f"target statistics for a {task} task")
        schema.target_standardizer = Standardizer.from_dict(
            data["target_standardizer"], names=[target]
        )
    return schema


def _stored_classes(task: str, classes: Any) -> tuple[Any, ...] | None:
    if task == "regression":
        if classes is not None:
            raise ValueError("a regression schema with classes")
        return None
    if not isinstance(classes, (list, tuple)) or not classes or (task == "binary" and len(classes) != 2):
        raise ValueError(f"a {task} schema with the classes {classes!r}")
    return tuple(classes)


def _stored_categories(stored: Any, features: list[str]) -> dict[str, tuple[str, ...]]:
    if not isinstance(stored, dict):
        raise TypeError(f"categories must be a mapping, got {stored!r}")
    categories: dict[str, tuple[str, ...]] = {}
    for name, values in stored.items():
        if name not in features:
            raise ValueError(f"categories for {name!r}, which is not a feature")
        values = _string_list(values, f"the categories of {name!r}")
        if not values or len(set(values)) != len(values):
            raise ValueError(f"the categories of {name!r} are empty or repeat: {values!r}")
        categories[name] = tuple(values)
    return categories


def _missing_target_message(table: Table, target: str) -> str:
    return (
        f"{table.path}: no target column {target!r}{did_you_mean(target, list(table.columns))}; "
        f"the columns are {', '.join(map(repr, table.columns))}"
    )


# --------------------------------------------------------------------------- load_tabular


def load_tabular(
    path: PathLike,
    target: str,
    task: Task | None = None,
    *,
    features: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    dev: PathLike | None = None,
    test: PathLike | None = None,
    dev_fraction: float | None = None,
    test_fraction: float | None = None,
    seed: int | np.random.Generator = 0,
    standardize: bool = True,
    standardize_target: bool | None = None,
    delimiter: str | None = None,
) -> Splits:
    """Load a CSV or ``.npz`` table and split it into train/dev/test.

    Args:
        path: the data file (``.csv``/``.tsv`` with a header line, optionally ``.gz``, or
            ``.npz`` with one array per column).
        target: the name of the target column.
        task: ``"regression"``, ``"binary"`` or ``"multiclass"``; inferred when None (see the
            module docstring).
        features: the feature columns, in order; default all columns but the target (and
            those in ``drop``).
        drop: columns to leave out of the features (all others but the target are used); not
            together with ``features``. Unknown names are errors with a suggestion.
        dev, test: separate files for the dev / test split (same columns). A split without a
            file is cut from ``path`` instead.
        dev_fraction, test_fraction: the share of ``path``'s rows for the dev / test split
            (default 0.1 each when that split has no file; 0 for no such split). Rows are
            assigned by a random permutation drawn from ``seed``; each split keeps file order.
        seed: the seed (or Generator) of that permutation.
        standardize: standardise the features with the training split's mean and std.
        standardize_target: for regression, train on the target standardised with the
            training split's mean and std (float64 statistics, stored in the schema;
            ``schema.decode_target`` maps predictions back). Default: as ``standardize``.
        delimiter: the CSV field separator (default ``,``; tab for ``.tsv``).

    Returns:
        :class:`Splits` with float32 features (N, D); targets float32 (regression, binary 0/1)
        or int64 class indices (multiclass); ``dev``/``test`` None when empty; ``schema``
        holds the preprocessing for new data; ``notes`` lists what the user should know about
        how the data was read (a task chosen for a target that looks like classes, a target
        with one value, classes missing from the training split, text columns encoded as
        categories), one sentence each, for the command line to print; empty for ordinary
        data.

    Raises:
        DatasetNotFoundError: a file does not exist.
        DataFormatError: a missing target or feature column, non-numeric features that cannot
            be categories, NaN or infinite values (or values that overflow float32), an empty
            file, a target that does not fit ``task``, bad fractions.
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)} or None, not {task!r}")
    main = read_table(path, delimiter=delimiter)
    extra = {
        split: read_table(file, delimiter=delimiter)
        for split, file in (("dev", dev), ("test", test))
        if file is not None
    }
    for table in (main, *extra.values()):
        if target not in table.columns:
            raise DataFormatError(_missing_target_message(table, target))

    feature_names = choose_columns(main.path, list(main.columns), target, features, drop)
    fractions = _fractions(dev, test, dev_fraction, test_fraction)
    categories = _categorical_features(main, list(extra.values()), feature_names)

    # targets of every file decide the task and the class list
    targets = {"main": _read_target(main, target, task)}
    targets.update({split: _read_target(t, target, task) for split, t in extra.items()})
    chosen, classes, reason = _decide_task(target, task, targets)

    schema = TabularSchema(
        tuple(feature_names), target, chosen, classes, None, reason, categories=categories
    )
    raw_x = {"main": schema.feature_matrix(main)}
    raw_x.update({split: schema.feature_matrix(t) for split, t in extra.items()})
    index = _split_rows(main, fractions, seed)

    if standardize:
        schema.standardizer = Standardizer.fit(raw_x["main"][index["train"]])
    if standardize_target is None:
        standardize_target = standardize
    if chosen == "regression" and standardize_target:
        y_train = targets["main"].values[index["train"]]
        schema.target_standardizer = Standardizer.fit(y_train.reshape(len(y_train), -1))
    encoded_y = {key: schema.encode_target(t) for key, t in targets.items()}

    def make(split: str) -> Dataset | None:
        if split in extra:
            x = schema.transform(raw_x[split], where=extra[split].where)
            return Dataset(x, encoded_y[split])
        rows = index.get(split)
        if rows is None or len(rows) == 0:
            return None
        x = schema.transform(raw_x["main"][rows], where=lambda r: main.where(int(rows[r])))
        return Dataset(x, encoded_y["main"][rows])

    train = make("train")
    assert train is not None
    notes = _notes(schema, targets["main"], inferred=task is None, train_rows=index["train"])
    return Splits(
        train=train,
        dev=make("dev"),
        test=make("test"),
        task=chosen,
        classes=classes,
        name=main.path.name,
        source=str(main.path),
        schema=schema,
        notes=notes,
    )


def _decide_task(
    target: str, task: Task | None, targets: dict[str, _Target]
) -> tuple[Task, tuple[Any, ...] | None, str]:
    if task is not None:
        classes, reason = _classes_for(task, list(targets.values()))
        return task, classes, reason
    if len({t.numeric for t in targets.values()}) > 1:
        raise DataFormatError(
            f"the target column {target!r} is numeric in some files and text in others; "
            "pass task= to treat every value as a class label"
        )
    numeric = targets["main"].numeric
    values = np.concatenate([t.values if numeric else t.text for t in targets.values()])
    integer = all(t.integer for t in targets.values())
    return infer_task(values, integer=integer)


def _split_rows(
    main: Table, fractions: dict[str, float], seed: int | np.random.Generator
) -> dict[str, np.ndarray]:
    """The rows of the main file in each split cut from it (sorted: file order)."""
    n = main.n_rows
    counts = {split: _count(n, fraction) for split, fraction in fractions.items()}
    n_train = n - sum(counts.values())
    if n_train < 1:
        raise DataFormatError(
            f"{main.path}: {n} rows leave no training rows after the dev/test fractions "
            f"{fractions}; lower the fractions or provide more data"
        )
    permutation = make_rng(seed).permutation(n)
    index = {"train": np.sort(permutation[:n_train])}
    start = n_train
    for split, count in counts.items():
        index[split] = np.sort(permutation[start : start + count])
        start += count
    return index


def _categorical_features(
    main: Table, extra: list[Table], names: list[str]
) -> dict[str, tuple[str, ...]]:
    """The text feature columns that become categories, with their categories.

    A column is text when no cell of the main file is a number (an ``.npz`` string array);
    a column mixing numbers and text is left to the numeric reader, which names the cell.
    """
    result: dict[str, tuple[str, ...]] = {}
    for name in names:
        cells = _text_cells(main, name)
        if cells is None:
            continue
        columns = [cells]
        for table in extra:
            if name in table.columns:
                other = _text_cells(table, name)
                if other is None:
                    _numeric(table, name, "feature")  # raises, naming the numeric cell
                    raise DataFormatError(f"{table.path}: feature column {name!r} is numeric, "
                                          f"but text in {main.path.name}")
                columns.append(other)
        for table, column in zip((main, *extra), columns):
            empty = np.char.str_len(column) == 0
            if empty.any():
                row = int(np.flatnonzero(empty)[0])
                raise DataFormatError(
                    f"{table.where(row)}: text feature column {name!r} has a missing (empty) "
                    f"value; fill it, or leave the column out with {way_out(name)}"
                )
        result[name] = categories_of(name, columns, main.n_rows, str(main.path))
    return result


def _text_cells(table: Table, name: str) -> np.ndarray | None:
    """The cells of a text column (no cell a number), else None."""
    column = table.columns[name]
    if not table.from_text:
        return column.astype(str) if column.dtype.kind in "US" else None
    try:  # float() ignores surrounding whitespace, so the raw cells do
        table.parsed[name] = np.fromiter(map(float, column), dtype=np.float64, count=len(column))
    except ValueError:
        pass
    else:
        return None  # all numbers: the common case
    if any(_is_number(cell) for cell in column):
        return None
    return _text(table, name)


# --------------------------------------------------------------------------- notes


_FEW_VALUES = 20  # an integer target with at most this many values may be meant as classes


def _notes(schema: TabularSchema, target: _Target, *, inferred: bool,
           train_rows: np.ndarray) -> list[str]:
    """What the user should know about how the table was read (see load_tabular)."""
    notes: list[str] = []
    name = schema.target
    values = target.values if target.numeric else target.text
    if np.all(values == values[0]):
        notes.append(
            f"target {name!r} has the single value {_shown(values[0], target)} in every row: "
            f"there is nothing to learn (the model can only predict that value); is {name!r} "
            "the right column?"
        )
    elif inferred and schema.task == "regression" and target.integer:
        notes += _integer_regression_notes(target)
    if schema.classes is not None:
        notes += _missing_class_notes(schema, target, train_rows)
    for feature, categories in schema.categories.items():
        notes.append(
            f"feature column {feature!r} is text: one-hot encoded as {len(categories)} inputs "
            f"(one per category: {', '.join(categories)})"
        )
    # (a standardised regression target is no surprise worth a note: it is the default, its
    # statistics are in schema.target_standardizer, and predictions come back in the target's
    # units; a note on every regression run would drown the ones that matter)
    return notes


def _integer_regression_notes(target: _Target) -> list[str]:
    """An integer target with few values read as regression may be meant as class labels."""
    values = target.values
    unique, first, counts = np.unique(values, return_index=True, return_counts=True)
    if len(unique) > _FEW_VALUES:
        return []  # many integer values (prices, counts): regression is what was meant
    rare = max(2, len(values) // 100)  # rows this rare get their location, to find a typo
    listed = ", ".join(
        f"{_shown(v, target)} in {c} row{'s' if c != 1 else ''}"
        + (f" ({target.table.where(int(i))})" if c <= rare else "")
        for v, i, c in zip(unique, first, counts)
    )
    return [
        f"target {target.name!r} is treated as regression (a real number, mean squared error), "
        f"because its integer values are not the classes 0..K-1: {listed}. If they are class "
        "labels, pass task='multiclass' (command line: --task multiclass); if a value is a "
        "typo, fix that row"
    ]


def _missing_class_notes(schema: TabularSchema, target: _Target, train_rows: np.ndarray) -> list[str]:
    encoded = schema.encode_target(target).astype(np.int64)
    present = np.zeros(len(schema.classes or ()), dtype=bool)
    present[encoded[train_rows]] = True
    notes = []
    for k in np.flatnonzero(~present):
        rows = np.flatnonzero(encoded == k)
        if len(rows) == 0:  # a class only in the dev/test files, or 0 of an all-1 target
            continue
        where = f"{len(rows)} row{'s' if len(rows) != 1 else ''} in the file, the first at "
        where += target.table.where(int(rows[0]))
        notes.append(
            f"class {schema.classes[k]!r} of target {schema.target!r} has no example in the "
            f"training split ({where}): the model cannot learn it"
        )
    return notes


def _shown(value: Any, target: _Target) -> str:
    return repr(_python_scalar(value, target.integer))


def _fractions(
    dev: PathLike | None,
    test: PathLike | None,
    dev_fraction: float | None,
    test_fraction: float | None,
) -> dict[str, float]:
    result: dict[str, float] = {}
    for split, file, fraction in (("dev", dev, dev_fraction), ("test", test, test_fraction)):
        if file is not None:
            if fraction:
                raise ValueError(f"give either {split}= (a file) or {split}_fraction=, not both")
            continue
        value = _DEFAULT_FRACTION if fraction is None else float(fraction)
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{split}_fraction must be in [0, 1), got {fraction!r}")
        result[split] = value
    if sum(result.values()) >= 1.0:
        raise ValueError(
            f"dev_fraction + test_fraction must be below 1, got {sum(result.values())}"
        )
    return result


def _count(n: int, fraction: float) -> int:
    if fraction <= 0.0:
        return 0
    return max(1, int(round(n * fraction)))
