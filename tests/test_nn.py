"""descend.nn: layers against PyTorch (fixture and live), float64 gradchecks, Module behaviour
(names, state dicts, modes), Dropout, initialisers and seeding."""

from __future__ import annotations

import math

import numpy as np
import pytest

import descend as ds
from descend import functional as F
from descend import nn
from descend import random as ds_random
from descend.nn import init

from fixtures import make_nn_loss_fixtures as fixtures  # the script that made the fixture

TOL = {"float64": 1e-10, "float32": 1e-5}
CASES, STORED = fixtures.load()
LAYER_CASES = [case for case in CASES if case["kind"] != "loss"]


def assert_matches_reference(name, case, dtype, out, grads, expected_out, expected_grads):
    tol = TOL[dtype]
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out, expected_out, rtol=tol, atol=tol, err_msg=f"{name} output")
    for key in case["grad"]:
        assert grads[key].dtype == np.dtype(dtype)
        np.testing.assert_allclose(grads[key], expected_grads[key], rtol=tol, atol=tol,
                                   err_msg=f"{name} gradient of {key}")


# ------------------------------------------------------------ PyTorch reference
@pytest.mark.parametrize("dtype", fixtures.DTYPES)
@pytest.mark.parametrize("case", LAYER_CASES, ids=[c["name"] for c in LAYER_CASES])
def test_layer_matches_pytorch_fixture(case, dtype):
    out, grads = fixtures.descend_result(case, dtype)
    prefix = f"{dtype}/{case['name']}"
    expected = {k: STORED[f"{prefix}/grad/{k}"] for k in case["grad"]}
    assert_matches_reference(case["name"], case, dtype, out, grads, STORED[f"{prefix}/out"], expected)


def test_fixture_covers_linear_and_each_activation():
    names = {case["name"] for case in LAYER_CASES}
    assert {"linear_bias_True", "linear_bias_False", "mlp_relu", "mlp_tanh", "mlp_sigmoid"} <= names
    mlp = next(case for case in LAYER_CASES if case["name"] == "mlp_relu")
    assert {f"{i}.{p}" for i in (0, 2, 4) for p in ("weight", "bias")} <= set(mlp["grad"])


def test_layer_matches_pytorch_live():
    pytest.importorskip("torch")
    seed = int(np.random.SeedSequence().entropy % 2**32)
    for case in fixtures.make_cases(seed):
        if case["kind"] == "loss":
            continue
        for dtype in fixtures.DTYPES:
            expected_out, expected_grads = fixtures.torch_result(case, dtype)
            out, grads = fixtures.descend_result(case, dtype)
            assert_matches_reference(f"{case['name']} (seed {seed}, {dtype})", case, dtype, out,
                                     grads, expected_out, expected_grads)


# ------------------------------------------------------------------ gradcheck
def _linear64(i, o, bias=True, seed=0):
    return nn.Linear(i, o, bias=bias, rng=np.random.default_rng(seed), dtype=np.float64)


def _gradcheck_module(module, x, loss=None):
    """gradcheck the module's output (or a loss of it) w.r.t. the input and every parameter."""
    params = list(module.parameters())
    names = [n for n, _ in module.named_parameters()]

    def fn(x, *values):
        out = _functional_call(module, dict(zip(names, values)), x)
        return out if loss is None else loss(out)

    inputs = [ds.tensor(x, requires_grad=True, dtype=np.float64)]
    inputs += [ds.tensor(p.data, requires_grad=True, dtype=np.float64) for p in params]
    return ds.gradcheck(fn, inputs)


def _functional_call(module, state, x):
    """Run ``module`` with its parameters temporarily replaced by the tensors in ``state``."""
    owners = []
    for name, value in state.items():
        *path, attr = name.split(".")
        owner = module
        for part in path:
            owner = owner._modules[part]
        owners.append((owner, attr, owner.__dict__[attr]))
        owner.__dict__[attr] = value
    try:
        return module(x)
    finally:
        for owner, attr, original in owners:
            owner.__dict__[attr] = original


