"""Every op in the catalogue: forward against NumPy, float64 gradcheck, and PyTorch's values."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

import descend as ds
from op_catalogue import CASE_IDS, CASES, inputs_for

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "ops_torch.npz"


def as_tensors(arrays, dtype=np.float64, requires_grad=True):
    return [ds.tensor(a, dtype=dtype, requires_grad=requires_grad) for a in arrays]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_matches_numpy(case, dtype):
    arrays = [a.astype(dtype) for a in inputs_for(case)]
    out = case.descend(*as_tensors(arrays, dtype))
    expected = case.numpy(*arrays)
    assert out.dtype == dtype
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.data, expected, rtol=1e-6 if dtype == np.float32 else 1e-12, atol=1e-7)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradcheck(case, seed):
    assert ds.gradcheck(case.descend, as_tensors(inputs_for(case, seed)))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_dtype_and_shape(case, dtype):
    tensors = as_tensors([a.astype(dtype) for a in inputs_for(case)], dtype)
    case.descend(*tensors).sum().backward()
    for t in tensors:
        assert t.grad is not None and t.grad.shape == t.shape and t.grad.dtype == dtype


def _weighted_backward(case, arrays, weights, dtype):
    tensors = as_tensors([a.astype(dtype) for a in arrays], dtype)
    out = case.descend(*tensors)
    out.backward(weights.astype(dtype))
    return out.data, [t.grad for t in tensors]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_matches_pytorch_fixture(case, dtype, tol):
    ref = np.load(FIXTURE)
    arrays = [ref[f"{case.name}/input{i}"] for i in range(len(case.shapes))]
    out, grads = _weighted_backward(case, arrays, ref[f"{case.name}/weights"], dtype)
    np.testing.assert_allclose(out, ref[f"{case.name}/out"], rtol=tol, atol=tol)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, ref[f"{case.name}/grad{i}"], rtol=tol, atol=tol, err_msg=f"grad of input {i}")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_pytorch_live(case):
    torch = pytest.importorskip("torch")
    arrays = inputs_for(case, seed=7)
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_t = case.torch(torch, *tensors)
    weights = np.random.default_rng(3).standard_normal(tuple(out_t.shape))
    (out_t * torch.tensor(weights)).sum().backward()
    out, grads = _weighted_backward(case, arrays, weights, np.float64)
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-10, atol=1e-10)
    for g, t in zip(grads, tensors):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_fixture_covers_catalogue():
    ref = np.load(FIXTURE)
    assert {k.split("/")[0] for k in ref.files if "/" in k} == set(CASE_IDS)


# ----------------------------------------------------------- conventions the lecture fixes
def test_relu_derivative_at_zero_is_zero():
    x = ds.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    x.relu().sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0]


def test_sigmoid_and_tanh_derivatives_from_output():
    x = ds.tensor(np.linspace(-3, 3, 7), dtype=np.float64, requires_grad=True)
    s = x.sigmoid()
    s.sum().backward()
    np.testing.assert_allclose(x.grad, s.data * (1 - s.data), rtol=1e-15)
    x.grad = None
    t = x.tanh()
    t.sum().backward()
    np.testing.assert_allclose(x.grad, 1 - t.data ** 2, rtol=1e-15)


@pytest.mark.parametrize("fn", [ds.sigmoid, lambda x: ds.softmax(x, axis=-1), lambda x: ds.log_softmax(x, axis=-1),
                                lambda x: ds.logsumexp(x, axis=-1)])
def test_stable_at_extreme_values(fn):
    x = ds.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], requires_grad=True)
    out = fn(x)
    out.sum().backward()
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(x.grad))


def test_logsumexp_of_all_minus_infinity_is_minus_infinity():
    out = ds.logsumexp(ds.tensor([-np.inf, -np.inf]), axis=0)
    assert out.item() == -np.inf


def test_max_splits_gradient_among_ties():
    x = ds.tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5]]


def test_maximum_splits_gradient_on_ties():
    a = ds.tensor([1.0, 2.0], requires_grad=True)
    b = ds.tensor([1.0, 0.0], requires_grad=True)
    ds.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 1.0] and b.grad.tolist() == [0.5, 0.0]


def test_pow_tensor_exponent_at_zero_base():
    a = ds.tensor([0.0, 2.0], dtype=np.float64, requires_grad=True)
    b = ds.tensor([2.0, 3.0], dtype=np.float64, requires_grad=True)
    (a ** b).sum().backward()
    assert np.isfinite(b.grad).all() and b.grad[0] == 0.0
    np.testing.assert_allclose(b.grad[1], 8 * np.log(2))


def test_reflected_operators_with_numpy_arrays():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    arr = np.array([3.0, 4.0], dtype=np.float32)
    for out, expected in [(arr + x, [4, 6]), (arr - x, [2, 2]), (arr * x, [3, 8]), (arr / x, [3, 2]),
                          (2 ** x, [2, 4]), (arr @ x, 11)]:
        assert isinstance(out, ds.Tensor) and out.requires_grad
        np.testing.assert_allclose(out.data, expected)


def test_python_scalars_keep_float32():
    x = ds.tensor([1.0, 2.0])
    for out in [x + 1.5, 2.0 * x, x / 3, x ** 2, 1 - x]:
        assert out.dtype == np.float32


def test_comparisons_are_plain_boolean_tensors():
    x = ds.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for out in [x > 2, x >= 2, x < 2, x <= 2, x == 2, x != 2]:
        assert out.dtype == bool and not out.requires_grad and out.is_leaf
    assert (x > 1.5).data.tolist() == [False, True, True]


def test_getitem_with_tensor_index_and_boolean_mask_gradient():
    x = ds.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x[x > 2.5].sum().backward()
    assert x.grad.tolist() == [[0, 0, 0], [1, 1, 1]]
    y = ds.tensor(np.arange(3.0), requires_grad=True)
    y[ds.tensor([0, 0, 2])].sum().backward()
    assert y.grad.tolist() == [2, 0, 1]
