"""Graph behaviour of the backpropagation engine, and the errors a user can meet."""

from __future__ import annotations

import numpy as np
import pytest

import descend as ds


def test_diamond_sums_both_paths():
    # y = a*b + a*c with b = 2x, c = x^2: dy/dx = 2a + 2ax through two paths from x.
    x = ds.tensor(3.0, dtype=np.float64, requires_grad=True)
    a = 5.0
    b, c = 2 * x, x ** 2
    y = a * b + a * c
    y.backward()
    assert x.grad == pytest.approx(2 * a + 2 * a * 3.0)


def test_node_reused_many_times_accumulates():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    y = x * x * x  # x used three times
    (y + x).sum().backward()
    np.testing.assert_allclose(x.grad, 3 * x.data ** 2 + 1)


def test_same_tensor_twice_in_one_op():
    x = ds.tensor([1.5, -2.0], requires_grad=True)
    (x + x).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    w = ds.tensor([1.0, 2.0], requires_grad=True)
    y = ds.tensor([3.0, 4.0], requires_grad=True)
    (w + y).sum().backward()
    w.grad += 1  # leaves must not share one gradient array
    assert y.grad.tolist() == [1.0, 1.0]


def test_gradients_accumulate_across_backward_calls_until_cleared():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [6.0, 6.0]
    x.zero_grad()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_accumulation_is_in_place_into_an_existing_grad_array():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    buffer = np.zeros(2, dtype=np.float32)
    x.grad = buffer
    (x * 2).sum().backward()
    assert x.grad is buffer and buffer.tolist() == [2.0, 2.0]


def test_no_grad_records_nothing():
    x = ds.tensor([1.0], requires_grad=True)
    with ds.no_grad():
        y = x * 2
        assert not ds.is_grad_enabled()
    assert ds.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf


def test_no_grad_as_decorator_and_enable_grad_inside():
    x = ds.tensor([1.0], requires_grad=True)

    @ds.no_grad()
    def f():
        with ds.enable_grad():
            inner = x * 2
        return x * 2, inner

    outer, inner = f()
    assert not outer.requires_grad and inner.requires_grad


def test_only_tensors_requiring_grad_get_nodes():
    a = ds.tensor([1.0])
    b = a * 2 + 1
    assert not b.requires_grad and b._ctx is None
    c = b * ds.tensor([1.0], requires_grad=True)
    assert c.requires_grad and c._ctx is not None


def test_detach_cuts_the_graph_and_shares_memory():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad
    y = x * d
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_chain_of_100000_ops():
    x = ds.tensor(1.0, dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1e-6 * y  # dy/dx multiplies by (1 + 1e-6) each step
    y.backward()
    assert x.grad == pytest.approx((1 + 1e-6) ** 100_000, rel=1e-9)


def test_retain_graph_allows_a_second_backward():
    x = ds.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [8.0]


def test_backward_twice_without_retain_graph_is_a_clear_error():
    x = ds.tensor([2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_non_scalar_backward_needs_grad():
    x = ds.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(1, 2\).*grad="):
        (x * 2).backward()
    (x * 2).backward(np.array([[1.0, 0.5]]))
    assert x.grad.tolist() == [[2.0, 1.0]]


def test_grad_of_wrong_shape():
    x = ds.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(ValueError, match=r"grad of shape \(2,\) for a tensor of shape \(1, 2\)"):
        (x * 2).backward(np.ones(2))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ds.tensor(1.0).backward()


def test_matmul_shape_mismatch_names_both_shapes():
    a = ds.tensor(np.ones((3, 4)))
    b = ds.tensor(np.ones((5, 6)))
    with pytest.raises(ValueError, match=r"MatMul.*\(3, 4\) @ \(5, 6\).*\(4\).*\(5\)"):
        a @ b


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"Add of shapes \(3, 4\), \(5,\)"):
        ds.tensor(np.ones((3, 4))) + ds.tensor(np.ones(5))


def test_requires_grad_on_integer_tensor():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        ds.tensor([1, 2, 3], requires_grad=True)


@pytest.mark.parametrize("fn", [ds.log, ds.exp, ds.sqrt, ds.sigmoid, ds.tanh])
def test_integer_input_to_transcendental_functions(fn):
    with pytest.raises(TypeError, match="floating-point"):
        fn(ds.tensor([1, 2]))


def test_unsupported_dtype():
    with pytest.raises(TypeError, match="cannot make a tensor"):
        ds.tensor(["a", "b"])


def test_item_needs_one_element():
    with pytest.raises(ValueError, match="one element"):
        ds.tensor([1.0, 2.0]).item()


def test_axis_out_of_range():
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        ds.tensor(np.ones((2, 3))).sum(axis=2)


def test_dtype_defaults():
    assert ds.tensor(1.0).dtype == np.float32
    assert ds.tensor([1, 2]).dtype == np.int64
    assert ds.tensor(np.ones(2)).dtype == np.float64
    assert ds.tensor(np.ones(2, dtype=np.float16)).dtype == np.float32
    assert ds.tensor([1.0], dtype=np.float64).dtype == np.float64


def test_tensor_copies_its_input():
    a = np.ones(3)
    t = ds.tensor(a)
    a[0] = 5
    assert t.data[0] == 1


def test_attributes():
    t = ds.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.numpy() is t.data
    assert "requires_grad=True" in repr(t)
    assert t.T.shape == (3, 2) and t.flatten().shape == (6,)
    assert ds.tensor([[3.0]]).item() == 3.0


def test_astype_is_differentiable():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    y = x.astype(np.float64)
    assert y.dtype == np.float64
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 4.0]


def test_gradcheck_catches_a_wrong_gradient():
    class WrongSquare(ds.Function):
        def forward(self, a):
            self.a = a
            return a * a

        def backward(self, grad):
            return (grad * self.a,)  # should be 2a

    x = ds.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    with pytest.raises(ds.GradcheckError, match=r"input 0 \(shape \(3,\)\).*index \(2,\)"):
        ds.gradcheck(lambda a: WrongSquare.apply(a), [x])


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="requires_grad"):
        ds.gradcheck(lambda a: a * 2, [ds.tensor([1.0])])