RNG = np.random.default_rng(3)
MODULE_GRADCHECKS = {
    "linear": (lambda: _linear64(4, 3), RNG.normal(size=(5, 4)), None),
    "linear_no_bias": (lambda: _linear64(4, 3, bias=False), RNG.normal(size=(5, 4)), None),
    "linear_single_example": (lambda: _linear64(4, 3), RNG.normal(size=(4,)), None),
    "linear_batched_3d": (lambda: _linear64(4, 2), RNG.normal(size=(2, 3, 4)), None),
    "relu": (nn.ReLU, RNG.normal(size=(3, 4)), None),
    "tanh": (nn.Tanh, RNG.normal(size=(3, 4)), None),
    "sigmoid": (nn.Sigmoid, RNG.normal(size=(3, 4)), None),
    "flatten": (lambda: nn.Sequential(nn.Flatten(), _linear64(6, 2)), RNG.normal(size=(3, 2, 3)), None),
    "dropout_eval": (lambda: nn.Dropout(0.5).eval(), RNG.normal(size=(3, 4)), None),
}
for _act in (nn.ReLU, nn.Tanh, nn.Sigmoid):
    MODULE_GRADCHECKS[f"mlp_{_act.__name__.lower()}_cross_entropy"] = (
        lambda act=_act: nn.Sequential(_linear64(5, 6, seed=1), act(), _linear64(6, 4, seed=2), act(),
                                       _linear64(4, 3, seed=3)),
        RNG.normal(size=(4, 5)),
        lambda out: F.cross_entropy(out, np.array([0, 2, 1, 2])),
    )


@pytest.mark.parametrize("name", list(MODULE_GRADCHECKS))
def test_layer_gradcheck(name):
    make, x, loss = MODULE_GRADCHECKS[name]
    assert _gradcheck_module(make(), x, loss)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_dropout_gradcheck_with_a_fixed_mask(p):
    x = ds.tensor(RNG.normal(size=(4, 5)), requires_grad=True)
    assert ds.gradcheck(lambda t: F.dropout(t, p, True, np.random.default_rng(11)), [x])


# ------------------------------------------------------------- Module structure
class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Sequential(nn.Linear(4, 4)))
        self.scale = nn.Parameter(np.ones(4, dtype=np.float32))
        self.head = nn.Linear(4, 2, bias=False)

    def forward(self, x):
        return self.head(self.body(x) * self.scale)


def test_named_parameters_order_and_dotted_names():
    block = Block()
    names = [name for name, _ in block.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "body.2.0.weight", "body.2.0.bias",
                     "head.weight"]
    outer = nn.Sequential(nn.Flatten(), block, nn.ReLU(), nn.Linear(2, 5))
    assert [n for n, _ in outer.named_parameters()] == (
        [f"1.{n}" for n in names] + ["3.weight", "3.bias"])
    assert [p for p in outer.parameters()] == [p for _, p in outer.named_parameters()]
    assert outer.num_parameters() == 4 + 3 * 4 + 4 + 4 * 4 + 4 + 4 * 2 + 2 * 5 + 5


def test_children_and_modules():
    block = Block()
    assert [name for name, _ in block.named_children()] == ["body", "head"]
    kinds = [type(m).__name__ for m in block.modules()]
    assert kinds == ["Block", "Sequential", "Linear", "Tanh", "Sequential", "Linear", "Linear"]
    assert [name for name, _ in block.named_modules()][:4] == ["", "body", "body.0", "body.1"]


def test_shared_parameters_are_listed_once():
    layer = nn.Linear(3, 3)
    model = nn.Sequential(layer, nn.ReLU(), layer)
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    model.load_state_dict(model.state_dict())


def test_assigning_registers_and_replaces():
    block = Block()
    block.head = nn.Linear(4, 7)
    assert "head.bias" in dict(block.named_parameters())
    block.extra = nn.Parameter([1.0, 2.0])
    assert list(dict(block.named_parameters()))[:2] == ["scale", "extra"]  # own ones first
    del block.extra
    assert "extra" not in dict(block.named_parameters())
    block.head = None
    assert "head.weight" not in dict(block.named_parameters())
    with pytest.raises(TypeError, match=r"cannot assign a Tensor to 'scale', a parameter of Block"):
        block.scale = ds.tensor([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(TypeError, match="a submodule of Block"):
        block.body = 3


def test_assigning_before_init_is_a_clear_error():
    class Forgetful(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) first"):
        Forgetful()


def test_parameter():
    p = nn.Parameter(np.arange(3.0))
    assert isinstance(p, ds.Tensor) and p.requires_grad and p.dtype == np.float64
    assert nn.Parameter([1.0]).dtype == np.float32
    assert nn.Parameter([1.0], requires_grad=False).requires_grad is False
    assert repr(p).startswith("Parameter containing:")
    with pytest.raises(TypeError, match="a Parameter must be floating point, got dtype int64"):
        nn.Parameter(np.arange(3))
    y = p * 2
    assert type(y) is ds.Tensor


def test_repr_shows_the_architecture():
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(128, 10, bias=False))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Flatten(start_axis=1, end_axis=-1)\n"
        "  (1): Linear(in_features=784, out_features=128, bias=True)\n"
        "  (2): ReLU()\n"
        "  (3): Dropout(p=0.1)\n"
        "  (4): Linear(in_features=128, out_features=10, bias=False)\n"
        ")"
    )
    assert "(body): Sequential(\n    (0): Linear" in repr(Block())


