"""One test per row of docs/conventions.md: where NumPy and PyTorch disagree, the side descend
takes, pinned. The rows' ids (``C1``, ``C2``, ...) are the ones in the document's table; the
edge cases of ops are compared with PyTorch (live when it imports, else with the committed
fixture tests/fixtures/edges_torch.npz made by tests/fixtures/make_op_fixtures.py)."""

from __future__ import annotations

import pathlib
import re
import threading
import time

import numpy as np
import pytest

import descend as ds
from descend import functional as F
from descend import nn, optim
from op_catalogue import DIFFERENCE_IDS, DIFFERENCES, EDGE_CASES, EDGE_IDS

try:
    from numpy.exceptions import AxisError
except ImportError:  # pragma: no cover (NumPy < 1.25)
    AxisError = np.AxisError

ROOT = pathlib.Path(__file__).resolve().parents[1]
EDGES = pathlib.Path(__file__).parent / "fixtures" / "edges_torch.npz"


def _run_edge(case, dtype=np.float64):
    tensors = [ds.tensor(a, dtype=dtype, requires_grad=True) for a in case.inputs]
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 = inf, as in torch
        out = case.descend(*tensors)
    out.backward(np.ones(out.shape, dtype=dtype))
    return out.data, [t.grad for t in tensors]


def _torch_edge(case):
    torch = pytest.importorskip("torch")
    tensors = [torch.tensor(a, requires_grad=True) for a in case.inputs]
    out = case.torch(torch, *tensors)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


# --------------------------------------------------------------- edges where descend = torch
@pytest.mark.parametrize("case", EDGE_CASES, ids=EDGE_IDS)
def test_edge_case_matches_pytorch_fixture(case):
    ref = np.load(EDGES)
    out, grads = _run_edge(case)
    np.testing.assert_allclose(out, ref[f"{case.name}/out"], rtol=1e-12, atol=1e-12)
    for i, g in enumerate(grads):
        np.testing.assert_allclose(g, ref[f"{case.name}/grad{i}"], rtol=1e-12, atol=1e-12, err_msg=f"grad {i}")


@pytest.mark.parametrize("case", EDGE_CASES, ids=EDGE_IDS)
def test_edge_case_matches_pytorch_live(case):
    expected_out, expected_grads = _torch_edge(case)
    out, grads = _run_edge(case)
    np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-12)
    for g, e in zip(grads, expected_grads):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", EDGE_CASES, ids=EDGE_IDS)
def test_edge_case_float32_agrees_with_float64(case):
    out64, grads64 = _run_edge(case)
    out32, grads32 = _run_edge(case, np.float32)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-6)
    for g32, g64 in zip(grads32, grads64):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-6)


# ------------------------------------------------ C13-C14: deliberate differences from torch
@pytest.mark.parametrize("case", DIFFERENCES, ids=DIFFERENCE_IDS)
def test_deliberate_difference_descend_side(case):
    _, grads = _run_edge(case)
    for g, e in zip(grads, case.expected):
        np.testing.assert_array_equal(g, e)
        assert np.isclose(g.sum(), e.sum())


@pytest.mark.parametrize("case", DIFFERENCES, ids=DIFFERENCE_IDS)
def test_deliberate_difference_is_real(case):
    ref = np.load(EDGES)
    torch_grads = [ref[f"{case.name}/grad{i}"] for i in range(len(case.inputs))]
    assert any(not np.array_equal(t, e) for t, e in zip(torch_grads, case.expected))


@pytest.mark.parametrize("case", DIFFERENCES, ids=DIFFERENCE_IDS)
def test_deliberate_difference_fixture_is_current(case):
    _, grads = _torch_edge(case)
    ref = np.load(EDGES)
    for i, g in enumerate(grads):
        np.testing.assert_array_equal(g, ref[f"{case.name}/grad{i}"])


def test_fixture_covers_edge_catalogue():
    ref = np.load(EDGES)
    assert {k.split("/")[0] for k in ref.files if "/" in k} == set(EDGE_IDS + DIFFERENCE_IDS)


# ------------------------------------------------------------------------ table rows
def test_c1_axis_not_dim():
    x = ds.tensor(np.ones((2, 3)))
    assert x.sum(axis=0).shape == (3,)
    for call in (lambda: x.sum(dim=0), lambda: ds.mean(x, 0, keepdim=True), lambda: x.softmax(dim=1),
                 lambda: ds.concatenate([x, x], dim=0)):
        with pytest.raises(TypeError, match=r"(dim|keepdim)=.*NumPy's names.*(axis|keepdims)="):
            call()


