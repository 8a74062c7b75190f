"""In-memory datasets and minibatching.

A :class:`Dataset` holds an input array ``x`` and a target array ``y`` (or none) with the same
first dimension. :meth:`Dataset.batches` implements the lecture's minibatch scheme: every epoch
draws a fresh random permutation of the examples and splits it into consecutive chunks, so
each example is used exactly once per epoch, in a new order each epoch.

:class:`Splits` bundles the train, dev and test datasets of one task with what a trainer needs
to know about them (the task, the class labels, the preprocessing of tabular data).
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from .tabular import TabularSchema

__all__ = ["Dataset", "Splits", "Task", "make_rng"]

Task = Literal["regression", "binary", "multiclass"]

Batch = tuple[np.ndarray, "np.ndarray | None"]


def make_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """``rng`` as a Generator: a Generator is used as is (and advanced), an int seeds a new one,
    None gives an unseeded (non-reproducible) one."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"rng must be a numpy.random.Generator, an int seed or None, not {type(rng).__name__}"
    )


class Dataset:
    """Examples held in memory: inputs ``x`` (N, ...) and targets ``y`` (N, ...) or None.

    The arrays are stored as given (no copy); the loaders of this package produce float32
    inputs, and int64 (multiclass) or float32 (binary, regression) targets.
    """

    __slots__ = ("x", "y")

    def __init__(self, x: np.ndarray, y: np.ndarray | None = None) -> None:
        x = np.asarray(x)
        if x.ndim == 0:
            raise ValueError("Dataset: x must have at least one dimension (the examples)")
        if y is not None:
            y = np.asarray(y)
            if y.ndim == 0 or len(y) != len(x):
                raise ValueError(
                    f"Dataset: x has {len(x)} examples but y has "
                    f"{'no' if y.ndim == 0 else len(y)} (shapes {x.shape} and {y.shape})"
                )
        self.x = x
        self.y = y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: Any) -> Dataset:
        """A dataset of the selected examples (a slice gives views, an index array copies)."""
        if isinstance(index, (int, np.integer)):
            index = slice(index, index + 1 if index != -1 else None)
        return Dataset(self.x[index], None if self.y is None else self.y[index])

    def __repr__(self) -> str:
        y = "None" if self.y is None else f"{self.y.dtype}{list(self.y.shape)}"
        return f"Dataset(n={len(self)}, x={self.x.dtype}{list(self.x.shape)}, y={y})"

    def num_batches(self, batch_size: int, drop_last: bool = False) -> int:
        """How many batches :meth:`batches` yields per epoch."""
        batch_size = _check_batch_size(batch_size)
        full, rest = divmod(len(self), batch_size)
        return full if drop_last or rest == 0 else full + 1

    def batches(
        self,
        batch_size: int,
        shuffle: bool = True,
        rng: np.random.Generator | int | None = None,
        drop_last: bool = False,
        reuse_buffers: bool = False,
    ) -> Iterator[Batch]:
        """Iterate over one epoch in minibatches of ``(x_batch, y_batch)``.

        Args:
            batch_size: examples per batch (>= 1). The last batch is smaller when the dataset
                size is not a multiple, unless ``drop_last``.
            shuffle: draw a fresh random permutation for this epoch (the lecture's scheme); if
                False, batches are consecutive read-only views in the stored order (no copy).
            rng: the Generator the permutation is drawn from. Passing the same Generator each
                epoch gives a different permutation each epoch and a reproducible sequence of
                them for a given seed. An int seeds a new Generator; None uses an unseeded one.
            drop_last: skip the final incomplete batch.
            reuse_buffers: gather every shuffled batch into the same two preallocated arrays
                instead of new ones. This saves an allocation per batch, but each yielded
                array is overwritten by the next batch: only for a consumer that is done with a
                batch before asking for the next one, like a training step. Default False:
                every batch is a new array.

        The permutation is drawn when this method is called, not at the first ``next()``.
        ``y_batch`` is None when the dataset has no targets.

        Raises:
            ValueError: ``batch_size`` is not a positive integer.
            TypeError: ``rng`` is not a Generator, int or None.
        """
        batch_size = _check_batch_size(batch_size)
        n = len(self)
        stop = n - n % batch_size if drop_last else n
        if not shuffle:
            return self._sequential(batch_size, stop)
        order = make_rng(rng).permutation(n)
        if reuse_buffers:
            return self._gather_into(order, batch_size, stop)
        return self._gather(order, batch_size, stop)

    def _sequential(self, batch_size: int, stop: int) -> Iterator[Batch]:
        x, y = self.x, self.y
        for start in range(0, stop, batch_size):
            xb = x[start : start + batch_size]
            xb.flags.writeable = False
            if y is None:
                yield xb, None
            else:
                yb = y[start : start + batch_size]
                yb.flags.writeable = False
                yield xb, yb

    def _gather(self, order: np.ndarray, batch_size: int, stop: int) -> Iterator[Batch]:
        x, y = self.x, self.y
        take = np.take
        for start in range(0, stop, batch_size):
            index = order[start : start + batch_size]
            xb = take(x, index, axis=0, mode="clip")  # indices are valid: no bounds check
            yield xb, (None if y is None else take(y, index, axis=0, mode="clip"))

    def _gather_into(self, order: np.ndarray, batch_size: int, stop: int) -> Iterator[Batch]:
        x, y = self.x, self.y
        size = min(batch_size, len(self))
        x_buffer = np.empty((size, *x.shape[1:]), dtype=x.dtype)
        y_buffer = None if y is None else np.empty((size, *y.shape[1:]), dtype=y.dtype)
        # The bound methods: np.take's Python wrapper costs about as much as a small gather.
        take_x = x.take
        take_y = None if y is None else y.take
        for start in range(0, stop, batch_size):
            index = order[start : start + batch_size]
            m = len(index)
            xb = x_buffer if m == size else x_buffer[:m]
            # mode="clip": a permutation's indices are in range, and mode="raise" would make
            # np.take gather through a temporary buffer when out= is given
            take_x(index, 0, xb, "clip")
            if take_y is None:
                yield xb, None
            else:
                yb = y_buffer if m == size else y_buffer[:m]
                take_y(index, 0, yb, "clip")
                yield xb, yb


