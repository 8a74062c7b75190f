"""Losses: agreement with PyTorch (committed fixture, and live when torch is importable),
float64 gradchecks, stability at extreme logits, fused ops, and input validation."""

from __future__ import annotations


import numpy as np
import pytest

import descend as ds
from descend import functional as F
from descend import losses

from fixtures import make_nn_loss_fixtures as fixtures  # the script that made the fixture

TOL = {"float64": 1e-10, "float32": 1e-5}
CASES, STORED = fixtures.load()
LOSS_CASES = [case for case in CASES if case["kind"] == "loss"]


def assert_matches_reference(case, dtype, out, grads, expected_out, expected_grads):
    tol = TOL[dtype]
    assert out.dtype == np.dtype(dtype), f"{case['name']}: output dtype {out.dtype}"
    np.testing.assert_allclose(out, expected_out, rtol=tol, atol=tol, err_msg=f"{case['name']} output")
    for name in case["grad"]:
        assert grads[name] is not None, f"{case['name']}: no gradient for {name}"
        assert grads[name].dtype == np.dtype(dtype)
        np.testing.assert_allclose(
            grads[name], expected_grads[name], rtol=tol, atol=tol,
            err_msg=f"{case['name']} gradient of {name}",
        )


# ------------------------------------------------------------ PyTorch reference
@pytest.mark.parametrize("dtype", fixtures.DTYPES)
@pytest.mark.parametrize("case", LOSS_CASES, ids=[c["name"] for c in LOSS_CASES])
def test_loss_matches_pytorch_fixture(case, dtype):
    out, grads = fixtures.descend_result(case, dtype)
    prefix = f"{dtype}/{case['name']}"
    expected = {name: STORED[f"{prefix}/grad/{name}"] for name in case["grad"]}
    assert_matches_reference(case, dtype, out, grads, STORED[f"{prefix}/out"], expected)


def test_fixture_covers_every_loss_and_option():
    fns = {case["fn"] for case in LOSS_CASES}
    assert fns == {
        "mse_loss", "gaussian_nll_loss", "binary_cross_entropy_with_logits",
        "binary_cross_entropy", "cross_entropy", "nll_loss", "kl_div",
    }
    names = " ".join(case["name"] for case in LOSS_CASES)
    for needle in ("smoothing", "probs", "pos_weight", "extreme", "batchmean", "log_target",
                   "_none", "_sum", "_mean"):
        assert needle in names


def test_loss_matches_pytorch_live():
    pytest.importorskip("torch")
    seed = int(np.random.SeedSequence().entropy % 2**32)
    for case in fixtures.make_cases(seed):
        if case["kind"] != "loss":
            continue
        for dtype in fixtures.DTYPES:
            expected_out, expected_grads = fixtures.torch_result(case, dtype)
            out, grads = fixtures.descend_result(case, dtype)
            case_id = dict(case, name=f"{case['name']} (seed {seed}, {dtype})")
            assert_matches_reference(case_id, dtype, out, grads, expected_out, expected_grads)


# ------------------------------------------------------------------ gradcheck
def _t(array, grad=True):
    return ds.tensor(np.asarray(array, dtype=np.float64), requires_grad=grad)


RNG = np.random.default_rng(7)
N, C = 4, 3
X = RNG.normal(size=(N, C))
Y = RNG.normal(size=(N, C))
LABELS = np.array([0, 2, 1, 2])
PROBS = np.exp(Y) / np.exp(Y).sum(axis=1, keepdims=True)
LOGP = X - np.log(np.exp(X).sum(axis=1, keepdims=True))
P01 = RNG.uniform(0.1, 0.9, size=(N, C))
VAR = RNG.uniform(0.3, 2.0, size=(N, C))