def test_c2_squeeze_of_an_axis_not_of_size_one_raises():
    x = ds.tensor(np.ones((2, 1, 3)))
    assert x.squeeze(1).shape == (2, 3) and x.squeeze().shape == (2, 3)
    with pytest.raises(ValueError, match="cannot squeeze axis 0 of size 2.*PyTorch would leave"):
        x.squeeze(0)


def test_c3_advanced_indexing_mixed_with_slices_follows_numpy():
    data = np.arange(2 * 3 * 11 * 5 * 4, dtype=np.float64).reshape(2, 3, 11, 5, 4)
    d = np.array([0, 3])
    x = ds.tensor(data, requires_grad=True)
    y = x[1, :, 10:11, d, 0:2]
    assert y.shape == data[1, :, 10:11, d, 0:2].shape == (2, 3, 1, 2)  # torch: (3, 1, 2, 2)
    np.testing.assert_array_equal(y.data, data[1, :, 10:11, d, 0:2])
    y.backward(np.ones(y.shape))
    expected = np.zeros_like(data)
    expected[1, :, 10:11, d, 0:2] = 1
    np.testing.assert_array_equal(x.grad, expected)


def test_c3_pytorch_really_orders_differently():
    torch = pytest.importorskip("torch")
    assert tuple(torch.zeros(2, 3, 11, 5, 4)[1, :, 10:11, torch.tensor([0, 3]), 0:2].shape) == (3, 1, 2, 2)


def test_c4_parameter_listed_twice_in_an_optimizer_raises():
    p = nn.Parameter(np.ones(2))
    with pytest.raises(ValueError, match="appears more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="appears more than once"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_c4_pytorch_updates_a_parameter_listed_twice_in_one_group_twice():
    torch = pytest.importorskip("torch")
    p = torch.nn.Parameter(torch.ones(2))
    p.grad = torch.ones(2)
    with pytest.warns(UserWarning, match="duplicate parameters"):
        opt = torch.optim.SGD([p, p], lr=0.1)
    opt.step()
    assert torch.allclose(p.data, torch.full((2,), 0.8))


def test_c5_state_dict_returns_copies():
    layer = nn.Linear(2, 2)
    sd = layer.state_dict()
    sd["weight"][...] = 7.0
    assert not np.any(layer.weight.data == 7.0)
    layer.weight.data[...] = 3.0
    assert np.all(sd["weight"] == 7.0)


def test_c6_shared_parameters_load_from_the_edited_copy():
    net = nn.Module()
    net.a = net.b = nn.Linear(2, 2)
    sd = net.state_dict()
    assert list(sd) == ["a.weight", "a.bias", "b.weight", "b.bias"]
    sd["a.weight"] = np.full((2, 2), 5.0)
    net.load_state_dict(sd)
    assert np.all(net.a.weight.data == 5.0) and net.b.weight is net.a.weight
    sd = net.state_dict()
    sd["b.bias"] = np.array([1.0, 2.0])  # the other name works too
    net.load_state_dict(sd)
    assert net.a.bias.data.tolist() == [1.0, 2.0]


def test_c6_conflicting_edits_of_a_shared_parameter_raise_and_load_nothing():
    net = nn.Module()
    net.a = net.b = nn.Linear(2, 2)
    before = net.a.weight.data.copy()
    sd = net.state_dict()
    sd["a.weight"] = np.full((2, 2), 5.0)
    sd["b.weight"] = np.full((2, 2), 6.0)
    with pytest.raises(ValueError, match="'a.weight' and 'b.weight' name the same shared parameter"):
        net.load_state_dict(sd)
    np.testing.assert_array_equal(net.a.weight.data, before)


@pytest.mark.parametrize("make", [
    lambda x: (x + 1).sum(),           # Add saves nothing, yet a second backward raises
    lambda x: (x * x).sum(),
    lambda x: x.reshape(-1).sum(),
    lambda x: x.sum(),
])
def test_c7_second_backward_without_retain_graph_raises_for_every_op(make):
    x = ds.tensor(np.ones((2, 2)), requires_grad=True)
    y = make(x)
    y.backward()
    with pytest.raises(RuntimeError, match="a second time.*retain_graph=True"):
        y.backward()


def test_c7_pytorch_allows_a_second_backward_through_additions():
    torch = pytest.importorskip("torch")
    x = torch.ones(2, requires_grad=True)
    y = (x + 1).sum()
    y.backward()
    y.backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_c8_type_promotion_follows_numpy():
    f32 = ds.tensor([1.0, 2.0])
    i64 = ds.tensor([1, 2])
    assert f32.dtype == np.float32 and i64.dtype == np.int64
    assert (f32 * 2.5).dtype == np.float32                      # Python numbers are weak (both)
    assert (f32 + np.ones(2)).dtype == np.float64                # NumPy arrays keep their dtype
    assert (f32 + ds.tensor(np.ones(2))).dtype == np.float64     # torch: float64 too
    assert (i64 * 2.5).dtype == np.float64                       # torch: float32 (its default)
    assert (i64 / i64).dtype == np.float64                       # torch: float32
    assert ds.tensor(np.ones(2, dtype=np.float16)).dtype == np.float32


def test_c9_exception_types():
    x = ds.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError):                               # torch: RuntimeError
        x + ds.tensor(np.ones(4))
    with pytest.raises(ValueError):
        x @ ds.tensor(np.ones((2, 3)))
    with pytest.raises(TypeError):
        ds.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError):
        ds.tensor(1.0).backward()
    with pytest.raises(IndexError):
        x[5]