def test_sequential_container():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    model = nn.Sequential(a, b)
    model.append(c)
    assert len(model) == 3 and list(model) == [a, b, c]
    assert model[0] is a and model[-1] is c
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head) == [b, c]
    assert [n for n, _ in model.named_children()] == ["0", "1", "2"]
    assert nn.Sequential([a, b])[1] is b
    x = ds.tensor(np.ones((4, 2), dtype=np.float32))
    np.testing.assert_array_equal(model(x).data, c(b(a(x))).data)
    with pytest.raises(IndexError, match="index 3 is out of range for 3 layers"):
        model[3]
    with pytest.raises(TypeError, match="Sequential takes Modules, got function"):
        nn.Sequential(a, F.relu)


def test_flatten():
    x = ds.tensor(np.zeros((2, 3, 4, 5), dtype=np.float32))
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0)(x).shape == (120,)
    assert nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.Flatten(-2)(x).shape == (2, 3, 20)
    with pytest.raises(ValueError, match=r"cannot flatten an input of shape \(2, 3\)"):
        nn.Flatten(3)(ds.tensor(np.zeros((2, 3))))


def test_activation_modules():
    x = ds.tensor(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(nn.ReLU()(x).data, [0, 0, 2])
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x.data))
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x.data)))


# ------------------------------------------------------------------- Linear
def test_linear_layout_init_and_fused_op():
    layer = nn.Linear(30, 20, rng=np.random.default_rng(0))
    assert layer.weight.shape == (30, 20) and layer.bias.shape == (20,)
    assert layer.weight.dtype == np.float32 and layer.bias.dtype == np.float32
    np.testing.assert_array_equal(layer.bias.data, 0)
    bound = math.sqrt(6 / 50)
    assert np.abs(layer.weight.data).max() <= bound
    assert np.abs(layer.weight.data).max() > 0.9 * bound
    out = layer(ds.tensor(np.ones((2, 30), dtype=np.float32)))
    assert type(out._ctx) is ds.ops.Linear
    assert nn.Linear(3, 2, dtype=np.float64)(np.ones((1, 3))).dtype == np.float64


@pytest.mark.parametrize("args, error, message", [
    ((0, 3), ValueError, "in_features must be positive, got 0"),
    ((3, -2), ValueError, "out_features must be positive, got -2"),
    ((2.5, 3), TypeError, "in_features must be an integer"),
    ((3, 3, True, None, np.int32), TypeError, "dtype must be floating point"),
])
def test_linear_bad_sizes(args, error, message):
    with pytest.raises(error, match=message):
        nn.Linear(*args)


def test_linear_input_errors():
    layer = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear\(4, 3\) expects inputs whose last dimension is "
                                         r"in_features=4, but got an input of shape \(2, 5\) \(last dimension 5\)"):
        layer(ds.tensor(np.ones((2, 5), dtype=np.float32)))
    with pytest.raises(TypeError, match="has float32 parameters but got a float64 input"):
        layer(ds.tensor(np.ones((2, 4))))


# --------------------------------------------------------------- state dicts
def test_state_dict_round_trip():
    source, target = Block(), Block()
    state = source.state_dict()
    assert list(state) == [n for n, _ in source.named_parameters()]
    state["scale"][...] = 7  # a copy: changing it leaves the module alone
    assert not np.any(source.scale.data == 7)
    arrays_before = [p.data for p in target.parameters()]
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, p), q in zip(source.named_parameters(), target.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    # values are written in place: the parameters keep their arrays
    assert all(a is p.data for a, p in zip(arrays_before, target.parameters()))
    x = ds.tensor(np.ones((2, 3), dtype=np.float32))
    np.testing.assert_array_equal(source(x).data, target(x).data)


def test_load_state_dict_converts_dtype_and_accepts_tensors():
    layer = nn.Linear(2, 2)
    layer.load_state_dict({"weight": ds.tensor(np.eye(2)), "bias": [1, 2]})
    assert layer.weight.dtype == np.float32
    np.testing.assert_array_equal(layer.bias.data, [1, 2])


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("body.2.0.bias"),
     r"missing keys \(in the model, not in the state dict\): 'body.2.0.bias' \(shape \(4,\)\)"),
    (lambda s: s.update(extra=np.zeros((2, 2))),
     r"unexpected keys \(in the state dict, not in the model\): 'extra' \(shape \(2, 2\)\)"),
    (lambda s: s.update({"head.weight": np.zeros((2, 4))}),
     r"size mismatch: 'head.weight' has shape \(2, 4\) in the state dict but \(4, 2\) in the model"),
    (lambda s: (s.pop("scale"), s.update(bogus=np.zeros(1))),
     r"missing keys .*'scale' \(shape \(4,\)\); unexpected keys .*'bogus' \(shape \(1,\)\)"),
    (lambda s: s.update(scale=np.array(["a"] * 4)), r"'scale' holds <U1 values, not numbers"),
])
def test_load_state_dict_errors_name_keys_and_shapes_and_load_nothing(edit, message):
    model = Block()
    before = model.state_dict()
    state = {k: np.full_like(v, 5) for k, v in before.items()}
    edit(state)
    with pytest.raises(ValueError, match=message):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=f"{name} was changed")


