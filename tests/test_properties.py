"""Property tests (Hypothesis) for the broadcasting reduction and indexing gradients."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import descend as ds
from descend.autograd import unbroadcast


@st.composite
def broadcastable_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4))
    return shapes.input_shapes, shapes.result_shape


@given(broadcastable_pair(), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_unbroadcast_is_the_adjoint_of_broadcasting(shapes, seed):
    # <broadcast(x), g> = <x, unbroadcast(g)> for all x, g: the definition of the VJP.
    (shape, _), result = shapes
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    g = rng.standard_normal(result)
    reduced = unbroadcast(g, shape)
    assert reduced.shape == tuple(shape)
    np.testing.assert_allclose(np.sum(np.broadcast_to(x, result) * g), np.sum(x * reduced), rtol=1e-9, atol=1e-9)


@given(broadcastable_pair(), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_binary_op_gradients_have_input_shapes(shapes, seed):
    (shape_a, shape_b), result = shapes
    rng = np.random.default_rng(seed)
    a = ds.tensor(rng.standard_normal(shape_a), requires_grad=True)
    b = ds.tensor(rng.standard_normal(shape_b), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == tuple(shape_a) and b.grad.shape == tuple(shape_b)
    np.testing.assert_allclose(a.grad, unbroadcast(np.broadcast_to(b.data, result), tuple(shape_a)), rtol=1e-12)


@given(st.integers(1, 6), st.lists(st.integers(0, 5), min_size=1, max_size=12), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_integer_indexing_gradient_counts_repeats(n, raw_index, seed):
    index = np.array([i % n for i in raw_index])
    rng = np.random.default_rng(seed)
    x = ds.tensor(rng.standard_normal((n, 2)), requires_grad=True)
    w = rng.standard_normal((len(index), 2))
    (x[index] * w).sum().backward()
    expected = np.zeros((n, 2))
    for row, i in enumerate(index):
        expected[i] += w[row]
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
                  elements=st.floats(-10, 10)), st.integers(0, 2**32 - 1))
@settings(max_examples=40, deadline=None)
def test_boolean_mask_gradient_is_the_mask(data, seed):
    mask = np.random.default_rng(seed).random(data.shape) < 0.5
    x = ds.tensor(data, requires_grad=True)
    x[mask].sum().backward()
    np.testing.assert_array_equal(x.grad, mask.astype(np.float64))


@given(st.data())
@settings(max_examples=40, deadline=None)
def test_slicing_gradient_matches_scatter(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=False, allow_ellipsis=True))
    x = ds.tensor(np.zeros(shape), requires_grad=True)
    x[index].sum().backward()
    expected = np.zeros(shape)
    expected[index] += 1
    np.testing.assert_array_equal(x.grad, expected)


@given(broadcastable_pair(), st.integers(0, 2**32 - 1), st.floats(-3, 3))
@settings(max_examples=30, deadline=None)
def test_trace_and_hooks_agree_with_backward(shapes, seed, scale):
    # The tracer's g(i) equals what retain_grad() keeps, and a hook scaling g(h) by c scales
    # the gradient that flows through h by c (the chain rule is linear in g).
    (shape_a, shape_b), _ = shapes
    rng = np.random.default_rng(seed)
    a = ds.tensor(rng.standard_normal(shape_a), requires_grad=True)
    b = ds.tensor(rng.standard_normal(shape_b), requires_grad=True)
    h = (a * b).tanh()
    loss = (h * h + a).sum()
    t = ds.trace(loss, names={"h": h})
    h.retain_grad()
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(t["h"].grad, h.grad, rtol=1e-12)
    np.testing.assert_allclose(t.node_of(a).grad, a.grad, rtol=1e-12)
    np.testing.assert_allclose(t.node_of(b).grad, b.grad, rtol=1e-12)
    through_h = b.grad.copy()
    b.grad = None
    h.register_hook(lambda g: g * scale)
    loss.backward()
    np.testing.assert_allclose(b.grad, scale * through_h, rtol=1e-9, atol=1e-12)