@pytest.mark.parametrize("call", [
    lambda x: x.sum(axis=2), lambda x: x.mean(axis=-3), lambda x: x.max(axis=(0, 5)),
    lambda x: x.softmax(axis=2), lambda x: x.log_softmax(axis=-3), lambda x: x.logsumexp(axis=9),
    lambda x: x.squeeze(axis=4), lambda x: x.expand_dims(4), lambda x: x.swapaxes(0, 2),
    lambda x: ds.concatenate([x, x], axis=2), lambda x: ds.stack([x, x], axis=4),
    lambda x: ds.tensor(2.0).sum(axis=1),
])
def test_c10_axis_errors_are_numpy_axis_errors(call):
    x = ds.tensor(np.ones((2, 3)))
    with pytest.raises(AxisError) as info:
        call(x)
    assert isinstance(info.value, ValueError) and isinstance(info.value, IndexError)
    assert re.search(r"axis -?\d+ is out of (range|bounds)", str(info.value))


def test_c11_zero_dimensional_tensors_accept_axis_0_and_minus_1():
    s = ds.tensor(2.0, requires_grad=True)
    for axis in (0, -1, (0,), (-1,)):
        assert s.sum(axis=axis).shape == () and s.sum(axis=axis, keepdims=True).shape == ()
    assert ds.softmax(s, axis=0).item() == 1.0 and ds.log_softmax(s, axis=-1).item() == 0.0
    assert s.squeeze(0).shape == () and s.max(axis=-1).item() == 2.0 and s.logsumexp(axis=0).item() == 2.0
    (s.mean(axis=0) + s.min(axis=-1)).backward()
    assert s.grad == 2.0
    with pytest.raises(AxisError):
        s.sum(axis=1)
    with pytest.raises(ValueError, match="repeats"):
        s.sum(axis=(0, -1))


