"""The compiled kernels (descend/kernels/_fused.c) against their NumPy reference, bit for bit.

Every optimizer and option (both variants, AMSGrad, weight decay coupled and decoupled,
momentum, Nesterov, dampening, centered, lr_decay, lr schedules, skipped parameters),
float32 and float64, on random problems; then the network kernels and a short training run.
When the C extension is not built (or DESCEND_KERNELS=numpy), the comparisons are skipped
and only the NumPy path's own tests run; CI runs this file on both paths.
"""

from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import descend as ds
from descend import kernels, optim

needs_c = pytest.mark.skipif(kernels.fused() is None, reason="the C kernels are not active "
                             f"({kernels.describe()})")


def _cases():
    """(optimizer class name, kwargs) covering every branch of every kernel."""
    cases = []
    for variant, amsgrad, wd in itertools.product(("pytorch", "lecture"), (False, True), (0.0, 0.05)):
        cases.append(("Adam", dict(lr=1e-2, amsgrad=amsgrad, weight_decay=wd, variant=variant)))
        cases.append(("AdamW", dict(lr=1e-2, amsgrad=amsgrad, weight_decay=wd, variant=variant)))
    cases.append(("Adam", dict(lr=3e-3, betas=(0.3, 0.6), eps=1e-3)))  # lerp with |w| >= 0.5
    cases.append(("Adam", dict(lr=lambda t: 0.01 / (1 + t), variant="lecture")))
    for variant, wd in itertools.product(("pytorch", "lecture"), (0.0, 0.1)):
        cases.append(("SGD", dict(lr=0.05, weight_decay=wd, variant=variant)))
        cases.append(("SGD", dict(lr=0.05, momentum=0.9, weight_decay=wd, variant=variant)))
        cases.append(("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=wd, variant=variant)))
        cases.append(("Adagrad", dict(lr=0.1, weight_decay=wd, lr_decay=0.01, variant=variant,
                                      initial_accumulator_value=0.1)))
        for centered, mu in itertools.product((False, True), (0.0, 0.8)):
            cases.append(("RMSprop", dict(lr=0.01, weight_decay=wd, centered=centered,
                                          momentum=mu, variant=variant)))
    cases.append(("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3)))
    cases.append(("SGD", dict(lr=lambda t: 0.05 * 0.9**t, momentum=0.9, nesterov=True, variant="lecture")))
    cases.append(("RMSprop", dict(lr=0.01, alpha=0.3, centered=True)))  # lerp with |w| >= 0.5
    return cases


CASES = _cases()


def _trajectory(name, kwargs, dtype, seed, backend, steps=25, skip_some=False):
    """Parameters and state after ``steps`` updates on random gradients, on one backend."""
    rng = np.random.default_rng(seed)
    shapes = [(7, 5), (5,), (33,), (3, 4, 2)]
    params = [ds.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) * 10.0 ** rng.integers(-3, 2) for s in shapes]
             for _ in range(steps)]
    kwargs = dict(kwargs)
    variant = kwargs.pop("variant", "pytorch")
    with kernels.using(backend):
        opt = getattr(optim, name)(params, variant=variant, **kwargs)
        for k in range(steps):
            opt.zero_grad(set_to_none=True)
            for i, (p, g) in enumerate(zip(params, grads[k])):
                if skip_some and (k + i) % 3 == 0:
                    continue  # no gradient: skipped this step (the update splits into runs)
                p.grad = g.copy()
            opt.step()
    state = opt.state_dict()["state"]
    return [p.data.copy() for p in params], state


def _assert_identical(a, b, what):
    (pa, sa), (pb, sb) = a, b
    for i, (x, y) in enumerate(zip(pa, pb)):
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), f"{what}: parameter {i} differs"
    for ga, gb in zip(sa, sb):
        assert ga.keys() == gb.keys(), what
        for key in ga:
            assert ga[key].tobytes() == gb[key].tobytes(), f"{what}: state {key} differs"


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_fused_optimizer_is_bit_identical_to_the_composed_transforms(case, dtype):
    name, kwargs = CASES[case]
    for seed in range(3):
        skip = seed == 2
        c = _trajectory(name, kwargs, dtype, seed, "c", skip_some=skip)
        ref = _trajectory(name, kwargs, dtype, seed, "numpy", skip_some=skip)
        _assert_identical(c, ref, f"{name} {kwargs} {np.dtype(dtype)} seed {seed}")
        assert all(np.isfinite(p).all() for p in c[0])


@needs_c
def test_fused_optimizer_handles_nan_and_inf_like_numpy():
    for name, kwargs in [("Adam", dict(amsgrad=True)), ("RMSprop", dict(centered=True)),
                         ("SGD", dict(lr=0.1, momentum=0.9)), ("Adagrad", {})]:
        runs = []
        for backend in ("c", "numpy"):
            p = ds.tensor(np.array([1.0, -2.0, 3.0, 0.0], np.float32), requires_grad=True)
            with kernels.using(backend):
                opt = getattr(optim, name)([p], **kwargs)
                for g in ([np.nan, 1.0, -0.0, np.inf], [1.0, np.inf, 2.0, -np.inf]):
                    p.grad = np.array(g, np.float32)
                    with np.errstate(all="ignore"):
                        opt.step()
            runs.append(p.data.tobytes())
        assert runs[0] == runs[1], name


def test_backend_reports_the_active_path():
    assert kernels.backend() in ("c", "numpy")
    assert kernels.describe().startswith(f"kernels: {kernels.backend()}")
    with kernels.using("numpy"):
        assert kernels.backend() == "numpy" and kernels.fused() is None
    with pytest.raises(ValueError, match="unknown kernel backend"):
        kernels.use("fortran")
    if not kernels.available():
        with pytest.raises(RuntimeError, match="not built"):
            kernels.use("c")


def test_environment_variable_forces_the_numpy_path():
    code = "import descend.kernels as k; print(k.backend())"
    env = dict(os.environ, DESCEND_KERNELS="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "numpy"
    env["DESCEND_KERNELS"] = "gpu"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "DESCEND_KERNELS='gpu'" in bad.stderr


def test_composed_transforms_are_the_equations():
    # The readable chain on a tiny case, against the equations written out in NumPy (float64).
    g = np.array([0.5, -1.0, 2.0])
    theta = np.array([1.0, 2.0, -3.0])
    p = ds.tensor(theta.copy(), requires_grad=True)
    with kernels.using("numpy"):
        opt = optim.Adam([p], lr=0.1, weight_decay=0.01)
        p.grad = g.copy()
        opt.step()
    d = g + 0.01 * theta
    s, r = 0.1 * d, 0.001 * d * d
    expected = theta - 0.1 / 0.1 * s / (np.sqrt(r) / math.sqrt(0.001) + 1e-8)
    np.testing.assert_allclose(p.data, expected, rtol=1e-14)


# -------------------------------------------------------------------- network kernels
def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical, except that any NaN equals any NaN (the sign and payload of a NaN
    produced from two NaN operands depend on the operand order the hardware picks)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    if not np.array_equal(nan_a, nan_b):
        return False
    return a[~nan_a].tobytes() == b[~nan_b].tobytes()


def _specials(rng, shape, dtype):
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape(-1)
    k = max(1, flat.size // 10)
    idx = rng.choice(flat.size, size=min(4 * k, flat.size), replace=False)
    flat[idx[:k]] = -0.0
    flat[idx[k:2 * k]] = 0.0
    flat[idx[2 * k:3 * k]] = np.nan
    flat[idx[3 * k:]] = np.inf * rng.choice([-1, 1], size=len(idx[3 * k:]))
    return a


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_network_kernels_are_bit_identical_to_the_reference(dtype, activation):
    from descend.kernels.elementwise import activation_backward, bias_activation_

    rng = np.random.default_rng(7)
    for shape in [(1, 1), (3, 5), (50, 128), (64, 100), (7, 33), (2, 3, 17)]:
        for specials in (False, True):
            make = (lambda s: _specials(rng, s, dtype)) if specials else (
                lambda s: rng.standard_normal(s).astype(dtype))
            h, bias, grad = make(shape), make(shape[-1:]), make(shape)
            outs = []
            for backend in ("c", "numpy"):
                with kernels.using(backend), np.errstate(all="ignore"):
                    y = bias_activation_(h.copy(), bias, activation)
                    gb = np.empty(shape[-1], dtype)
                    gz = activation_backward(grad, y, activation, gb)
                    gz2 = activation_backward(grad, y, activation)
                outs.append((y, gz, gb, gz2))
            for a, b in zip(*outs):
                assert _same_bits(a, b), (shape, specials)


def test_fused_linear_activation_matches_the_separate_ops():
    # Sequential fuses Linear + ReLU/Tanh into one op: the same function and gradients as
    # the unfused ops (the bias gradient may round differently: a sum in another order).
    from descend.functional import cross_entropy

    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 6))
    y = rng.integers(0, 4, 20)
    for act in (ds.nn.ReLU, ds.nn.Tanh):
        model = ds.nn.Sequential(ds.nn.Linear(6, 8, rng=rng, dtype=np.float64), act(),
                                 ds.nn.Linear(8, 4, rng=rng, dtype=np.float64))
        cross_entropy(model(x), y).backward()
        fused = [p.grad.copy() for p in model.parameters()]
        for p in model.parameters():
            p.grad = None
        h = model[1](model[0](x))  # layer by layer: separate Linear and activation ops
        cross_entropy(model[2](h), y).backward()
        for a, b in zip(fused, (p.grad for p in model.parameters())):
            np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def _train_epoch_slice(workload, backend, steps=40):
    """A few steps of a benchmark workload (W1-W4 networks and optimizers) on one backend."""
    sizes, act, batch, opt_name, hp = workload
    rng = np.random.default_rng(0)
    x = rng.random((steps * batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], steps * batch)
    with kernels.using(backend):
        ds.manual_seed(0)
        layers = []
        for i in range(len(sizes) - 1):
            layers.append(ds.nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(act())
        model = ds.nn.Sequential(*layers)
        opt = getattr(optim, opt_name)(model.parameters(), **hp)
        from descend.functional import cross_entropy

        for s in range(steps):
            opt.zero_grad(set_to_none=True)
            cross_entropy(model(x[s * batch:(s + 1) * batch]), y[s * batch:(s + 1) * batch]).backward()
            opt.step()
    return [p.data.tobytes() for p in model.parameters()]


WORKLOADS = {  # the benchmark's W1-W4 (benchmarks/common.py), smaller where it costs time
    "W1": ([784, 128, 10], ds.nn.ReLU, 50, "Adam", dict(lr=1e-3)),
    "W2": ([784, 128, 10], ds.nn.ReLU, 50, "SGD", dict(lr=0.1)),
    "W3": ([784, 512, 512, 10], ds.nn.ReLU, 256, "Adam", dict(lr=1e-3)),
    "W4": ([784, 100, 10], ds.nn.Tanh, 64, "SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
}


@needs_c
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_training_steps_of_the_benchmark_workloads_are_bit_identical(name):
    steps = 8 if name == "W3" else 40
    assert _train_epoch_slice(WORKLOADS[name], "c", steps) == _train_epoch_slice(WORKLOADS[name], "numpy", steps)


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_softmax_cross_entropy_kernels_are_bit_identical(dtype, reduction):
    from descend.functional import cross_entropy

    rng = np.random.default_rng(11)
    for n, classes in [(1, 1), (1, 3), (50, 10), (64, 10), (7, 32), (5, 33)]:
        for specials in (False, True):
            z = (_specials(rng, (n, classes), dtype) if specials
                 else (rng.standard_normal((n, classes)) * 5).astype(dtype))
            y = rng.integers(0, classes, n)
            outs = []
            for backend in ("c", "numpy"):
                with kernels.using(backend), np.errstate(all="ignore"):
                    logits = ds.tensor(z, requires_grad=True)
                    loss = cross_entropy(logits, y, reduction=reduction)
                    loss.backward(np.ones_like(loss.data))
                outs.append((loss.data, logits.grad))
            for a, b in zip(*outs):
                assert _same_bits(np.asarray(a), np.asarray(b)), (n, classes, specials)


@needs_c
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_gradient_kernel_divides_like_numpy(dtype):
    # The kernel computes coef = up / s itself: any upstream factor, not only 1 / N.
    from descend.kernels.elementwise import softmax_xent_grad, softmax_xent_shift

    rng = np.random.default_rng(12)
    for n, classes in [(1, 2), (50, 10), (13, 32)]:
        z = (rng.standard_normal((n, classes)) * 4).astype(dtype)
        y = rng.integers(0, classes, n)
        for up in (dtype(1) / dtype(n), dtype(0.37), dtype(-3e-5), dtype(np.inf)):
            outs = []
            for backend in ("c", "numpy"):
                with kernels.using(backend), np.errstate(all="ignore"):
                    e, _ = softmax_xent_shift(z, y)
                    np.exp(e, out=e)
                    s = np.add.reduce(e, axis=0)
                    outs.append(softmax_xent_grad(e, s, y, np.asarray(up)))
            assert _same_bits(*outs), (n, classes, up)


@pytest.mark.parametrize("backend", ["c", "numpy"])
def test_label_range_check_agrees_with_the_definition(backend):
    from descend.kernels.elementwise import labels_in_range

    if backend == "c" and not kernels.available():
        pytest.skip("the C extension is not built")
    rng = np.random.default_rng(13)
    cases = [np.zeros(0, np.int64), np.array([0, 9]), np.array([10]), np.array([-1]),
             np.array([np.iinfo(np.int64).min]), np.array([3], np.int32), np.array([-2], np.int32),
             np.array([7, 250], np.uint8), np.arange(20)[::2]]  # strided: the NumPy path
    for _ in range(200):
        n = int(rng.integers(1, 60))
        cases.append(rng.integers(-2, 12, n) if rng.random() < 0.5 else rng.integers(0, 10, n))
    with kernels.using(backend):
        for labels in cases:
            expected = bool(np.all((labels >= 0) & (labels < 10)))
            assert labels_in_range(labels, 10) is expected, labels


def _subnormal_trajectory(backend, dtype):
    """Adam on gradients that are partly subnormal or zero, so the moments become subnormal."""
    tiny = np.finfo(dtype).tiny
    rng = np.random.default_rng(14)
    p = ds.tensor(rng.standard_normal(64).astype(dtype), requires_grad=True)
    with kernels.using(backend), np.errstate(all="ignore"):
        opt = optim.Adam([p], lr=1e-2, betas=(0.5, 0.6), eps=1e-30)
        for k in range(30):
            g = rng.standard_normal(64).astype(dtype) * tiny * dtype(0.25)  # subnormal
            g[::4] = rng.standard_normal(16) if k < 3 else 0.0  # normal, then zero: decays
            p.grad = g
            opt.step()
    return [p.data.tobytes()] + [a.tobytes() for a in opt.state_dict()["state"][0].values()]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flush_denormal_is_opt_in_and_keeps_both_paths_identical(dtype):
    if not kernels.available():
        pytest.skip("the C extension is not built: set_flush_denormal is not supported")
    subnormal = np.array([np.finfo(dtype).tiny / 4], dtype)
    assert kernels.flush_denormal() is False  # the default: exact IEEE arithmetic
    assert (subnormal * dtype(1))[0] != 0
    exact = _subnormal_trajectory("c", dtype)
    assert exact == _subnormal_trajectory("numpy", dtype)
    try:
        if not kernels.set_flush_denormal(True):
            pytest.skip("flushing subnormals is not supported on this CPU")
        assert kernels.flush_denormal() is True
        assert (subnormal * dtype(1))[0] == 0  # NumPy's own arithmetic in this thread too
        flushed = _subnormal_trajectory("c", dtype)
        assert flushed == _subnormal_trajectory("numpy", dtype)
        assert flushed != exact  # the mode took effect in the kernels
    finally:
        kernels.set_flush_denormal(False)
    assert kernels.flush_denormal() is False
    assert (subnormal * dtype(1))[0] != 0
    with pytest.raises(TypeError, match="True or False"):
        kernels.set_flush_denormal(1)


def test_descend_version_names_the_kernel_path():
    env = dict(os.environ, DESCEND_KERNELS="numpy")
    out = subprocess.run([sys.executable, "-m", "descend", "--version"], env=env,
                         capture_output=True, text=True, check=True)
    assert "kernels: numpy (DESCEND_KERNELS=numpy" in out.stdout


def test_without_the_extension_descend_falls_back_to_numpy():
    # As after an install without a C compiler: the extension cannot be imported.
    code = """
import importlib.machinery, sys
class NoExtension(importlib.machinery.PathFinder):
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name == "descend.kernels._fused":
            return None
        return importlib.machinery.PathFinder.find_spec(name, path, target)
sys.meta_path[:] = [NoExtension if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
import numpy as np, descend as ds, descend.kernels as k
from descend.functional import cross_entropy
assert k.backend() == "numpy" and not k.available(), k.describe()
print(k.describe())
model = ds.nn.Sequential(ds.nn.Linear(4, 8), ds.nn.ReLU(), ds.nn.Linear(8, 3))
opt = ds.optim.Adam(model.parameters(), lr=0.1)
x, y = np.random.default_rng(0).random((16, 4), dtype=np.float32), np.arange(16) % 3
for _ in range(5):
    opt.zero_grad()
    cross_entropy(model(x), y).backward()
    opt.step()
try:
    k.use("c")
except RuntimeError as e:
    print("refused:", e)
"""
    env = {k: v for k, v in os.environ.items() if k != "DESCEND_KERNELS"}  # auto: fall back
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert "kernels: numpy (C extension not built: no compiled _fused module; there was no C compiler" in out.stdout
    assert "refused: descend's C extension is not built" in out.stdout


def test_descend_version_names_numpys_blas_and_its_pinned_kernels():
    env = dict(os.environ, OPENBLAS_CORETYPE="Haswell")
    out = subprocess.run([sys.executable, "-m", "descend", "--version"], env=env,
                         capture_output=True, text=True, check=True)
    assert "; BLAS: " in out.stdout
    pytest.importorskip("threadpoolctl")
    if "openblas" in out.stdout:
        assert "Haswell" in out.stdout and "kernels pinned by OPENBLAS_CORETYPE=Haswell" in out.stdout
