"""One catalogue of every primitive op, shared by the forward, gradcheck and PyTorch tests.

Each entry gives the op applied with descend, the same computation in NumPy (forward
reference) and in PyTorch (gradient reference; ``t`` is the torch module), the input shapes
and the domain the inputs are drawn from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import descend as ds


@dataclass
class OpCase:
    name: str
    descend: Callable
    numpy: Callable
    torch: Callable
    shapes: tuple
    domain: str = "any"  # any | positive | nonzero | unit
    extra: dict = field(default_factory=dict)


def draw(rng: np.random.Generator, shape: tuple, domain: str) -> np.ndarray:
    x = rng.standard_normal(shape)
    if domain == "positive":
        return np.abs(x) + 0.5
    if domain == "nonzero":
        return np.sign(x) * (np.abs(x) + 0.5)
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, shape)
    # Keep inputs away from kinks (|x|, relu, max ties) so central differences are valid.
    return np.where(np.abs(x) < 0.05, x + 0.2, x)


def _lse(x, axis, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


INDEX = np.array([0, 2, 2, 1, 0])  # repeated indices must accumulate
INDEX_REV = INDEX[::-1].copy()
MASK_SHAPE = (4, 3)

CASES = [
    # Binary elementwise, with broadcasting between (5,3,4,1) and (3,1,6).
    OpCase("add", lambda a, b: a + b, np.add, lambda t, a, b: a + b, ((5, 3, 4, 1), (3, 1, 6))),
    OpCase("sub", lambda a, b: a - b, np.subtract, lambda t, a, b: a - b, ((5, 3, 4, 1), (3, 1, 6))),
    OpCase("mul", lambda a, b: a * b, np.multiply, lambda t, a, b: a * b, ((5, 3, 4, 1), (3, 1, 6))),
    OpCase("div", lambda a, b: a / b, np.divide, lambda t, a, b: a / b, ((4, 1), (3,)), "nonzero"),
    OpCase("pow_tensor", lambda a, b: a ** b, np.power, lambda t, a, b: a ** b, ((3, 4), (4,)), "positive"),
    OpCase("maximum", ds.maximum, np.maximum, lambda t, a, b: t.maximum(a, b), ((3, 4), (4,))),
    OpCase("minimum", ds.minimum, np.minimum, lambda t, a, b: t.minimum(a, b), ((2, 3, 4), (3, 1))),
    OpCase("add_scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, lambda t, a: 2.5 + a, ((3, 4),)),
    OpCase("rsub_scalar", lambda a: 1.0 - a, lambda a: 1.0 - a, lambda t, a: 1.0 - a, ((3, 4),)),
    OpCase("rdiv_scalar", lambda a: 2.0 / a, lambda a: 2.0 / a, lambda t, a: 2.0 / a, ((3, 4),), "nonzero"),
    # Unary.
    OpCase("neg", lambda a: -a, np.negative, lambda t, a: -a, ((3, 4),)),
    OpCase("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, lambda t, a: a ** 3, ((3, 4),)),
    OpCase("pow_half", lambda a: a ** 0.5, np.sqrt, lambda t, a: a ** 0.5, ((3, 4),), "positive"),
    OpCase("square", lambda a: a ** 2, np.square, lambda t, a: a ** 2, ((3, 4),)),
    OpCase("exp", ds.exp, np.exp, lambda t, a: t.exp(a), ((3, 4),)),
    OpCase("log", ds.log, np.log, lambda t, a: t.log(a), ((3, 4),), "positive"),
    OpCase("sqrt", ds.sqrt, np.sqrt, lambda t, a: t.sqrt(a), ((3, 4),), "positive"),
    OpCase("abs", ds.abs, np.abs, lambda t, a: t.abs(a), ((3, 4),)),
    OpCase("sigmoid", ds.sigmoid, lambda a: 1 / (1 + np.exp(-a)), lambda t, a: t.sigmoid(a), ((3, 4),)),
    OpCase("tanh", ds.tanh, np.tanh, lambda t, a: t.tanh(a), ((3, 4),)),
    OpCase("relu", ds.relu, lambda a: np.maximum(a, 0), lambda t, a: t.relu(a), ((3, 4),)),
    OpCase("clip", lambda a: ds.clip(a, -0.5, 0.7), lambda a: np.clip(a, -0.5, 0.7),
           lambda t, a: t.clamp(a, -0.5, 0.7), ((4, 5),)),
    # Matrix multiplication: 2-D, batched with broadcasting, 1-D on either side.
    OpCase("matmul_2d", ds.matmul, np.matmul, lambda t, a, b: a @ b, ((3, 4), (4, 5))),
    OpCase("matmul_batched", ds.matmul, np.matmul, lambda t, a, b: a @ b, ((2, 1, 3, 4), (5, 4, 2))),
    OpCase("matmul_vec_mat", ds.matmul, np.matmul, lambda t, a, b: a @ b, ((4,), (2, 4, 3))),
    OpCase("matmul_mat_vec", ds.matmul, np.matmul, lambda t, a, b: a @ b, ((2, 3, 4), (4,))),
    OpCase("matmul_vec_vec", ds.matmul, np.matmul, lambda t, a, b: a @ b, ((4,), (4,))),
    OpCase("linear", ds.linear, lambda x, w, b: x @ w + b, lambda t, x, w, b: x @ w + b, ((6, 4), (4, 3), (3,))),
    OpCase("linear_1d", ds.linear, lambda x, w, b: x @ w + b, lambda t, x, w, b: x @ w + b, ((4,), (4, 3), (3,))),
    OpCase("linear_3d", ds.linear, lambda x, w, b: x @ w + b, lambda t, x, w, b: x @ w + b, ((2, 5, 4), (4, 3), (3,))),
    # Reductions.
    OpCase("sum_all", lambda a: a.sum(), np.sum, lambda t, a: a.sum(), ((3, 4),)),
    OpCase("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(axis=1), lambda t, a: a.sum(dim=1), ((3, 4, 2),)),
    OpCase("sum_tuple_keepdims", lambda a: a.sum(axis=(0, -1), keepdims=True),
           lambda a: a.sum(axis=(0, -1), keepdims=True), lambda t, a: a.sum(dim=(0, -1), keepdim=True), ((3, 4, 2),)),
    OpCase("mean_all", lambda a: a.mean(), np.mean, lambda t, a: a.mean(), ((3, 4),)),
    OpCase("mean_neg_axis", lambda a: a.mean(axis=-2), lambda a: a.mean(axis=-2), lambda t, a: a.mean(dim=-2), ((3, 4, 2),)),
    OpCase("max_axis", lambda a: a.max(axis=1), lambda a: a.max(axis=1), lambda t, a: t.amax(a, dim=1), ((3, 4, 2),)),
    OpCase("max_all_keepdims", lambda a: a.max(keepdims=True), lambda a: a.max(keepdims=True),
           lambda t, a: t.amax(a, dim=(0, 1), keepdim=True), ((3, 4),)),
    OpCase("min_axis", lambda a: a.min(axis=0), lambda a: a.min(axis=0), lambda t, a: t.amin(a, dim=0), ((3, 4),)),
    OpCase("logsumexp", lambda a: ds.logsumexp(a, axis=-1), lambda a: _lse(a, -1),
           lambda t, a: t.logsumexp(a, dim=-1), ((3, 5),)),
    OpCase("logsumexp_tuple", lambda a: ds.logsumexp(a, axis=(0, 2), keepdims=True), lambda a: _lse(a, (0, 2), True),
           lambda t, a: t.logsumexp(a, dim=(0, 2), keepdim=True), ((3, 4, 2),)),
    OpCase("softmax", lambda a: ds.softmax(a, axis=-1), lambda a: np.exp(a - _lse(a, -1, True)),
           lambda t, a: t.softmax(a, dim=-1), ((3, 5),)),
    OpCase("softmax_axis0", lambda a: ds.softmax(a, axis=0), lambda a: np.exp(a - _lse(a, 0, True)),
           lambda t, a: t.softmax(a, dim=0), ((3, 5),)),
    OpCase("log_softmax", lambda a: ds.log_softmax(a, axis=-1), lambda a: a - _lse(a, -1, True),
           lambda t, a: t.log_softmax(a, dim=-1), ((3, 5),)),
    # Shapes.
    OpCase("reshape", lambda a: a.reshape(6, 2), lambda a: a.reshape(6, 2), lambda t, a: a.reshape(6, 2), ((3, 4),)),
    OpCase("transpose", lambda a: a.T, lambda a: a.T, lambda t, a: a.permute(2, 1, 0), ((2, 3, 4),)),
    OpCase("transpose_axes", lambda a: a.transpose(1, 2, 0), lambda a: a.transpose(1, 2, 0),
           lambda t, a: a.permute(1, 2, 0), ((2, 3, 4),)),
    OpCase("swapaxes", lambda a: a.swapaxes(0, -1), lambda a: a.swapaxes(0, -1),
           lambda t, a: a.transpose(0, -1), ((2, 3, 4),)),
    OpCase("broadcast_to", lambda a: a.broadcast_to((2, 3, 4)), lambda a: np.broadcast_to(a, (2, 3, 4)),
           lambda t, a: a.expand(2, 3, 4), ((3, 1),)),
    OpCase("expand_dims", lambda a: a.expand_dims(1), lambda a: np.expand_dims(a, 1),
           lambda t, a: a.unsqueeze(1), ((3, 4),)),
    OpCase("squeeze", lambda a: a.squeeze(1), lambda a: np.squeeze(a, 1), lambda t, a: a.squeeze(1), ((3, 1, 4),)),
    OpCase("concatenate", lambda a, b: ds.concatenate([a, b, a], axis=1),
           lambda a, b: np.concatenate([a, b, a], axis=1), lambda t, a, b: t.cat([a, b, a], dim=1), ((2, 3), (2, 4))),
    OpCase("stack", lambda a, b: ds.stack([a, b], axis=-1), lambda a, b: np.stack([a, b], axis=-1),
           lambda t, a, b: t.stack([a, b], dim=-1), ((2, 3), (2, 3))),
    OpCase("getitem_slice", lambda a: a[1:, ::2], lambda a: a[1:, ::2], lambda t, a: a[1:, ::2], ((4, 5),)),
    OpCase("getitem_repeated", lambda a: a[INDEX], lambda a: a[INDEX],
           lambda t, a: a[t.as_tensor(INDEX)], ((3, 4),)),
    OpCase("getitem_pairs", lambda a: a[INDEX, INDEX_REV], lambda a: a[INDEX, INDEX_REV],
           lambda t, a: a[t.as_tensor(INDEX), t.as_tensor(INDEX_REV)], ((3, 4),)),
    OpCase("getitem_mask", lambda a: a[a.data > 0], lambda a: a[a > 0], lambda t, a: a[a > 0], (MASK_SHAPE,)),
    OpCase("where", lambda a, b: ds.where(a.data > 0, a, b), lambda a, b: np.where(a > 0, a, b),
           lambda t, a, b: t.where(a > 0, a, b), ((3, 4), (4,))),
]

CASE_IDS = [case.name for case in CASES]


def inputs_for(case: OpCase, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [draw(rng, shape, case.domain) for shape in case.shapes]


# ----------------------------------------------------------------------------- edge cases
# Fixed inputs at the edges of ops' domains (zeros of pow, NaN, ties, kinks, 0-d tensors with
# an axis, empty tensors), where descend follows PyTorch. Each is compared with PyTorch's
# output and gradients (the gradient of sum(out), i.e. backward with ones): live when torch
# imports, else against tests/fixtures/edges_torch.npz (tests/fixtures/make_op_fixtures.py).
# docs/conventions.md explains each choice.


@dataclass
class EdgeCase:
    name: str
    descend: Callable
    torch: Callable
    inputs: tuple  # float64 arrays (0-d arrays for scalars)
    expected: tuple = ()  # for DIFFERENCES: descend's gradients, one per input


NAN = np.nan


def _a(*values):
    return np.array(values, dtype=np.float64)


EDGE_CASES = [
    EdgeCase("pow_scalar_zero_exponent", lambda a: a ** 0, lambda t, a: a ** 0, (_a(0.0, 1.0, 2.0),)),
    EdgeCase("pow_scalar_half_at_zero", lambda a: a ** 0.5, lambda t, a: a ** 0.5, (_a(0.0, 1.0),)),
    EdgeCase("pow_tensor_edges", lambda a, b: a ** b, lambda t, a, b: a ** b,
             (_a(0.0, 0.0, 0.0, 0.0, 2.0, 0.0), _a(0.0, 1.0, 2.0, 0.5, 0.0, -1.0))),
    EdgeCase("max_all_nan", lambda a: a.max(), lambda t, a: a.max(), (_a(1.0, NAN, 3.0),)),
    EdgeCase("min_all_nan", lambda a: a.min(), lambda t, a: a.min(), (_a(1.0, NAN, -3.0),)),
    EdgeCase("max_axis_nan", lambda a: a.max(axis=1), lambda t, a: t.max(a, dim=1).values,
             (np.array([[1.0, NAN, 3.0], [4.0, 6.0, 5.0]]),)),
    EdgeCase("min_axis_nan", lambda a: a.min(axis=0), lambda t, a: t.min(a, dim=0).values,
             (np.array([[1.0, NAN], [4.0, -5.0]]),)),
    EdgeCase("max_ties", lambda a: a.max(), lambda t, a: a.max(), (_a(1.0, 3.0, 3.0, 2.0),)),
    EdgeCase("maximum_ties", ds.maximum, lambda t, a, b: t.maximum(a, b), (_a(1.0, 2.0), _a(1.0, 3.0))),
    EdgeCase("relu_at_zero", ds.relu, lambda t, a: t.relu(a), (_a(0.0, 1.0, -1.0),)),
    EdgeCase("abs_at_zero", ds.abs, lambda t, a: t.abs(a), (_a(0.0, 1.0, -1.0),)),
    EdgeCase("clip_at_bounds", lambda a: ds.clip(a, -0.5, 0.7), lambda t, a: t.clamp(a, -0.5, 0.7),
             (_a(-0.5, 0.7, 0.0, 2.0),)),
    EdgeCase("sum_0d_axis0", lambda a: a.sum(axis=0), lambda t, a: a.sum(0), (np.array(2.0),)),
    EdgeCase("mean_0d_axis_minus1", lambda a: a.mean(axis=-1), lambda t, a: a.mean(-1), (np.array(2.0),)),
    EdgeCase("max_0d_axis0", lambda a: a.max(axis=0), lambda t, a: t.amax(a, 0), (np.array(2.0),)),
    EdgeCase("logsumexp_0d_axis0", lambda a: ds.logsumexp(a, axis=0), lambda t, a: t.logsumexp(a, 0), (np.array(2.0),)),
    EdgeCase("softmax_0d_axis0", lambda a: ds.softmax(a, axis=0), lambda t, a: t.softmax(a, 0), (np.array(2.0),)),
    EdgeCase("softmax_0d_axis_minus1", lambda a: ds.softmax(a, axis=-1), lambda t, a: t.softmax(a, -1),
             (np.array(2.0),)),
    EdgeCase("log_softmax_0d_axis_minus1", lambda a: ds.log_softmax(a, axis=-1), lambda t, a: t.log_softmax(a, -1),
             (np.array(2.0),)),
    EdgeCase("sum_empty", lambda a: a.sum(), lambda t, a: a.sum(), (np.zeros(0),)),
    EdgeCase("logsumexp_empty_axis", lambda a: ds.logsumexp(a, axis=1), lambda t, a: t.logsumexp(a, 1),
             (np.zeros((2, 0)),)),
]

# Where descend deliberately differs from PyTorch: ``expected`` holds descend's gradients; the
# tests check them and that PyTorch's really are different (so each row documents a fact).
DIFFERENCES = [
    EdgeCase("maximum_nan", ds.maximum, lambda t, a, b: t.maximum(a, b),
             (_a(1.0, NAN, 3.0, NAN), _a(2.0, 1.0, NAN, NAN)),
             (_a(0.0, 1.0, 0.0, 0.5), _a(1.0, 0.0, 1.0, 0.5))),
    EdgeCase("minimum_nan", ds.minimum, lambda t, a, b: t.minimum(a, b),
             (_a(1.0, NAN, 3.0, NAN), _a(2.0, 1.0, NAN, NAN)),
             (_a(1.0, 1.0, 0.0, 0.5), _a(0.0, 0.0, 1.0, 0.5))),
    EdgeCase("clip_nan", lambda a: ds.clip(a, -1.0, 2.0), lambda t, a: t.clamp(a, -1.0, 2.0),
             (_a(1.0, NAN, -3.0),), (_a(1.0, 1.0, 0.0),)),
]

EDGE_IDS = [case.name for case in EDGE_CASES]
DIFFERENCE_IDS = [case.name for case in DIFFERENCES]