@pytest.mark.parametrize("reduce", ["mean", "max", "min"])
def test_c12_reductions_of_nothing_raise_clearly(reduce, recwarn):
    for x, axis in ((np.zeros(0), None), (np.zeros((0, 3)), 0), (np.zeros((2, 0)), (0, 1))):
        with pytest.raises(ValueError, match=f"{reduce} over .*undefined"):
            getattr(ds.tensor(x), reduce)(axis=axis)
    # Reducing a non-empty axis of an empty tensor is fine: nothing is undefined.
    assert getattr(ds.tensor(np.zeros((0, 3))), reduce)(axis=1).shape == (0,)
    assert getattr(ds, reduce)(ds.tensor(np.zeros((3, 0))), axis=0).shape == (0,)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("loss", [
    lambda z: F.mse_loss(z, np.zeros(0)),
    lambda z: F.binary_cross_entropy_with_logits(z, np.zeros(0)),
    lambda z: F.binary_cross_entropy(z, np.zeros(0)),
    lambda z: F.gaussian_nll_loss(z, np.zeros(0), np.ones(0)),
    lambda z: F.kl_div(z, np.zeros(0), reduction="batchmean"),
])
def test_c12_mean_losses_of_an_empty_batch_raise_clearly(loss, recwarn):
    with pytest.raises(ValueError, match="mean loss of an empty batch is undefined"):
        loss(ds.tensor(np.zeros(0)))
    assert F.mse_loss(ds.tensor(np.zeros(0)), np.zeros(0), reduction="sum").item() == 0.0
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_c12_sums_of_nothing_are_defined(recwarn):
    assert ds.tensor(np.zeros(0)).sum().item() == 0.0
    assert ds.tensor(np.zeros(0)).logsumexp().item() == -np.inf
    assert ds.tensor(np.zeros((0, 4))).softmax(axis=0).shape == (0, 4)
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_c13_pow_edges_follow_pytorch_limits():
    # Pinned by the EDGE_CASES pow_* rows above; spelled out here for the table.
    x = ds.tensor([0.0, 1.0], dtype=np.float64, requires_grad=True)
    (x ** 0).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
    a = ds.tensor([0.0], dtype=np.float64, requires_grad=True)
    b = ds.tensor([0.0], dtype=np.float64, requires_grad=True)
    (a ** b).sum().backward()
    assert a.grad.tolist() == [0.0] and b.grad.tolist() == [0.0]


