"""descend.nn.Residual: y = x + F(x), its gradients by float64 central differences and against
PyTorch (when it imports)."""

from __future__ import annotations

import numpy as np
import pytest

import descend as ds
from descend.nn import Linear, ReLU, Residual, Sequential, Tanh


def _block(rng: np.random.Generator, d: int = 5) -> Residual:
    return Residual(Sequential(Linear(d, 7, rng=rng, dtype=np.float64), Tanh(),
                               Linear(7, d, rng=rng, dtype=np.float64)))


def _loss(layer: Residual, x: ds.Tensor, r: np.ndarray) -> ds.Tensor:
    return (layer(x) * ds.tensor(r)).sum()


def test_forward_is_x_plus_block():
    rng = np.random.default_rng(0)
    layer = _block(rng)
    x = rng.standard_normal((3, 5))
    np.testing.assert_allclose(layer(ds.tensor(x)).data, x + layer.block(ds.tensor(x)).data,
                               rtol=0, atol=0)
    assert [n for n, _ in layer.named_parameters()] == [
        "block.0.weight", "block.0.bias", "block.2.weight", "block.2.bias"]


def test_gradients_by_finite_differences():
    rng = np.random.default_rng(1)
    layer = _block(rng)
    x = ds.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    r = rng.standard_normal((4, 5))
    _loss(layer, x, r).backward()
    eps = 1e-6
    for name, tensor in [("x", x)] + list(layer.named_parameters()):
        analytic = tensor.grad.copy()
        numeric = np.zeros_like(analytic)
        flat = tensor.data.reshape(-1)
        for k in range(flat.size):
            old = flat[k]
            flat[k] = old + eps
            up = float(_loss(layer, x, r).item())
            flat[k] = old - eps
            down = float(_loss(layer, x, r).item())
            flat[k] = old
            numeric.reshape(-1)[k] = (up - down) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_identity_path_carries_the_gradient_when_the_block_is_zero():
    # F = 0 (zero last layer): dL/dx = dL/dy exactly, whatever the depth.
    rng = np.random.default_rng(2)
    layers = []
    for _ in range(10):
        block = _block(rng)
        block.block[2].weight.data[...] = 0.0
        layers.append(block)
    net = Sequential(*layers)
    x = ds.tensor(rng.standard_normal((2, 5)), requires_grad=True)
    r = rng.standard_normal((2, 5))
    (net(x) * ds.tensor(r)).sum().backward()
    np.testing.assert_array_equal(x.grad, r)


def test_against_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    layer = _block(rng)
    x_np, r = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    x = ds.tensor(x_np, requires_grad=True)
    _loss(layer, x, r).backward()
    w1, b1, w2, b2 = (torch.tensor(p.data, requires_grad=True) for p in layer.parameters())
    xt = torch.tensor(x_np, requires_grad=True)
    y = xt + torch.tanh(xt @ w1 + b1) @ w2 + b2
    (y * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(layer(ds.tensor(x_np)).data, y.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), rtol=1e-10)
    for p, t in zip(layer.parameters(), (w1, b1, w2, b2)):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_bad_block_is_rejected_early():
    with pytest.raises(TypeError, match="Residual takes a Module"):
        Residual(lambda x: x)
    layer = Residual(Sequential(Linear(4, 3), ReLU()))
    with pytest.raises(ValueError, match="maps shape"):
        layer(ds.tensor(np.zeros((2, 4), dtype=np.float32)))
