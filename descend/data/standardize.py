"""Standardisation with statistics of the training split only.

``x' = (x - mean) / std`` per column, where mean and std (population, ``ddof=0``) are computed
on the training split and then applied unchanged to the dev, test and prediction data, so that
no information from those splits leaks into training. A constant column (std 0) gets std 1, so
it becomes 0 instead of NaN. The same class standardises regression targets (one column).

Everything is computed in float64. Where a column's sum or squares overflow float64 (values
near 1e308), its statistics are computed on the column divided by its largest magnitude and
scaled back, so that they are finite instead of an infinite std that would turn the whole
column into zeros. Statistics that are not finite, or a std that is not positive, are refused: on
:meth:`Standardizer.fit` (non-finite data) and on :meth:`Standardizer.from_dict` (a damaged
checkpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import DataFormatError

__all__ = ["Standardizer"]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _column_name(names: Sequence[str] | None, j: int) -> str:
    return repr(names[j]) if names is not None and j < len(names) else f"{j}"


@dataclass(frozen=True)
class Standardizer:
    """Per-column ``(x - mean) / std``; ``mean`` and ``std`` are float64 vectors."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        """Statistics of ``x`` (N, D): column means and population std (0 replaced by 1).

        Raises:
            ValueError: ``x`` is not a non-empty 2-D array, or holds NaN or infinite values.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(
                f"Standardizer.fit needs a non-empty (N, D) array, got shape {x.shape}"
            )
        finite = np.isfinite(x)
        if not finite.all():
            row, column = (int(i[0]) for i in np.nonzero(~finite))
            raise ValueError(
                f"Standardizer.fit: column {column} has a NaN or infinite value (row {row})"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            mean = x.mean(axis=0)
            std = x.std(axis=0)
        overflowed = ~(np.isfinite(mean) & np.isfinite(std))
        if overflowed.any():
            # sums or squares of values near 1e308 overflow: these columns are computed
            # divided by their largest magnitude, then scaled back
            part = x[:, overflowed]
            scale = np.abs(part).max(axis=0)
            scaled = part / scale
            mean[overflowed] = scaled.mean(axis=0) * scale
            std[overflowed] = scaled.std(axis=0) * scale
        std[~(std > 0)] = 1.0  # also catches tiny data where std underflows to 0
        return cls(mean, std)

    def transform(
        self,
        x: np.ndarray,
        *,
        names: Sequence[str] | None = None,
        where: Callable[[int], str] | None = None,
    ) -> np.ndarray:
        """Standardised float32 copy of ``x`` (N, D).

        Args:
            x: the data, in the columns the statistics were fitted on.
            names, where: column names and a function giving a row's location ("data.csv
                line 7"), used only in error messages.

        Raises:
            ValueError: ``x`` has the wrong shape.
            DataFormatError: a standardised value does not fit float32 (a value more than
                about 3e38 standard deviations from the training mean), or ``x`` holds NaN or
                infinite values; the message names the column and the row.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise ValueError(
                f"Standardizer: expected (N, {len(self.mean)}) features, got shape {x.shape}"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            z = (x - self.mean) / self.std
            overflowed = ~np.isfinite(z) & np.isfinite(x)
            if overflowed.any():  # x - mean beyond float64 (both near 1e308): in two steps
                z = np.where(overflowed, x / self.std - self.mean / self.std, z)
            out = z.astype(np.float32)
        bad = ~np.isfinite(out)
        if bad.any():
            row, column = (int(i[0]) for i in np.nonzero(bad))
            at = where(row) if where is not None else f"row {row}"
            value = x[row, column]
            if np.isfinite(value):
                reason = (
                    f"the value {value:g} is {z[row, column]:.3g} standard deviations from the "
                    f"training mean ({self.mean[column]:.6g}, std {self.std[column]:.6g}), "
                    "beyond what float32 holds; check the value (a typo or a sentinel?)"
                )
            else:
                reason = f"the value is {value} (remove or fill it)"
            raise DataFormatError(f"column {_column_name(names, column)} at {at}: {reason}")
        return out

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: ``x * std + mean`` (float64)."""
        return np.asarray(x, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, e.g. for a checkpoint."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, names: Sequence[str] | None = None) -> Standardizer:
        """The inverse of :meth:`to_dict`, checked: the statistics must be finite vectors of
        one length (that of ``names`` when given) with positive std.

        Raises:
            ValueError: the stored statistics are malformed, not finite or not positive; the
                message names the column (by ``names`` when given).
        """
        try:
            mean = np.asarray(data["mean"], dtype=np.float64)
            std = np.asarray(data["std"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"malformed standardisation statistics ({error!r})") from None
        if mean.ndim != 1 or mean.shape != std.shape:
            raise ValueError(
                f"standardisation statistics of shapes {mean.shape} (mean) and {std.shape} "
                "(std); expected two vectors of one length"
            )
        if names is not None and len(mean) != len(names):
            raise ValueError(
                f"standardisation statistics for {len(mean)} columns, but there are "
                f"{len(names)} ({', '.join(map(repr, names))})"
            )
        for j in range(len(mean)):
            if not (np.isfinite(mean[j]) and np.isfinite(std[j]) and std[j] > 0):
                raise ValueError(
                    f"the standardisation statistics of column {_column_name(names, j)} are "
                    f"mean={float(mean[j])!r}, std={float(std[j])!r}; a mean must be finite and a std finite "
                    "and positive"
                )
        return cls(mean, std)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Standardizer):
            return NotImplemented
        return np.array_equal(self.mean, other.mean) and np.array_equal(self.std, other.std)

    __hash__ = None  # type: ignore[assignment]