def test_c14_nan_routes_the_gradient_to_the_nan():
    x = ds.tensor([1.0, np.nan, 3.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    x = ds.tensor([np.nan, 1.0, np.nan], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.5, 0.0, 0.5]  # split evenly, like ties


def test_c15_ties_split_the_gradient_evenly():
    x = ds.tensor([3.0, 1.0, 3.0], requires_grad=True)
    x.max().backward()
    assert x.grad.tolist() == [0.5, 0.0, 0.5]


def test_c16_grad_mode_is_per_thread():
    stop = threading.Event()
    inside = threading.Event()
    seen = []

    def hold_no_grad():
        with ds.no_grad():
            inside.set()
            seen.append(ds.is_grad_enabled())
            while not stop.is_set():
                time.sleep(0.001)

    thread = threading.Thread(target=hold_no_grad)
    thread.start()
    try:
        inside.wait(5)
        x = ds.tensor([1.0], requires_grad=True)
        results = [(x * 2).sum().requires_grad for _ in range(200)]
    finally:
        stop.set()
        thread.join()
    assert seen == [False] and all(results) and ds.is_grad_enabled()


def test_c16_two_threads_with_opposite_modes():
    barrier = threading.Barrier(2)
    results: dict[str, list[bool]] = {}

    def worker(name, context):
        x = ds.tensor([1.0], requires_grad=True)
        with context():
            barrier.wait(5)
            out = []
            for _ in range(100):
                out.append((x * 2).requires_grad)
                time.sleep(0)
            barrier.wait(5)
        results[name] = out

    threads = [threading.Thread(target=worker, args=("off", ds.no_grad)),
               threading.Thread(target=worker, args=("on", ds.enable_grad))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["off"] == [False] * 100 and results["on"] == [True] * 100


def test_c16_a_new_thread_starts_with_grad_enabled():
    seen = []
    with ds.no_grad():
        thread = threading.Thread(target=lambda: seen.append(ds.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


@pytest.mark.parametrize("context, inside", [(ds.no_grad, False), (ds.enable_grad, True),
                                             (lambda: ds.set_grad_enabled(False), False)])
def test_c17_decorated_generators_hold_the_mode_only_while_running(context, inside):
    @context()
    def gen():
        received = yield ds.is_grad_enabled()
        yield (received, ds.is_grad_enabled())
        return "done"

    outside = not inside
    with ds.set_grad_enabled(outside):
        g = gen()
        assert ds.is_grad_enabled() is outside  # creating it changes nothing
        assert next(g) is inside
        assert ds.is_grad_enabled() is outside  # between items: the caller's mode
        assert g.send("hi") == ("hi", inside)
        with pytest.raises(StopIteration) as stop:
            next(g)
        assert stop.value.value == "done"
        assert ds.is_grad_enabled() is outside


def test_c17_decorated_generator_sees_the_mode_on_throw_and_close():
    seen = []

    @ds.no_grad()
    def gen():
        try:
            yield 1
        except KeyError:
            seen.append(("throw", ds.is_grad_enabled()))
            yield 2
        finally:
            seen.append(("finally", ds.is_grad_enabled()))

    g = gen()
    next(g)
    assert g.throw(KeyError()) == 2
    g.close()
    assert seen == [("throw", False), ("finally", False)] and ds.is_grad_enabled()


def test_c17_set_grad_enabled_as_a_function_and_context():
    try:
        ds.set_grad_enabled(False)
        assert not ds.is_grad_enabled()
    finally:
        ds.set_grad_enabled(True)
    with ds.set_grad_enabled(False):
        assert not ds.is_grad_enabled()
    assert ds.is_grad_enabled()
    with pytest.raises(TypeError, match="bool"):
        ds.set_grad_enabled("no")


def test_c18_requires_grad_false_on_a_non_leaf_raises():
    a = ds.tensor([1.0, 2.0], requires_grad=True)
    z = a * 3
    with pytest.raises(RuntimeError, match="non-leaf.*Mul.*detach"):
        z.requires_grad_(False)
    assert z.requires_grad
    z.requires_grad_(True)  # already true: allowed, as in PyTorch
    d = z.detach().requires_grad_(False)
    assert not d.requires_grad and d.is_leaf


def test_c19_hooks_see_read_only_arrays_and_may_replace_the_gradient():
    x = ds.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.register_hook(lambda g: g * 10)

    def edit_in_place(g):
        g[...] = 0

    handle = x.register_hook(edit_in_place)
    with pytest.raises(ValueError, match="read-only"):
        h.sum().backward()
    handle.remove()
    x.grad = None
    h = x * 2
    h.register_hook(lambda g: g * 10)
    h.sum().backward()
    assert x.grad.tolist() == [20.0, 20.0]


def test_c20_grad_is_an_ndarray():
    x = ds.tensor([1.0], requires_grad=True)
    (x * 2).sum().backward()
    assert type(x.grad) is np.ndarray


@pytest.mark.parametrize("loss", [F.binary_cross_entropy_with_logits, F.binary_cross_entropy])
@pytest.mark.parametrize("bad", [2.0, -0.5])
def test_c21_binary_targets_must_be_probabilities(loss, bad):
    p = ds.tensor([0.3, 0.6])
    with pytest.raises(ValueError, match=r"target must be probabilities in \[0, 1\].*ranges over"):
        loss(p, ds.tensor([0.0, bad]))
    loss(p, ds.tensor([0.0, 1.0]))
    loss(p, ds.tensor([0.25, 0.75]))  # soft labels are fine
    with pytest.raises(ValueError, match="target contains NaN"):
        loss(p, ds.tensor([0.0, np.nan]))


def test_c21_pytorch_accepts_such_a_target_with_logits():
    torch = pytest.importorskip("torch")
    loss = torch.nn.functional.binary_cross_entropy_with_logits(torch.zeros(2), torch.tensor([0.0, 2.0]))
    assert torch.isfinite(loss)


def test_every_row_of_the_table_has_a_test():
    doc = (ROOT / "docs" / "conventions.md").read_text()
    rows = re.findall(r"^\| (C\d+) \|", doc, flags=re.M)
    assert rows == [f"C{i}" for i in range(1, len(rows) + 1)], rows
    names = [name for name in globals() if name.startswith("test_c")]
    for row in rows:
        assert any(name.startswith(f"test_{row.lower()}_") for name in names), f"no test for {row}"


def test_c16_one_context_object_shared_by_threads_restores_each_threads_mode():
    shared = ds.no_grad()
    barrier = threading.Barrier(2)
    after = {}

    def worker(name, start_mode):
        ds.set_grad_enabled(start_mode)
        with shared:
            barrier.wait(5)  # both inside the same object at once
            barrier.wait(5)
        after[name] = ds.is_grad_enabled()

    threads = [threading.Thread(target=worker, args=("a", True)),
               threading.Thread(target=worker, args=("b", False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert after == {"a": True, "b": False}


def test_c17_a_generator_may_yield_inside_a_nested_context():
    @ds.no_grad()
    def gen():
        with ds.enable_grad():
            yield ds.is_grad_enabled()
        yield ds.is_grad_enabled()

    g = gen()
    assert next(g) is True and ds.is_grad_enabled()
    with ds.no_grad():
        assert next(g) is False
        assert not ds.is_grad_enabled()
    assert ds.is_grad_enabled()
    assert list(g) == [] and ds.is_grad_enabled()