def test_load_state_dict_non_strict_reports_keys():
    model = Block()
    state = model.state_dict()
    del state["scale"]
    state["extra"] = np.zeros(3)
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["scale"] and result.unexpected_keys == ["extra"]
    with pytest.raises(ValueError, match="size mismatch"):
        model.load_state_dict({"scale": np.zeros(5)}, strict=False)
    with pytest.raises(TypeError, match="needs a mapping"):
        model.load_state_dict([("scale", np.zeros(4))])


# ---------------------------------------------------------- modes and grads
def test_train_eval_toggles_every_module_and_dropout():
    model = nn.Sequential(nn.Linear(10, 10), nn.Sequential(nn.Dropout(0.5)))
    dropout = model[1][0]
    assert model.training and dropout.training
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    x = ds.tensor(np.ones((4, 10), dtype=np.float32))
    assert dropout(x) is x
    model.train()
    assert all(m.training for m in model.modules())
    assert np.any(dropout(x).data == 0)
    with pytest.raises(TypeError, match="needs a bool"):
        model.train("no")


def test_zero_grad():
    layer = nn.Linear(3, 2)
    F.mse_loss(layer(np.ones((1, 3))), np.zeros((1, 2))).backward()
    grad = layer.weight.grad
    assert grad is not None and np.any(grad != 0)
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad is grad and not np.any(grad)
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_apply_visits_every_module():
    model = Block()
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen[-1] == "Block" and seen.count("Linear") == 3


# ------------------------------------------------------------------- Dropout
def test_dropout_statistics():
    x = ds.tensor(np.ones((400, 500), dtype=np.float32))
    for p in (0.1, 0.5, 0.8):
        y = F.dropout(x, p, training=True, rng=np.random.default_rng(0)).data
        assert abs(y.mean() - 1) < 0.02, f"p={p}: mean {y.mean()}"
        assert abs((y == 0).mean() - p) < 0.01
        np.testing.assert_allclose(np.unique(y), [0, 1 / (1 - p)], rtol=1e-6)


def test_dropout_same_seed_same_mask_and_gradient_is_the_mask():
    x = ds.tensor(np.random.default_rng(1).normal(size=(50, 20)), requires_grad=True)
    y1 = nn.Dropout(0.3, rng=np.random.default_rng(5))(x)
    y2 = nn.Dropout(0.3, rng=np.random.default_rng(5))(x)
    y3 = nn.Dropout(0.3, rng=np.random.default_rng(6))(x)
    np.testing.assert_array_equal(y1.data, y2.data)
    assert np.any((y1.data == 0) != (y3.data == 0))
    y1.sum().backward()
    np.testing.assert_allclose(x.grad, (y1.data != 0) / 0.7)
    assert isinstance(y1._ctx, nn.dropout.DropoutFunction)


def test_dropout_identity_when_off_and_validates_p():
    x = ds.tensor(np.ones(5))
    assert F.dropout(x, 0.5, training=False) is x
    assert nn.Dropout(0.0)(x) is x
    for p in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"0 <= p < 1"):
            nn.Dropout(p)
        with pytest.raises(ValueError, match=r"0 <= p < 1"):
            F.dropout(x, p)
    with pytest.raises(TypeError, match="must be a number"):
        nn.Dropout("0.5")


def test_dropout_default_rng_follows_manual_seed():
    layer = nn.Dropout(0.5)
    x = ds.tensor(np.ones(1000, dtype=np.float32))
    ds_random.manual_seed(3)
    a = layer(x).data
    ds_random.manual_seed(3)
    b = layer(x).data
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ init
SHAPE = (300, 200)


