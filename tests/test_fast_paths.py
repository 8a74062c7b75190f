"""Fast paths give the same numbers as the plain paths they replace.

Each performance shortcut in the core, nn, losses and optim is checked here against the
straightforward computation: gradients written straight into an optimizer's flat buffer,
the BLAS bias-gradient sum, the creation-order backward engine, Adam's folded update and
the one-reduction label check.
"""

from __future__ import annotations

import numpy as np
import pytest

import descend as ds
from descend import nn, optim
from descend.autograd import _topological_order
from descend.functional import cross_entropy


def make_mlp(seed: int = 0, sizes=(12, 16, 5), act=nn.ReLU) -> nn.Sequential:
    rng = np.random.default_rng(seed)
    layers = []
    for i in range(len(sizes) - 1):
        layer = nn.Linear(sizes[i], sizes[i + 1], rng=rng)
        layer.bias.data[...] = rng.standard_normal(sizes[i + 1]).astype(np.float32) * 0.1
        layers.append(layer)
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def data(seed: int = 1, n: int = 9, features: int = 12, classes: int = 5):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, classes, n)


def plain_grads(model, x, y):
    """Gradients with no optimizer attached (fresh arrays, the engine copies them)."""
    for p in model.parameters():
        p.grad = None
    cross_entropy(model(x), y).backward()
    return [p.grad.copy() for p in model.parameters()]


# ------------------------------------------------------------- gradients into the buffer
def test_linear_writes_gradients_into_the_flat_buffer_with_identical_values():
    x, y = data()
    reference = plain_grads(make_mlp(), x, y)
    model = make_mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    flat = opt._groups[0]
    flat.grad.fill(np.nan)  # stale contents must be overwritten, never added to
    opt.zero_grad(set_to_none=True)
    cross_entropy(model(x), y).backward()
    for p, view, ref in zip(model.parameters(), flat.grad_views, reference):
        assert p.grad is view  # written in place: no copy into the buffer needed
        np.testing.assert_array_equal(p.grad, ref)


