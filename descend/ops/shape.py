"""Ops that move values without changing them: reshape, transpose, broadcast_to,
expand_dims, squeeze, concatenate, stack and indexing. Each backward moves the gradient back."""

from __future__ import annotations

import numpy as np

from ..tensor import Function, Tensor
from .reduction import axis_error, normalize_axis


class Reshape(Function):
    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, grad):
        return (grad.reshape(self.shape),)


class Transpose(Function):
    """Permute axes (reverse them when ``axes`` is None); backward applies the inverse."""

    def forward(self, a, axes):
        self.axes = axes
        return np.transpose(a, axes)

    def backward(self, grad):
        if self.axes is None:
            return (np.transpose(grad),)
        return (np.transpose(grad, np.argsort(self.axes)),)


class BroadcastTo(Function):
    """Copy along new or size-1 axes; the engine's unbroadcast sums the copies back."""

    def forward(self, a, shape):
        return np.broadcast_to(a, shape)

    def backward(self, grad):
        return (grad,)


class ExpandDims(Function):
    def forward(self, a, axis):
        self.shape = a.shape
        return np.expand_dims(a, axis)

    def backward(self, grad):
        return (grad.reshape(self.shape),)


class Squeeze(Function):
    """Remove axes of size 1 (all of them when ``axis`` is None). Naming an axis whose size is
    not 1 is an error, as in NumPy (PyTorch silently leaves such an axis in place)."""

    def forward(self, a, axis):
        self.shape = a.shape
        if axis is not None:
            axes = normalize_axis(axis, a.ndim)
            wrong = [ax for ax in axes if a.shape[ax] != 1]
            if wrong:
                raise ValueError(
                    f"cannot squeeze axis {wrong[0]} of size {a.shape[wrong[0]]}: only axes of "
                    f"size 1 can be squeezed (descend follows NumPy here; PyTorch would leave "
                    f"the axis in place); squeeze only where t.shape[axis] == 1"
                )
            return np.squeeze(a, axes) if axes else a
        return np.squeeze(a, axis)

    def backward(self, grad):
        return (grad.reshape(self.shape),)


class Concatenate(Function):
    """Join along an existing axis; backward splits the gradient at the same offsets."""

    def forward(self, *arrays, axis):
        ndim = arrays[0].ndim
        if ndim and not -ndim <= axis < ndim:
            raise axis_error(axis, ndim)
        self.axis = axis
        self.offsets = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad):
        return np.split(grad, self.offsets, axis=self.axis)


class Stack(Function):
    """Join along a new axis; backward takes each slice of the gradient."""

    def forward(self, *arrays, axis):
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, grad):
        return [np.take(grad, i, axis=self.axis) for i in range(len(self.inputs))]


def _is_basic(index) -> bool:
    """Basic indexing (slices, ints, None, Ellipsis) selects each element at most once."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (slice, int, np.integer, type(None), type(Ellipsis))) for p in parts)


def _plain_index(index):
    """Replace tensors inside an index by their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(p.data if isinstance(p, Tensor) else p for p in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


class GetItem(Function):
    """z = a[index] for slices, integer arrays and boolean masks. The gradient is scattered
    back; with integer arrays an element selected several times receives the sum
    (``np.add.at``), as the chain rule requires."""

    def forward(self, a, index):
        self.index = _plain_index(index)
        self.shape, self.dtype = a.shape, a.dtype
        try:
            return a[self.index]
        except IndexError as error:
            raise IndexError(f"GetItem of shape {a.shape}: {error}") from None

    def backward(self, grad):
        out = np.zeros(self.shape, dtype=grad.dtype)
        if _is_basic(self.index):
            out[self.index] = grad
        else:
            np.add.at(out, self.index, grad)
        return (out,)