GRADCHECKS = {
    "mse_mean": (lambda x, y: F.mse_loss(x, y), [X, Y]),
    "mse_none": (lambda x, y: F.mse_loss(x, y, reduction="none"), [X, Y]),
    "gaussian_nll": (lambda x, y, v: F.gaussian_nll_loss(x, y, v, full=True), [X, Y, VAR]),
    "gaussian_nll_var_short": (lambda x, y, v: F.gaussian_nll_loss(x, y, v, reduction="sum"),
                               [X, Y, VAR[:, 0]]),
    "gaussian_nll_var_size_one": (lambda x, y, v: F.gaussian_nll_loss(x, y, v, reduction="none"),
                                  [X, Y, VAR[:, :1]]),
    "bce_logits": (lambda x, y: F.binary_cross_entropy_with_logits(x, y), [X * 3, P01]),
    "bce_logits_pos_weight_none": (
        lambda x, y: F.binary_cross_entropy_with_logits(
            x, y, pos_weight=np.array([0.5, 2.0, 3.0]), reduction="none"),
        [X * 3, P01]),
    "bce": (lambda p, y: F.binary_cross_entropy(p, y, reduction="sum"), [P01, PROBS]),
    "cross_entropy_labels": (lambda x: F.cross_entropy(x, LABELS), [X]),
    "cross_entropy_labels_none": (lambda x: F.cross_entropy(x, LABELS, reduction="none"), [X]),
    "cross_entropy_labels_smoothing": (
        lambda x: F.cross_entropy(x, LABELS, reduction="none", label_smoothing=0.2), [X]),
    "cross_entropy_labels_smoothing_mean": (
        lambda x: F.cross_entropy(x, LABELS, label_smoothing=0.3), [X]),
    "cross_entropy_many_classes": (
        lambda x: F.cross_entropy(x, np.array([0, 39, 17]), label_smoothing=0.1),
        [RNG.normal(size=(3, 40))]),
    "cross_entropy_probs": (lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1), [X, PROBS]),
    "cross_entropy_probs_none": (lambda x, t: F.cross_entropy(x, t, reduction="none"), [X, PROBS]),
    "nll": (lambda lp: F.nll_loss(lp, LABELS, reduction="sum"), [LOGP]),
    "nll_none": (lambda lp: F.nll_loss(lp, LABELS, reduction="none"), [LOGP]),
    "kl_div": (lambda lp, t: F.kl_div(lp, t, reduction="batchmean"), [LOGP, PROBS]),
    "kl_div_none": (lambda lp, t: F.kl_div(lp, t, reduction="none"), [LOGP, PROBS]),
    "kl_div_log_target": (lambda lp, t: F.kl_div(lp, t, log_target=True), [LOGP, np.log(PROBS)]),
}


@pytest.mark.parametrize("name", list(GRADCHECKS))
def test_loss_gradcheck(name):
    fn, arrays = GRADCHECKS[name]
    assert ds.gradcheck(fn, [_t(a) for a in arrays])


def test_gradcheck_catches_a_wrong_backward(monkeypatch):
    # The table above can fail: break the fused op's backward and gradcheck must notice.
    original = losses.SoftmaxCrossEntropy.backward

    def broken(self, grad):
        p, none = original(self, grad)
        return p * 1.01, none

    monkeypatch.setattr(losses.SoftmaxCrossEntropy, "backward", broken)
    with pytest.raises(ds.GradcheckError):
        ds.gradcheck(lambda x: F.cross_entropy(x, LABELS), [_t(X)])


# ------------------------------------------------------------- fused and stable
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_is_one_fused_op_with_closed_form_gradient(dtype, smoothing):
    rng = np.random.default_rng(1)
    z = ds.tensor(rng.normal(size=(8, 10)).astype(dtype), requires_grad=True)
    y = rng.integers(0, 10, size=8)
    loss = F.cross_entropy(z, y, label_smoothing=smoothing)
    assert isinstance(loss._ctx, losses.SoftmaxCrossEntropy)
    assert loss._ctx.inputs == (z,)
    loss.backward()
    e = np.exp(z.data - z.data.max(axis=1, keepdims=True))
    target = (1 - smoothing) * np.eye(10)[y] + smoothing / 10
    expected = (e / e.sum(axis=1, keepdims=True) - target) / 8
    assert z.grad.flags.c_contiguous
    np.testing.assert_allclose(z.grad, expected, rtol=1e-5, atol=1e-7)