@pytest.mark.parametrize("name,cls,options", [
    ("sgd", optim.SGD, dict(lr=0.1)),
    ("nesterov", optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("adam", optim.Adam, dict(lr=1e-2)),
])
def test_trajectory_is_the_same_whichever_way_gradients_are_reset(name, cls, options):
    x, y = data(n=20)
    finals = []
    for mode in ("fill", "none", "module"):
        model = make_mlp(act=nn.Tanh if name == "nesterov" else nn.ReLU)
        opt = cls(model.parameters(), **options)
        for step in range(15):
            xb, yb = x[step % 4::4], y[step % 4::4]
            if mode == "fill":
                opt.zero_grad()  # zero-filled buffer, the engine adds into it
            elif mode == "none":
                opt.zero_grad(set_to_none=True)  # written straight into the buffer
            else:
                model.zero_grad()
            cross_entropy(model(xb), yb).backward()
            opt.step()
        finals.append([p.data.copy() for p in model.parameters()])
    for other in finals[1:]:
        for a, b in zip(finals[0], other):
            np.testing.assert_array_equal(a, b)


def test_shared_weight_accumulates_both_uses_into_the_buffer():
    rng = np.random.default_rng(3)
    w = ds.tensor(rng.standard_normal((6, 6)).astype(np.float32), requires_grad=True)
    x = ds.tensor(rng.standard_normal((4, 6)).astype(np.float32))
    opt = optim.SGD([w], lr=0.1)

    def loss():
        return ds.linear(ds.linear(x, w).tanh(), w).sum()

    w_plain = ds.tensor(w.data.copy(), requires_grad=True)
    ds.linear(ds.linear(x, w_plain).tanh(), w_plain).sum().backward()
    opt.zero_grad(set_to_none=True)
    loss().backward()
    np.testing.assert_allclose(w.grad, w_plain.grad, rtol=1e-6, atol=1e-6)
    assert np.shares_memory(w.grad, opt._groups[0].grad)


def test_parameter_not_reached_by_backward_is_skipped_not_updated_with_stale_values():
    model = make_mlp()
    extra = nn.Linear(3, 3)
    params = list(model.parameters()) + list(extra.parameters())
    opt = optim.SGD(params, lr=0.1)
    x, y = data()
    opt.zero_grad()
    (cross_entropy(model(x), y) + extra(np.ones((1, 3), np.float32)).sum()).backward()
    opt.step()
    before = [p.data.copy() for p in extra.parameters()]
    opt.zero_grad(set_to_none=True)
    cross_entropy(model(x), y).backward()  # extra is not used: its buffer holds old values
    opt.step()
    for p, b in zip(extra.parameters(), before):
        assert p.grad is None
        np.testing.assert_array_equal(p.data, b)


def test_direct_write_with_a_float64_input_matches_the_plain_path():
    rng = np.random.default_rng(4)
    w = ds.tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    b = ds.tensor(np.zeros(3, np.float32), requires_grad=True)
    x = ds.tensor(rng.standard_normal((7, 5)))  # float64
    w2 = ds.tensor(w.data.copy(), requires_grad=True)
    b2 = ds.tensor(b.data.copy(), requires_grad=True)
    (ds.linear(x, w2, b2) ** 2).sum().backward()
    optim.SGD([w, b], lr=0.1).zero_grad(set_to_none=True)
    (ds.linear(x, w, b) ** 2).sum().backward()
    np.testing.assert_allclose(w.grad, w2.grad, rtol=1e-6)
    np.testing.assert_allclose(b.grad, b2.grad, rtol=1e-6)
    assert w.grad.dtype == np.float32 and b.grad.dtype == np.float32


# --------------------------------------------------------------------- bias gradient sum
@pytest.mark.parametrize("shape", [(1, 3), (50, 128), (256, 512), (2, 5, 4)])
def test_bias_gradient_equals_the_sum_over_the_batch(shape):
    rng = np.random.default_rng(5)
    x = ds.tensor(rng.standard_normal(shape).astype(np.float32))
    w = ds.tensor(rng.standard_normal((shape[-1], 7)).astype(np.float32), requires_grad=True)
    b = ds.tensor(np.zeros(7, np.float32), requires_grad=True)
    g = rng.standard_normal(shape[:-1] + (7,)).astype(np.float32)
    ds.linear(x, w, b).backward(g)
    expected = g.reshape(-1, 7).astype(np.float64).sum(axis=0)
    np.testing.assert_allclose(b.grad, expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------- backward order
def _reference_backward(root):
    """The lecture's algorithm over an explicit topological order (the engine's old form)."""
    grads = {id(root): np.ones_like(root.data)}
    leaves = {}
    for node in reversed(_topological_order(root)):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node._ctx is None:
            leaves[id(node)] = leaves.get(id(node), 0) + g
            continue
        for parent, pg in zip(node._ctx.inputs, node._ctx.backward(g)):
            if pg is None or not parent.requires_grad:
                continue
            pg = ds.autograd.unbroadcast(pg, parent.data.shape)
            grads[id(parent)] = pg if id(parent) not in grads else grads[id(parent)] + pg
    return leaves


@pytest.mark.parametrize("seed", range(5))
def test_creation_order_engine_matches_an_explicit_topological_order(seed):
    rng = np.random.default_rng(seed)
    leaves = [ds.tensor(rng.standard_normal(4), dtype=np.float64, requires_grad=True) for _ in range(3)]
    nodes = list(leaves)
    for _ in range(25):  # a random DAG with reuse, diamonds and broadcasting
        a, b = (nodes[i] for i in rng.integers(0, len(nodes), 2))
        op = rng.integers(0, 4)
        nodes.append([a + b, a * b, (a - b).tanh(), a * b.sum()][op])
    root = sum(nodes[-6:], nodes[3]).sum()
    expected = _reference_backward(root)
    root.backward(retain_graph=True)
    for leaf in leaves:
        if id(leaf) in expected:
            np.testing.assert_allclose(leaf.grad, expected[id(leaf)], rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------------------ Adam
def test_adam_folded_update_matches_pytorchs_formula():
    rng = np.random.default_rng(6)
    theta0 = rng.standard_normal(50)
    p = ds.tensor(theta0.copy(), requires_grad=True)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    opt = optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    theta, m, v = theta0.copy(), np.zeros(50), np.zeros(50)
    for t in range(1, 101):
        g = np.sin(theta * t)  # any gradient sequence
        p.grad = g.copy()
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        denom = np.sqrt(v) / np.sqrt(1 - b2 ** t) + eps
        theta = theta - lr / (1 - b1 ** t) * m / denom
        np.testing.assert_allclose(p.data, theta, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------- label check
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8, np.uint64])
def test_label_range_check_with_one_reduction(dtype):
    z = ds.tensor(np.zeros((3, 4), np.float32), requires_grad=True)
    assert cross_entropy(z, np.array([0, 3, 1], dtype=dtype)).item() == pytest.approx(np.log(4))
    with pytest.raises(ValueError, match="label 4 .*out of range"):
        cross_entropy(z, np.array([0, 4, 1], dtype=dtype))
    if np.dtype(dtype).kind == "i":
        with pytest.raises(ValueError, match="label -1 .*out of range"):
            cross_entropy(z, np.array([0, -1, 1], dtype=dtype))


# --------------------------------------------------------------------- streaming IDX load
@pytest.mark.parametrize("gz", [True, False])
def test_streaming_mnist_load_equals_the_plain_load(tmp_path, monkeypatch, gz):
    from descend.data import load_mnist, write_idx
    import descend.data.mnist as mnist

    rng = np.random.default_rng(7)
    suffix = ".gz" if gz else ""
    write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", rng.integers(0, 256, (5010, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", rng.integers(0, 10, 5010).astype(np.uint8))
    write_idx(tmp_path / f"t10k-images-idx3-ubyte{suffix}", rng.integers(0, 256, (7, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", rng.integers(0, 10, 7).astype(np.uint8))
    used = []
    original = mnist._load_idx_streaming
    monkeypatch.setattr(mnist, "_load_idx_streaming", lambda *a, **k: used.append(1) or original(*a, **k))
    fast = load_mnist(tmp_path, verify=False, download=False)
    monkeypatch.setattr(mnist, "_load_idx_streaming", lambda *a, **k: None)
    plain = load_mnist(tmp_path, verify=False, download=False)
    assert used
    for a, b in zip((fast.train, fast.dev, fast.test), (plain.train, plain.dev, plain.test)):
        assert a.x.dtype == b.x.dtype == np.float32 and a.y.dtype == b.y.dtype
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)


def test_streaming_load_gives_up_on_a_damaged_file(tmp_path):
    from descend.data import write_idx
    import descend.data.mnist as mnist
    from descend.data.catalog import MNIST

    path = tmp_path / "train-images-idx3-ubyte"
    write_idx(path, np.zeros((3, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-5])  # truncated
    assert mnist._stream_unit_float(MNIST, path, "", False) is None
    write_idx(path, np.zeros((3, 28, 28), np.uint8))
    assert mnist._stream_unit_float(MNIST, path, "0" * 64, True) is None  # checksum mismatch
    assert mnist._stream_unit_float(MNIST, path, "", False).shape == (3, 28, 28)


def test_seed_gradient_is_a_fresh_array_each_backward():
    """backward() on a scalar seeds with ones from a cache: an op that scales its incoming
    gradient in place must not change the seed of the next backward."""
    from descend.tensor import Function

    class SumTimesThree(Function):
        def forward(self, x):
            self.shape = x.shape
            return np.asarray(x.sum())

        def backward(self, grad):
            grad *= 3  # in place, on the array the engine handed over
            return (np.full(self.shape, grad, dtype=grad.dtype),)

    for _ in range(3):
        x = ds.tensor(np.ones((2, 3), dtype=np.float32), requires_grad=True)
        SumTimesThree.apply(x).backward()
        np.testing.assert_array_equal(x.grad, np.full((2, 3), 3.0, dtype=np.float32))


@pytest.mark.parametrize("with_y", [True, False])
def test_reused_batch_buffers_hold_the_indexed_rows(with_y):
    """The batch gather through the arrays' own ``take`` (reuse_buffers=True) gives the rows
    that plain indexing gives, the last, shorter batch included."""
    from descend.data import Dataset

    rng = np.random.default_rng(0)
    x = rng.standard_normal((23, 4)).astype(np.float32)
    y = rng.integers(0, 5, size=23) if with_y else None
    order = np.random.default_rng(7).permutation(23)
    got = [(xb.copy(), None if yb is None else yb.copy())
           for xb, yb in Dataset(x, y).batches(5, rng=np.random.default_rng(7), reuse_buffers=True)]
    assert [len(xb) for xb, _ in got] == [5, 5, 5, 5, 3]
    for i, (xb, yb) in enumerate(got):
        index = order[5 * i: 5 * i + 5]
        np.testing.assert_array_equal(xb, x[index])
        if with_y:
            np.testing.assert_array_equal(yb, y[index])
        else:
            assert yb is None