# ------------------------------------------------------------- retain_grad and hooks
def test_retain_grad_keeps_a_non_leaf_gradient_and_accumulates():
    x = ds.tensor([1.0, -2.0], dtype=np.float64, requires_grad=True)
    h = x * 3
    assert not h.retains_grad
    h.retain_grad()
    assert h.retains_grad and not x.retains_grad
    (h * h).sum().backward(retain_graph=True)
    assert h.grad.tolist() == [6.0, -12.0]  # d(h^2)/dh = 2h
    (h * h).sum().backward()
    assert h.grad.tolist() == [12.0, -24.0]  # accumulates like a leaf's
    assert x.grad.tolist() == [36.0, -72.0]
    other = x * 2
    (other * 1).sum().backward()
    assert other.grad is None  # not retained: only leaves keep .grad


def test_retain_grad_on_leaf_is_a_no_op_and_needs_requires_grad():
    x = ds.tensor([1.0], requires_grad=True)
    x.retain_grad()
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        ds.tensor([1.0]).retain_grad()
    with pytest.raises(RuntimeError, match="does not require grad"):
        ds.tensor([1.0]).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="callable"):
        x.register_hook(3)


def test_hook_on_non_leaf_replaces_the_gradient_flowing_on():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    h.retain_grad()
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))      # None: keeps the gradient
    handle = h.register_hook(lambda g: g * 10)           # replaces it
    h.sum().backward(retain_graph=True)
    assert seen[0].tolist() == [1.0, 1.0]
    assert h.grad.tolist() == [10.0, 10.0]               # retain_grad sees the hooks' result
    assert x.grad.tolist() == [20.0, 40.0]
    handle.remove()
    handle.remove()  # twice is harmless
    x.grad = None
    h.sum().backward()
    assert x.grad.tolist() == [2.0, 4.0]


def test_leaf_hook_sees_the_total_once_per_backward():
    x = ds.tensor([1.0, 1.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(g.copy()))
    (x * 2 + x * 3).sum().backward()  # two paths into x
    assert [c.tolist() for c in calls] == [[5.0, 5.0]]
    assert x.grad.tolist() == [5.0, 5.0]
    x.register_hook(lambda g: ds.tensor([1.0, 2.0]))  # a Tensor is accepted as replacement
    (x * 1).sum().backward()
    assert x.grad.tolist() == [6.0, 7.0]


def test_hook_on_the_output_itself():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.register_hook(lambda g: g * 0.5)
    y.backward()
    assert x.grad.tolist() == [1.0, 2.0]
    leaf = ds.tensor(3.0, requires_grad=True)
    leaf.register_hook(lambda g: g + 1)
    leaf.backward()
    assert leaf.grad == 2.0


def test_hook_returning_the_wrong_shape_is_a_clear_error():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2

    def bad(g):
        return np.ones(3)

    h.register_hook(bad)
    with pytest.raises(ValueError, match=r"hook 'bad' returned shape \(3,\) for a gradient of shape \(2,\)"):
        h.sum().backward()


def test_leaf_hooks_run_with_optimizer_gradient_buffers():
    # Linear may write a weight's gradient straight into an optimizer's buffer; a hooked
    # weight must still go through its hook.
    layer = ds.nn.Linear(3, 2)
    opt = ds.optim.SGD(layer.parameters(), lr=0.1)
    opt.zero_grad()
    layer.weight.register_hook(lambda g: np.zeros_like(g))
    layer(ds.tensor(np.ones((4, 3), dtype=np.float32))).sum().backward()
    assert np.all(layer.weight.grad == 0) and np.all(layer.bias.grad == 4)


def test_hooks_and_retain_grad_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    xs, ws = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))

    def run(lib, make, hook):
        x, w = make(xs), make(ws)
        h = (x @ w).tanh()
        h.retain_grad()
        h.register_hook(hook)
        w.register_hook(lambda g: g * 2)
        loss = (h * h).sum()
        loss.backward()
        return [np.asarray(t.grad) for t in (x, w, h)]

    mine = run(ds, lambda a: ds.tensor(a, requires_grad=True), lambda g: g * 3)
    theirs = run(torch, lambda a: torch.tensor(a, requires_grad=True), lambda g: g * 3)
    for m, t in zip(mine, theirs):
        np.testing.assert_allclose(m, t, rtol=1e-10)


def test_requires_grad_false_on_non_leaf_raises_and_detach_works():
    a = ds.tensor([1.0], requires_grad=True)
    z = a * 3
    with pytest.raises(RuntimeError, match="only leaves' flags can change"):
        z.requires_grad_(False)
    d = z.detach()
    assert d.is_leaf and not d.requires_grad