def test_bce_with_logits_is_one_fused_op_with_gradient_sigmoid_minus_target():
    rng = np.random.default_rng(2)
    z = ds.tensor(rng.normal(size=(5, 3)), requires_grad=True)
    y = rng.uniform(size=(5, 3))
    loss = F.binary_cross_entropy_with_logits(z, y)
    assert isinstance(loss._ctx, losses.BCEWithLogits)
    loss.backward()
    np.testing.assert_allclose(z.grad, (1 / (1 + np.exp(-z.data)) - y) / 15, rtol=1e-12)


EXTREME = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4], [3.0, -1e4, 1e4]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, call", [
    ("ce_labels", lambda z: F.cross_entropy(z, np.array([1, 0, 2, 1]))),
    ("ce_smoothing", lambda z: F.cross_entropy(z, np.array([1, 0, 2, 1]), label_smoothing=0.1)),
    ("ce_probs", lambda z: F.cross_entropy(z, np.full((4, 3), 1 / 3))),
    ("bce_logits", lambda z: F.binary_cross_entropy_with_logits(z, np.eye(4, 3))),
    ("bce_logits_pos_weight", lambda z: F.binary_cross_entropy_with_logits(
        z, np.eye(4, 3), pos_weight=np.array([2.0, 0.5, 1.0]))),
    ("nll_of_log_softmax", lambda z: F.nll_loss(F.log_softmax(z), np.array([1, 0, 2, 1]))),
])
def test_extreme_logits_give_finite_loss_and_gradient(name, call, dtype):
    z = ds.tensor(EXTREME.astype(dtype), requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = call(z)
        loss.backward()
    assert np.isfinite(loss.item()) and loss.item() > 0
    assert np.all(np.isfinite(z.grad))


def test_extreme_cross_entropy_values():
    z = ds.tensor(np.array([[1e4, -1e4], [-1e4, 1e4]]), requires_grad=True)
    np.testing.assert_allclose(F.cross_entropy(z, np.array([0, 0]), reduction="none").data, [0, 2e4])
    np.testing.assert_allclose(
        F.binary_cross_entropy_with_logits(z, np.ones((2, 2)), reduction="none").data,
        [[0, 1e4], [1e4, 0]])


def test_losses_keep_float32():
    z = ds.tensor(np.zeros((3, 4), dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(z, np.array([0, 1, 2]))
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), np.log(4), rtol=1e-6)
    loss.backward()
    assert z.grad.dtype == np.float32
    # float64 targets are converted to the input's dtype
    assert F.mse_loss(z, np.ones((3, 4))).dtype == np.float32


def test_nll_of_log_softmax_equals_cross_entropy():
    z = ds.tensor(X, requires_grad=True)
    np.testing.assert_allclose(
        F.nll_loss(F.log_softmax(z), LABELS).item(), F.cross_entropy(z, LABELS).item(), rtol=1e-12)


def test_kl_div_is_cross_entropy_minus_entropy():
    z = ds.tensor(X)
    kl = F.kl_div(F.log_softmax(z), PROBS, reduction="batchmean").item()
    ce = F.cross_entropy(z, PROBS).item()
    entropy = -(PROBS * np.log(PROBS)).sum(axis=1).mean()
    np.testing.assert_allclose(kl, ce - entropy, rtol=1e-12)


def test_mse_is_gaussian_nll_with_unit_variance_up_to_constants():
    x, y = ds.tensor(X), ds.tensor(Y)
    nll = F.gaussian_nll_loss(x, y, np.ones_like(X), full=True).item()
    np.testing.assert_allclose(nll, 0.5 * F.mse_loss(x, y).item() + 0.5 * np.log(2 * np.pi))


def test_loss_accepts_tensor_targets_and_backpropagates_into_them():
    x = ds.tensor(X, requires_grad=True)
    y = ds.tensor(Y, requires_grad=True)
    F.mse_loss(x, y).backward()
    np.testing.assert_allclose(y.grad, -x.grad)


# ----------------------------------------------------------------- validation
BAD_INPUTS = [
    ("label out of range", ValueError, r"label 5 \(at index 1\) is out of range for 3 classes; labels must be in 0\.\.2",
     lambda: F.cross_entropy(_t(X), np.array([0, 5, 1, 2]))),
    ("negative label", ValueError, r"label -1 .* out of range for 3 classes",
     lambda: F.cross_entropy(_t(X), np.array([0, 1, -1, 2]))),
    ("nll label out of range", ValueError, r"nll_loss: label 3 .* out of range for 3 classes",
     lambda: F.nll_loss(_t(LOGP), np.array([0, 1, 3, 2]))),
    ("float labels", TypeError, r"class labels must be integers, got dtype float64",
     lambda: F.cross_entropy(_t(X), np.array([0.0, 1.0, 1.0, 2.0]))),
    ("bool labels", TypeError, r"class labels must be integers, got dtype bool",
     lambda: F.cross_entropy(_t(X), np.array([True, False, True, False]))),
    ("label count", ValueError, r"one label per example, shape \(4,\), but got labels of shape \(3,\)",
     lambda: F.cross_entropy(_t(X), np.array([0, 1, 2]))),
    ("logits not 2-D", ValueError, r"cross_entropy: input must have shape \(N, C\)",
     lambda: F.cross_entropy(_t(X[0]), np.array([0]))),
    ("probability target shape", ValueError, r"input has shape \(4, 3\) but target has shape \(4, 2\)",
     lambda: F.cross_entropy(_t(X), PROBS[:, :2])),
    ("NaN probability target", ValueError, r"cross_entropy: target contains NaN \(first at index \(1, 2\)\)",
     lambda: F.cross_entropy(_t(X), np.where(np.arange(12).reshape(4, 3) == 5, np.nan, PROBS))),
    ("NaN mse target", ValueError, r"mse_loss: target contains NaN",
     lambda: F.mse_loss(_t(X), np.full((4, 3), np.nan))),
    ("NaN bce target", ValueError, r"binary_cross_entropy_with_logits: target contains NaN",
     lambda: F.binary_cross_entropy_with_logits(_t(X), np.where(P01 > 0.5, np.nan, 1.0))),
    ("mse shape", ValueError, r"mse_loss: input has shape \(4, 3\) but target has shape \(3, 4\)",
     lambda: F.mse_loss(_t(X), Y.T)),
    ("bce shape", ValueError, r"input has shape \(4, 3\) but target has shape \(4,\)",
     lambda: F.binary_cross_entropy(_t(P01), P01[:, 0])),
    ("bce probabilities", ValueError, r"input must be probabilities in \[0, 1\]",
     lambda: F.binary_cross_entropy(_t(X), P01)),
    ("bce NaN probabilities", ValueError, r"input must be probabilities in \[0, 1\]",
     lambda: F.binary_cross_entropy(_t(np.full((4, 3), np.nan)), P01)),
    ("pos_weight shape", ValueError, r"pos_weight of shape \(2,\) does not broadcast",
     lambda: F.binary_cross_entropy_with_logits(_t(X), P01, pos_weight=np.ones(2))),
    ("reduction", ValueError, r"reduction must be one of 'mean', 'sum', 'none', got 'avg'",
     lambda: F.mse_loss(_t(X), Y, reduction="avg")),
    ("batchmean outside kl_div", ValueError, r"reduction must be one of",
     lambda: F.cross_entropy(_t(X), LABELS, reduction="batchmean")),
    ("label smoothing", ValueError, r"label_smoothing must be in \[0, 1\], got 1.5",
     lambda: F.cross_entropy(_t(X), LABELS, label_smoothing=1.5)),
    ("negative variance", ValueError, r"var has negative entries",
     lambda: F.gaussian_nll_loss(_t(X), Y, -VAR)),
    ("variance shape", ValueError, r"var has shape \(4, 2\), which does not fit input of shape \(4, 3\)",
     lambda: F.gaussian_nll_loss(_t(X), Y, VAR[:, :2])),
    ("kl target shape", ValueError, r"kl_div: input has shape \(4, 3\) but target has shape \(3,\)",
     lambda: F.kl_div(_t(LOGP), PROBS[0])),
    ("kl_div log_target", TypeError, r"log_target must be a bool, got 'sum'",
     lambda: F.kl_div(_t(LOGP), PROBS, "sum")),
    ("integer input", TypeError, r"input must be floating point",
     lambda: F.mse_loss(ds.tensor(np.ones((2, 2), dtype=np.int64)), np.ones((2, 2)))),
]


@pytest.mark.parametrize("what, error, message, call", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gives_a_clear_error(what, error, message, call):
    with pytest.raises(error, match=message):
        call()


def test_validation_happens_before_any_op_runs(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("an op ran before the labels were checked")

    monkeypatch.setattr(losses.SoftmaxCrossEntropy, "apply", fail)
    with pytest.raises(ValueError, match="out of range"):
        F.cross_entropy(_t(X), np.array([0, 9, 1, 2]))


# --------------------------------------------------------------- loss modules
MODULES = [
    (losses.MSELoss(reduction="sum"), lambda: F.mse_loss(_t(X), Y, reduction="sum"), (X, Y)),
    (losses.GaussianNLLLoss(full=True), lambda: F.gaussian_nll_loss(_t(X), Y, VAR, full=True), (X, Y, VAR)),
    (losses.BCEWithLogitsLoss(pos_weight=np.array([1.0, 2.0, 3.0])),
     lambda: F.binary_cross_entropy_with_logits(_t(X), P01, pos_weight=np.array([1.0, 2.0, 3.0])), (X, P01)),
    (losses.BCELoss(reduction="none"), lambda: F.binary_cross_entropy(_t(P01), PROBS, reduction="none"), (P01, PROBS)),
    (losses.CrossEntropyLoss(label_smoothing=0.2),
     lambda: F.cross_entropy(_t(X), LABELS, label_smoothing=0.2), (X, LABELS)),
    (losses.NLLLoss(), lambda: F.nll_loss(_t(LOGP), LABELS), (LOGP, LABELS)),
    (losses.KLDivLoss(reduction="batchmean"), lambda: F.kl_div(_t(LOGP), PROBS, reduction="batchmean"), (LOGP, PROBS)),
]


@pytest.mark.parametrize("module, reference, arrays", MODULES, ids=[type(m[0]).__name__ for m in MODULES])
def test_loss_module_equals_function(module, reference, arrays):
    out = module(_t(arrays[0]), *arrays[1:])
    np.testing.assert_array_equal(out.data, reference().data)
    assert repr(module).startswith(type(module).__name__ + "(")


def test_loss_modules_are_reachable_from_nn_and_check_options():
    assert ds.nn.CrossEntropyLoss is losses.CrossEntropyLoss
    assert isinstance(losses.CrossEntropyLoss(), ds.nn.Module)
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.MSELoss(reduction="avg")
    assert losses.KLDivLoss(reduction="batchmean").reduction == "batchmean"
    with pytest.raises(AttributeError):
        ds.nn.NoSuchLoss  # noqa: B018


def test_functional_reexports():
    for name in ("relu", "tanh", "sigmoid", "softmax", "log_softmax", "logsumexp", "linear"):
        assert getattr(F, name) is getattr(ds.ops, name)
    for name in losses.__all__:
        if name[0].islower():
            assert getattr(F, name) is getattr(losses, name)
    assert callable(F.dropout)
