"""Feature standardisation with statistics of the training split only.

``x' = (x - mean) / std`` per feature, where mean and std (population, ``ddof=0``) are computed
on the training split and then applied unchanged to the dev, test and prediction data, so that
no information from those splits leaks into training. A constant feature (std 0) gets std 1, so
it becomes 0 instead of NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Standardizer"]


@dataclass(frozen=True)
class Standardizer:
    """Per-feature ``(x - mean) / std``; ``mean`` and ``std`` are float64 vectors."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> Standardizer:
        """Statistics of ``x`` (N, D): column means and population std (0 replaced by 1)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or len(x) == 0:
            raise ValueError(
                f"Standardizer.fit needs a non-empty (N, D) array, got shape {x.shape}"
            )
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std[~(std > 0)] = 1.0  # also catches tiny data where std underflows to 0
        return cls(mean, std)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Standardised float32 copy of ``x`` (N, D)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != len(self.mean):
            raise ValueError(
                f"Standardizer: expected (N, {len(self.mean)}) features, got shape {x.shape}"
            )
        return ((x - self.mean) / self.std).astype(np.float32)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform` (float64)."""
        return np.asarray(x, dtype=np.float64) * self.std + self.mean

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, e.g. for a checkpoint."""
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Standardizer:
        return cls(
            np.asarray(data["mean"], dtype=np.float64), np.asarray(data["std"], dtype=np.float64)
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Standardizer):
            return NotImplemented
        return np.array_equal(self.mean, other.mean) and np.array_equal(self.std, other.std)

    __hash__ = None  # type: ignore[assignment]