@pytest.mark.parametrize("fn, kwargs, bound", [
    (init.xavier_uniform, {}, math.sqrt(6 / 500)),
    (init.glorot_uniform, {"gain": 2.0}, 2 * math.sqrt(6 / 500)),
    (init.kaiming_uniform, {}, math.sqrt(2) * math.sqrt(3 / 300)),
    (init.he_uniform, {"mode": "fan_out", "nonlinearity": "tanh"}, 5 / 3 * math.sqrt(3 / 200)),
    (init.uniform, {"low": -0.3, "high": 0.3}, 0.3),
])
def test_uniform_initialisers_fill_their_bounds(fn, kwargs, bound):
    w = fn(np.empty(SHAPE), rng=np.random.default_rng(0), **kwargs)
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.999 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.02)
    assert abs(w.mean()) < 0.01 * bound


@pytest.mark.parametrize("fn, kwargs, std", [
    (init.xavier_normal, {}, math.sqrt(2 / 500)),
    (init.glorot_normal, {"gain": 0.5}, 0.5 * math.sqrt(2 / 500)),
    (init.kaiming_normal, {}, math.sqrt(2 / 300)),
    (init.he_normal, {"nonlinearity": "leaky_relu", "a": 0.2}, math.sqrt(2 / 1.04) / math.sqrt(300)),
    (init.normal, {"std": 0.05}, 0.05),
])
def test_normal_initialisers_have_their_std(fn, kwargs, std):
    w = fn(np.empty(SHAPE), rng=np.random.default_rng(0), **kwargs)
    np.testing.assert_allclose(w.std(), std, rtol=0.02)
    assert abs(w.mean()) < 0.01 * std


def test_init_in_place_on_parameters_and_constants():
    layer = nn.Linear(3, 4)
    array = layer.weight.data
    assert init.zeros(layer.weight) is layer.weight and layer.weight.data is array
    assert not np.any(array)
    init.constant(layer.bias, 0.25)
    np.testing.assert_array_equal(layer.bias.data, 0.25)
    init.ones(layer.weight)
    assert np.all(layer.weight.data == 1)
    init.normal(layer.weight, mean=3.0, std=0.0)
    assert np.all(layer.weight.data == 3)


def test_fans_and_gains():
    assert init.calculate_fan_in_and_fan_out((784, 128)) == (784, 128)
    assert init.calculate_fan_in_and_fan_out((3, 3, 16, 32)) == (144, 288)
    with pytest.raises(ValueError, match="at least 2 axes"):
        init.xavier_uniform(np.empty(5))
    assert init.calculate_gain("tanh") == 5 / 3
    assert init.calculate_gain("relu") == math.sqrt(2)
    with pytest.raises(ValueError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="mode must be"):
        init.kaiming_normal(np.empty((2, 2)), mode="fan_avg")
    with pytest.raises(TypeError, match="floating-point"):
        init.zeros(np.zeros(3, dtype=np.int64))


def test_init_same_generator_state_same_values():
    a = init.xavier_uniform(np.empty((5, 4)), rng=np.random.default_rng(9))
    b = init.xavier_uniform(np.empty((5, 4), dtype=np.float32), rng=np.random.default_rng(9))
    np.testing.assert_allclose(a, b, rtol=1e-6)


# ------------------------------------------------------------------ seeding
def test_manual_seed_reproducibility():
    def build():
        return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2))

    gen = ds_random.manual_seed(42)
    assert ds_random.default_rng() is gen and ds_random.initial_seed() == 42
    first = build().state_dict()
    ds_random.manual_seed(42)
    second = build().state_dict()
    third = build().state_dict()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])
    assert not np.array_equal(first["0.weight"], third["0.weight"])
    with pytest.raises(TypeError, match="integer seed"):
        ds_random.manual_seed(1.5)
    with pytest.raises(ValueError, match="non-negative"):
        ds_random.manual_seed(-1)


def test_explicit_rng_is_independent_of_the_default():
    ds_random.manual_seed(0)
    a = nn.Linear(4, 4, rng=np.random.default_rng(1)).weight.data
    ds_random.manual_seed(123)
    b = nn.Linear(4, 4, rng=np.random.default_rng(1)).weight.data
    np.testing.assert_array_equal(a, b)
    assert ds_random.as_rng(5).integers(1000) == np.random.default_rng(5).integers(1000)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        ds_random.as_rng("seed")