def _check_batch_size(batch_size: int) -> int:
    if isinstance(batch_size, bool):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    try:
        value = operator.index(batch_size)
    except TypeError:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}") from None
    if value < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return value


@dataclass
class Splits:
    """The train, dev and test datasets of one task, with what a trainer needs to know.

    Unpacks as ``train, dev, test = splits``.

    Attributes:
        train: the training set.
        dev: the development (validation) set, or None when there is none.
        test: the test set, or None when there is none.
        task: ``"regression"`` (Normal output, MSE), ``"binary"`` (Bernoulli, sigmoid + binary
            cross-entropy) or ``"multiclass"`` (categorical, softmax + cross-entropy).
        classes: for binary/multiclass, the original label of each class index (for binary,
            index 1 is the positive class); None for regression.
        name: the dataset's name (``"mnist"``, or the tabular file's name).
        source: where the data was loaded from (a directory or file), for messages.
        schema: for tabular data, the preprocessing that turns new files into inputs exactly as
            the training data was (feature order, standardisation, label encoding); else None.
        notes: sentences about how the data was read that the user should see (a target read
            as regression although it looks like class labels, a target with a single value,
            a class missing from the training split, text columns encoded as categories);
            empty for ordinary data. The command line prints them on stderr.
    """

    train: Dataset
    dev: Dataset | None
    test: Dataset | None
    task: Task
    classes: tuple[Any, ...] | None = None
    name: str = ""
    source: str = ""
    schema: TabularSchema | None = None
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[Dataset | None]:
        return iter((self.train, self.dev, self.test))

    @property
    def num_classes(self) -> int | None:
        """Number of classes for binary/multiclass tasks, None for regression."""
        return None if self.classes is None else len(self.classes)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input example, e.g. (28, 28) or (784,)."""
        return tuple(self.train.x.shape[1:])

    def __repr__(self) -> str:
        parts = [f"name={self.name!r}", f"task={self.task!r}"]
        for label, data in (("train", self.train), ("dev", self.dev), ("test", self.test)):
            parts.append(f"{label}={data!r}")
        if self.classes is not None:
            parts.append(f"num_classes={len(self.classes)}")
        return f"Splits({', '.join(parts)})"
