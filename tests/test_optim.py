"""Tests for descend.optim: SGD, Adagrad, RMSprop, Adam, AdamW.

* PyTorch trajectories: tests/fixtures/optim_trajectories.npz, made by
  tests/fixtures/make_optim_fixtures.py (its ``CASES`` is the catalogue of optimizers and
  options used throughout this file); 200 full-batch steps on a 5-8-3 tanh MLP in float64,
  compared to 1e-9 relative. A live comparison reruns torch on fresh seeds when importable.
* The lecture variants against a line-by-line NumPy transcription of the lecture's
  pseudocode (written below), to 1e-12.
* Equivalences, convergence, state_dict round trips, validation errors, gradient buffers.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import descend as ds
import descend.optim as optim
from descend.optim import schedules as S

FIXTURES = Path(__file__).parent / "fixtures"
_spec = importlib.util.spec_from_file_location("make_optim_fixtures", FIXTURES / "make_optim_fixtures.py")
MK = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(MK)

CASES = {c["name"]: c for c in MK.CASES}
NAMES = MK.PARAM_NAMES
RTOL_TORCH = 1e-9
RTOL_LECTURE = 1e-12
LIVE_STEPS = 60
OPTIMIZERS = ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"]


# ----------------------------------------------------------------------------- the problem
def make_params(problem: dict[str, np.ndarray], dtype=np.float64) -> dict[str, ds.Tensor]:
    return {k: ds.tensor(problem[k].copy(), requires_grad=True, dtype=dtype) for k in NAMES}


def mlp_loss(params: dict[str, ds.Tensor], problem: dict[str, np.ndarray]) -> ds.Tensor:
    dtype = params["W1"].dtype
    x = ds.tensor(problem["x"], dtype=dtype)
    y = ds.tensor(problem["y"], dtype=dtype)
    hidden = ds.linear(x, params["W1"], params["b1"]).tanh()
    d = ds.linear(hidden, params["W2"], params["b2"]) - y
    return (d * d).mean()


def mlp_grads(values: dict[str, np.ndarray], problem: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The gradient at ``values`` (fresh tensors: for the transcriptions of the lecture)."""
    params = {k: ds.tensor(values[k].copy(), requires_grad=True) for k in NAMES}
    mlp_loss(params, problem).backward()
    return {k: params[k].grad.copy() for k in NAMES}


def descend_schedule(spec: dict | None, base_lr: float):
    if spec is None:
        return base_lr
    if spec["kind"] == "step":  # a descend.optim.schedules Schedule
        return S.step(base_lr, spec["step_size"], spec["gamma"])
    total = spec["total_steps"]
    return lambda t: base_lr * MK.cosine_factor(t, total)  # a plain callable


def build(case: dict[str, Any], params: dict[str, ds.Tensor], variant: str = "pytorch", **extra):
    """The descend optimizer of a catalogue case."""
    cls = getattr(optim, case["optimizer"])
    options = {k: tuple(v) if k == "betas" else v for k, v in case["options"].items()}
    options.update(extra)
    schedule = case["schedule"]
    base_lr = options.get("lr", 1e-3)
    if case["groups"] is None:
        options["lr"] = descend_schedule(schedule, base_lr)
        groups: Any = [params[k] for k in NAMES]
    else:
        groups = []
        for names, overrides in zip(MK.GROUP_PARAMS, case["groups"]):
            group = {k: tuple(v) if k == "betas" else v for k, v in overrides.items()}
            group["params"] = [params[k] for k in names]
            if schedule is not None:
                group["lr"] = descend_schedule(schedule, group.get("lr", base_lr))
            groups.append(group)
    return cls(groups, clip_norm=case["clip_norm"], variant=variant, **options)


def train(opt, params, problem, steps: int, record=()) -> dict[int, dict[str, np.ndarray]]:
    out = {}
    for t in range(1, steps + 1):
        opt.zero_grad()
        mlp_loss(params, problem).backward()
        opt.step()
        if t in record:
            out[t] = {k: params[k].data.copy() for k in NAMES}
    return out


def snapshot(params) -> dict[str, np.ndarray]:
    return {k: params[k].data.copy() for k in NAMES}


def assert_close(actual: dict, expected: dict, rtol: float, what: str = "") -> None:
    for k in expected:
        a, e = np.asarray(actual[k]), np.asarray(expected[k])
        err = np.max(np.abs(a - e)) / max(np.max(np.abs(e)), 1e-300)
        assert err <= rtol, f"{what} {k}: relative error {err:.3g} > {rtol:g}"


def assert_equal(actual: dict, expected: dict, what: str = "") -> None:
    for k in expected:
        assert np.array_equal(actual[k], expected[k]), f"{what} {k} differs"


@pytest.fixture(scope="module")
def reference():
    with np.load(FIXTURES / "optim_trajectories.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def problem(reference):
    return {k.split("/", 1)[1]: v for k, v in reference.items() if k.startswith("problem/")}


# ------------------------------------------------------------------------ against PyTorch
def test_fixture_matches_catalogue(reference):
    meta = json.loads(str(reference["cases_json"]))
    assert meta["cases"] == json.loads(json.dumps(MK.CASES)), (
        "tests/fixtures/optim_trajectories.npz is stale: rerun tests/fixtures/make_optim_fixtures.py"
    )
    assert set(c["optimizer"] for c in MK.CASES) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch_fixture(name, reference, problem):
    case = CASES[name]
    params = make_params(problem)
    opt = build(case, params)
    got = train(opt, params, problem, MK.STEPS, record=MK.RECORD)
    for t in MK.RECORD:
        expected = {k: reference[f"{name}/{t}/{k}"] for k in NAMES}
        assert_close(got[t], expected, RTOL_TORCH, f"{name} after {t} steps:")
    assert opt.step_count == MK.STEPS


@pytest.mark.parametrize("name", list(CASES))
def test_matches_pytorch_live(name):
    pytest.importorskip("torch")
    case = CASES[name]
    fresh = MK.make_problem(seed=1000 + list(CASES).index(name))
    expected = MK.torch_trajectory(case, fresh, steps=LIVE_STEPS, record=(LIVE_STEPS,))[LIVE_STEPS]
    params = make_params(fresh)
    train(build(case, params), params, fresh, LIVE_STEPS)
    assert_close(snapshot(params), expected, RTOL_TORCH, name)


# ------------------------------------------------- the lecture's pseudocode, transcribed
def lecture_sgd(theta, grad, steps, lr):
    for _ in range(steps):
        g = grad(theta)
        for k in theta:
            theta[k] = theta[k] - lr * g[k]
    return theta


def lecture_momentum(theta, grad, steps, lr, beta):
    v = {k: np.zeros_like(theta[k]) for k in theta}
    for _ in range(steps):
        g = grad(theta)
        for k in theta:
            v[k] = beta * v[k] + g[k]
            theta[k] = theta[k] - lr * v[k]
    return theta


def lecture_nesterov(theta, grad, steps, lr, beta):
    """``lr`` is a function of the 0-based iteration; returns the next look-ahead point."""
    v = {k: np.zeros_like(theta[k]) for k in theta}
    for t in range(steps):
        for k in theta:
            theta[k] = theta[k] - lr(t) * beta * v[k]
        g = grad(theta)
        for k in theta:
            v[k] = beta * v[k] + g[k]
            theta[k] = theta[k] - lr(t) * g[k]
    # the parameters of the optimizer are where the next gradient is evaluated:
    return {k: theta[k] - lr(steps) * beta * v[k] for k in theta}


def lecture_adagrad(theta, grad, steps, lr, eps):
    r = {k: np.zeros_like(theta[k]) for k in theta}
    for _ in range(steps):
        g = grad(theta)
        for k in theta:
            r[k] = r[k] + g[k] ** 2
            theta[k] = theta[k] - lr / np.sqrt(r[k] + eps) * g[k]
    return theta


def lecture_rmsprop(theta, grad, steps, lr, beta, eps):
    r = {k: np.zeros_like(theta[k]) for k in theta}
    for _ in range(steps):
        g = grad(theta)
        for k in theta:
            r[k] = beta * r[k] + (1 - beta) * g[k] ** 2
            theta[k] = theta[k] - lr / np.sqrt(r[k] + eps) * g[k]
    return theta


def lecture_adam(theta, grad, steps, lr, beta1, beta2, eps):
    s = {k: np.zeros_like(theta[k]) for k in theta}
    r = {k: np.zeros_like(theta[k]) for k in theta}
    t = 0
    for _ in range(steps):
        g = grad(theta)
        t = t + 1
        for k in theta:
            s[k] = beta1 * s[k] + (1 - beta1) * g[k]
            r[k] = beta2 * r[k] + (1 - beta2) * g[k] ** 2
            s_hat = s[k] / (1 - beta1**t)
            r_hat = r[k] / (1 - beta2**t)
            theta[k] = theta[k] - lr / np.sqrt(r_hat + eps) * s_hat
    return theta


def _cos_lr(lr0):
    return lambda t: lr0 * 0.5 * (1 + math.cos(math.pi * min(t, 60) / 60))


# (id, descend constructor kwargs, transcription, its arguments). Defaults not passed to
# descend are the lecture variant's: RMSprop beta 0.9, eps 1e-7; Adam eps 1e-7.
LECTURE_CASES = [
    ("sgd", "SGD", {"lr": 0.1}, lecture_sgd, {"lr": 0.1}),
    ("momentum", "SGD", {"lr": 0.05, "momentum": 0.9}, lecture_momentum, {"lr": 0.05, "beta": 0.9}),
    ("nesterov", "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, lecture_nesterov,
     {"lr": lambda t: 0.05, "beta": 0.9}),
    ("nesterov_schedule", "SGD", {"lr": _cos_lr(0.05), "momentum": 0.9, "nesterov": True},
     lecture_nesterov, {"lr": _cos_lr(0.05), "beta": 0.9}),
    ("adagrad", "Adagrad", {"lr": 0.1}, lecture_adagrad, {"lr": 0.1, "eps": 1e-7}),
    ("adagrad_eps", "Adagrad", {"lr": 0.1, "eps": 1e-3}, lecture_adagrad, {"lr": 0.1, "eps": 1e-3}),
    ("rmsprop", "RMSprop", {"lr": 0.01}, lecture_rmsprop, {"lr": 0.01, "beta": 0.9, "eps": 1e-7}),
    ("rmsprop_beta", "RMSprop", {"lr": 0.01, "alpha": 0.5, "eps": 1e-4}, lecture_rmsprop,
     {"lr": 0.01, "beta": 0.5, "eps": 1e-4}),
    ("adam", "Adam", {"lr": 0.01}, lecture_adam,
     {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}),
    ("adam_betas", "Adam", {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-3}, lecture_adam,
     {"lr": 0.01, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3}),
    ("adamw_no_decay", "AdamW", {"lr": 0.01, "weight_decay": 0.0}, lecture_adam,
     {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-7}),
]


@pytest.mark.parametrize("case", LECTURE_CASES, ids=[c[0] for c in LECTURE_CASES])
def test_lecture_variant_matches_transcription(case, problem):
    _, cls, kwargs, transcription, args = case
    steps = 60
    params = make_params(problem)
    opt = getattr(optim, cls)(list(params.values()), variant="lecture", **kwargs)
    train(opt, params, problem, steps)
    theta = {k: problem[k].copy() for k in NAMES}
    expected = transcription(theta, lambda th: mlp_grads(th, problem), steps, **args)
    assert_close(snapshot(params), expected, RTOL_LECTURE, case[0])


def test_lecture_defaults():
    p = [ds.tensor(np.zeros(3), requires_grad=True)]
    assert optim.Adagrad(p, variant="lecture").defaults["eps"] == 1e-7
    assert optim.Adagrad([ds.tensor(np.zeros(3), requires_grad=True)]).defaults["eps"] == 1e-10
    r = optim.RMSprop([ds.tensor(np.zeros(3), requires_grad=True)], variant="lecture").defaults
    assert (r["alpha"], r["eps"]) == (0.9, 1e-7)
    r = optim.RMSprop([ds.tensor(np.zeros(3), requires_grad=True)]).defaults
    assert (r["alpha"], r["eps"], r["lr"]) == (0.99, 1e-8, 1e-2)
    a = optim.Adam([ds.tensor(np.zeros(3), requires_grad=True)], variant="lecture").defaults
    assert (a["lr"], a["betas"], a["eps"]) == (1e-3, (0.9, 0.999), 1e-7)
    a = optim.Adam([ds.tensor(np.zeros(3), requires_grad=True)]).defaults
    assert (a["lr"], a["betas"], a["eps"], a["weight_decay"]) == (1e-3, (0.9, 0.999), 1e-8, 0.0)
    assert optim.AdamW([ds.tensor(np.zeros(3), requires_grad=True)]).defaults["weight_decay"] == 1e-2
    s = optim.SGD([ds.tensor(np.zeros(3), requires_grad=True)]).defaults
    assert s == {"lr": 1e-3, "momentum": 0.0, "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}


# ------------------------------------------------------------------------- equivalences
def run_case(problem, steps, make, params=None):
    params = params or make_params(problem)
    opt = make(list(params.values()))
    train(opt, params, problem, steps)
    return snapshot(params)


@pytest.mark.parametrize("variant", ["pytorch", "lecture"])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_adamw_without_weight_decay_is_adam(problem, variant, amsgrad):
    a = run_case(problem, 50, lambda p: optim.Adam(p, lr=0.01, amsgrad=amsgrad, variant=variant))
    w = run_case(problem, 50, lambda p: optim.AdamW(p, lr=0.01, weight_decay=0.0, amsgrad=amsgrad,
                                                    variant=variant))
    assert_equal(w, a, "AdamW(weight_decay=0) vs Adam")
    decayed = run_case(problem, 50, lambda p: optim.AdamW(p, lr=0.01, amsgrad=amsgrad, variant=variant))
    assert not np.array_equal(decayed["W1"], a["W1"])  # the default weight_decay=1e-2 does act


@pytest.mark.parametrize("variant", ["pytorch", "lecture"])
def test_nesterov_with_vanishing_momentum_is_sgd(problem, variant):
    # nesterov=True needs momentum > 0 (PyTorch's rule); as momentum -> 0 the update is SGD's:
    # momentum * v is below the rounding of g, so the trajectories are bit-identical.
    sgd = run_case(problem, 50, lambda p: optim.SGD(p, lr=0.1, variant=variant))
    nes = run_case(problem, 50, lambda p: optim.SGD(p, lr=0.1, momentum=1e-300, nesterov=True,
                                                    variant=variant))
    assert_equal(nes, sgd, "Nesterov(momentum->0) vs SGD")
    plain = run_case(problem, 50, lambda p: optim.SGD(p, lr=0.1, momentum=0.0, variant=variant))
    assert_equal(plain, sgd, "SGD(momentum=0) vs SGD")


def test_nesterov_lecture_form_equals_pytorch_form(problem):
    # The lecture: PyTorch's theta - alpha (beta v + g) is the same method, reparametrised.
    torch_form = run_case(problem, 100, lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True))
    lecture = run_case(problem, 100, lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                                         variant="lecture"))
    assert_close(lecture, torch_form, 1e-12, "Nesterov lecture vs PyTorch form")
    momentum = run_case(problem, 100, lambda p: optim.SGD(p, lr=0.05, momentum=0.9))
    assert not np.allclose(momentum["W1"], torch_form["W1"], rtol=1e-6)


@pytest.mark.parametrize("variant", ["pytorch", "lecture"])
def test_adam_without_first_moment_is_bias_corrected_rmsprop(problem, variant):
    # Adam with beta1 = 0 has s_hat = g and divides by sqrt(r / (1 - beta2^t)); with eps = 0
    # that is RMSprop(alpha=beta2, eps=0) with the learning rate lr * sqrt(1 - beta2^t),
    # t = update number (1-based), i.e. the schedule step -> lr * sqrt(1 - beta2^(step + 1)).
    # (With eps > 0 they differ: Adam's eps is scaled by sqrt(1 - beta2^t).)
    lr, beta2 = 0.01, 0.9
    adam = run_case(problem, 60, lambda p: optim.Adam(p, lr=lr, betas=(0.0, beta2), eps=0.0,
                                                      variant=variant))
    rms = run_case(problem, 60, lambda p: optim.RMSprop(
        p, lr=lambda t: lr * math.sqrt(1 - beta2 ** (t + 1)), alpha=beta2, eps=0.0, variant=variant))
    assert_close(adam, rms, 1e-12, "Adam(beta1=0) vs RMSprop with bias correction")
    uncorrected = run_case(problem, 60, lambda p: optim.RMSprop(p, lr=lr, alpha=beta2, eps=0.0,
                                                                variant=variant))
    assert not np.allclose(uncorrected["W1"], adam["W1"], rtol=1e-6)


# (optimizer, options) with eps = 0: the variants differ only in where eps goes.
EPS_FREE = [
    ("Adagrad", {"lr": 0.1, "eps": 0.0}),
    ("Adagrad", {"lr": 0.1, "eps": 0.0, "lr_decay": 0.1, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "eps": 0.0}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "eps": 0.0, "centered": True, "momentum": 0.5}),
    ("Adam", {"lr": 0.01, "eps": 0.0}),
    ("Adam", {"lr": 0.01, "eps": 0.0, "amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {"lr": 0.01, "eps": 0.0, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
]


@pytest.mark.parametrize("cls,options", EPS_FREE, ids=[f"{c}-{i}" for i, (c, _) in enumerate(EPS_FREE)])
def test_variants_agree_without_eps(problem, cls, options):
    a = run_case(problem, 60, lambda p: getattr(optim, cls)(p, **options))
    b = run_case(problem, 60, lambda p: getattr(optim, cls)(p, variant="lecture", **options))
    assert_close(b, a, 1e-9, f"{cls} lecture vs pytorch at eps=0")


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_variants_differ_with_eps(problem, cls):
    # ... and with a large eps the placement matters (so the test above can fail).
    options = {"lr": 0.01} if cls != "SGD" else {"lr": 0.05, "momentum": 0.9, "nesterov": True}
    if cls != "SGD":
        options["eps"] = 1e-2
    a = run_case(problem, 30, lambda p: getattr(optim, cls)(p, **options))
    b = run_case(problem, 30, lambda p: getattr(optim, cls)(p, variant="lecture", **options))
    if cls == "SGD":  # only rounding differs
        assert_close(b, a, 1e-12)
    else:
        assert not np.allclose(a["W1"], b["W1"], rtol=1e-6)


GROUPED = [
    ("SGD", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adagrad", {"lr_decay": 0.01}),
    ("RMSprop", {"momentum": 0.5, "centered": True}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {}),
]


@pytest.mark.parametrize("variant", ["pytorch", "lecture"])
@pytest.mark.parametrize("cls,options", GROUPED, ids=[c for c, _ in GROUPED])
def test_param_groups_equal_separate_optimizers(problem, cls, options, variant):
    make = getattr(optim, cls)
    lrs = {"W1": 0.01, "b1": 0.03, "W2": 0.02, "b2": lambda t: 0.05 / (1 + t)}
    grouped = make_params(problem)
    opt = make([{"params": [grouped[k]], "lr": lrs[k]} for k in NAMES], variant=variant, **options)
    separate = make_params(problem)
    opts = [make([separate[k]], lr=lrs[k], variant=variant, **options) for k in NAMES]
    for _ in range(40):
        for params, step in ((grouped, [opt.step]), (separate, [o.step for o in opts])):
            for p in params.values():
                p.grad = None
            mlp_loss(params, problem).backward()
            for s in step:
                s()
    assert_equal(snapshot(grouped), snapshot(separate), f"{cls} groups vs separate")


def test_huge_clip_norm_changes_nothing_and_small_one_clips(problem):
    plain = run_case(problem, 30, lambda p: optim.Adam(p, lr=0.01))
    huge = run_case(problem, 30, lambda p: optim.Adam(p, lr=0.01, clip_norm=1e9))
    assert_equal(huge, plain, "clip_norm=1e9")
    params = make_params(problem)
    opt = optim.SGD(list(params.values()), lr=0.0, clip_norm=0.01)
    mlp_loss(params, problem).backward()
    raw = {k: params[k].grad.copy() for k in NAMES}
    norm = math.sqrt(sum(float(np.sum(g * g)) for g in raw.values()))
    assert norm > 0.01
    opt.step()
    assert opt.last_grad_norm == pytest.approx(norm, rel=1e-14)
    for k in NAMES:  # clipped in place, with PyTorch's coefficient max_norm / (norm + 1e-6)
        np.testing.assert_allclose(params[k].grad, raw[k] * (0.01 / (norm + 1e-6)), rtol=1e-14)
    clipped = math.sqrt(sum(float(np.sum(params[k].grad ** 2)) for k in NAMES))
    assert clipped < 0.01


def test_clip_grad_norm_function():
    a = ds.tensor(np.array([3.0, 0.0]), requires_grad=True)
    b = ds.tensor(np.array([[4.0]]), requires_grad=True)
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([[4.0]])
    c = ds.tensor(np.array([1.0]), requires_grad=True)  # grad None: ignored
    assert optim.clip_grad_norm_([a, b, c], 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(a.grad, [3.0 / (5 + 1e-6), 0.0])
    assert optim.clip_grad_norm_([a, b], 10.0) == pytest.approx(5.0 / (5 + 1e-6))
    with pytest.raises(ValueError, match="max_norm"):
        optim.clip_grad_norm_([a], -1.0)


# -------------------------------------------------------------------------- convergence
def quadratic_problem():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((10, 10)))
    a = q @ np.diag(np.linspace(1.0, 10.0, 10)) @ q.T
    b = rng.standard_normal(10)
    return a, b, np.linalg.solve(a, b)


# per optimizer: (kwargs, steps) for the quadratic; (kwargs, steps) for Rosenbrock
CONVERGENCE = {
    "SGD": ({"lr": 0.1}, 300, {"lr": 1e-3, "momentum": 0.9}, 3000),
    "SGD-nesterov": ({"lr": 0.05, "momentum": 0.9, "nesterov": True}, 300,
                     {"lr": 1e-3, "momentum": 0.9, "nesterov": True}, 3000),
    "Adagrad": ({"lr": 0.5}, 800, {"lr": 0.5}, 3000),
    "RMSprop": ({"lr": lambda t: 0.05 * 0.99 ** t}, 800, {"lr": lambda t: 0.01 * 0.999 ** t}, 3000),
    "Adam": ({"lr": 0.1}, 800, {"lr": 0.02}, 3000),
    "AdamW": ({"lr": 0.1, "weight_decay": 0.0}, 800, {"lr": 0.02, "weight_decay": 0.0}, 3000),
}


def minimise(name: str, variant: str, kwargs: dict, start: np.ndarray, grad, steps: int) -> np.ndarray:
    """Run an optimizer on an analytic gradient, written in place into ``p.grad``."""
    theta = ds.tensor(start.copy(), requires_grad=True)
    opt = getattr(optim, name.split("-")[0])([theta], variant=variant, **kwargs)
    theta.grad = np.zeros_like(start)
    for _ in range(steps):
        theta.grad[...] = grad(theta.data)  # after the first step(), a view of the flat buffer
        opt.step()
    return theta.data


@pytest.mark.parametrize("variant", ["pytorch", "lecture"])
@pytest.mark.parametrize("name", list(CONVERGENCE))
def test_minimises_quadratic(name, variant):
    a, b, solution = quadratic_problem()
    kwargs, steps = CONVERGENCE[name][:2]
    theta = minimise(name, variant, kwargs, np.zeros(10), lambda x: a @ x - b, steps)
    assert np.linalg.norm(theta - solution) < 1e-3 * np.linalg.norm(solution)


def rosenbrock(xy: np.ndarray) -> float:
    x, y = xy
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def rosenbrock_grad(xy: np.ndarray) -> np.ndarray:
    x, y = xy
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


@pytest.mark.parametrize("variant", ["pytorch", "lecture"])
@pytest.mark.parametrize("name", list(CONVERGENCE))
def test_reaches_rosenbrock_valley(name, variant):
    kwargs, steps = CONVERGENCE[name][2:]
    start = np.array([-1.5, 2.0])
    x, y = minimise(name, variant, kwargs, start, rosenbrock_grad, steps)
    assert rosenbrock(np.array([x, y])) < 0.05 * rosenbrock(start)
    assert abs(y - x * x) < 0.05, f"not in the valley: {(x, y)}"
    assert x > 0.0, f"has not moved along the valley towards (1, 1): {(x, y)}"


def test_rosenbrock_gradient_matches_engine():
    xy = ds.tensor(np.array([-1.5, 2.0]), requires_grad=True)
    x, y = xy[0], xy[1]
    ((1 - x) ** 2 + 100 * (y - x * x) ** 2).backward()
    np.testing.assert_allclose(xy.grad, rosenbrock_grad(xy.data), rtol=1e-14)


# ------------------------------------------------------------------------- state_dict
ROUND_TRIP = [(n, "pytorch") for n in CASES] + [
    ("sgd_nesterov", "lecture"), ("adagrad_options", "lecture"), ("rmsprop_centered_momentum", "lecture"),
    ("adam_amsgrad", "lecture"), ("adamw", "lecture"), ("sgd_step_schedule", "lecture"),
]


@pytest.mark.parametrize("name,variant", ROUND_TRIP, ids=[f"{n}-{v}" for n, v in ROUND_TRIP])
def test_state_dict_round_trip_is_bit_identical(name, variant, problem):
    case = CASES[name]
    params = make_params(problem)
    opt = build(case, params, variant=variant)
    train(opt, params, problem, 50)
    saved_params = snapshot(params)
    state = opt.state_dict()
    frozen = copy.deepcopy(state)
    train(opt, params, problem, 50)
    uninterrupted = snapshot(params)
    # the state_dict was a snapshot: training on did not change it
    for a, b in zip(state["state"], frozen["state"]):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    fresh = make_params({**problem, **saved_params})
    restored = build(case, fresh, variant=variant)
    restored.load_state_dict(frozen)
    assert restored.step_count == 50
    train(restored, fresh, problem, 50)
    assert_equal(snapshot(fresh), uninterrupted, f"{name} restored")
    assert restored.step_count == 100


def test_state_dict_contents(problem):
    params = make_params(problem)
    opt = optim.Adam([{"params": [params["W1"], params["W2"]], "lr": S.step(0.01, 10, 0.5)},
                      {"params": [params["b1"], params["b2"]], "amsgrad": True}])
    train(opt, params, problem, 3)
    state = opt.state_dict()
    assert state["step_count"] == 3 and state["optimizer"] == "Adam" and state["variant"] == "pytorch"
    g0, g1 = state["param_groups"]
    assert g0["param_shapes"] == [(5, 8), (8, 3)] and g1["param_steps"] == [3, 3]
    assert g1["amsgrad"] is True and g0["betas"] == (0.9, 0.999)
    assert set(state["state"][0]) == {"exp_avg", "exp_avg_sq"}
    assert set(state["state"][1]) == {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert state["state"][0]["exp_avg"].shape == (5 * 8 + 8 * 3,)
    restored = pickle.loads(pickle.dumps(state))  # a Schedule pickles
    opt.load_state_dict(restored)
    per_param = opt.state[params["W2"]]
    assert per_param["step"] == 3 and per_param["exp_avg"].shape == (8, 3)


def _adam_after(problem, steps=5):
    params = make_params(problem)
    opt = optim.Adam([{"params": [params["W1"], params["b1"]]}, {"params": [params["W2"], params["b2"]]}],
                     lr=0.01)
    train(opt, params, problem, steps)
    return params, opt


def _corrupt(state, how):
    state = copy.deepcopy(state)
    if how == "groups":
        state["param_groups"].pop()
        state["state"].pop()
    elif how == "shape":
        state["param_groups"][1]["param_shapes"][0] = (3, 8)
    elif how == "count":
        state["param_groups"][0]["param_shapes"].pop()
    elif how == "class":
        state["optimizer"] = "SGD"
    elif how == "variant":
        state["variant"] = "lecture"
    elif how == "buffer":
        state["state"][0]["exp_avg"] = state["state"][0]["exp_avg"][:-1]
    elif how == "missing":
        del state["step_count"]
    elif how == "hyperparameter":
        state["param_groups"][1]["betas"] = (0.9, 1.5)
    elif how == "steps":
        state["param_groups"][0]["param_steps"] = [1]
    return state


@pytest.mark.parametrize("how,match", [
    ("groups", "1 parameter group.*has 2"),
    ("shape", r"parameter 0 of group 1 has shape \(3, 8\) in the state_dict but \(8, 3\)"),
    ("count", "group 0 has 1 parameters in the state_dict, 2 in this optimizer"),
    ("class", "state_dict is of a SGD optimizer, not Adam"),
    ("variant", "variant 'lecture'"),
    ("buffer", "state 'exp_avg' of group 0 has shape"),
    ("missing", "lacks step_count"),
    ("hyperparameter", r"betas\[1\] 1.5: must be in \[0, 1\)"),
    ("steps", "invalid param_steps"),
])
def test_load_state_dict_validates(problem, how, match):
    params, opt = _adam_after(problem)
    good = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(_corrupt(good, how))
    after = opt.state_dict()  # nothing changed
    assert after["step_count"] == good["step_count"] and after["param_groups"] == good["param_groups"]
    for a, b in zip(after["state"], good["state"]):
        assert all(np.array_equal(a[k], b[k]) for k in b)


# ------------------------------------------------------------------------- validation
def _p():
    return [ds.tensor(np.zeros(3), requires_grad=True)]


BAD = [
    ("SGD", {"lr": -0.1}, r"SGD: invalid lr -0.1: must be a finite float in \[0, inf\)"),
    ("SGD", {"lr": float("nan")}, "invalid lr nan"),
    ("SGD", {"lr": float("inf")}, "invalid lr inf"),
    ("SGD", {"momentum": -0.5}, r"SGD: invalid momentum -0.5: must be in \[0, 1\)"),
    ("SGD", {"momentum": 1.0}, r"invalid momentum 1.0: must be in \[0, 1\)"),
    ("SGD", {"dampening": 1.5, "momentum": 0.9}, r"invalid dampening 1.5: must be in \[0, 1\]"),
    ("SGD", {"weight_decay": -1e-4}, r"invalid weight_decay -0.0001: must be in \[0, inf\)"),
    ("SGD", {"nesterov": True}, r"nesterov=True requires momentum in \(0, 1\) and dampening 0, got momentum=0.0"),
    ("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov=True requires .*dampening=0.1"),
    ("SGD", {"momentum": 0.9, "dampening": 0.1, "variant": "lecture"}, "dampening 0.1 for variant='lecture'"),
    ("SGD", {"variant": "keras"}, "unknown variant 'keras': must be one of 'pytorch', 'lecture'"),
    ("SGD", {"clip_norm": 0.0}, r"invalid clip_norm 0.0: must be in \(0, inf\)"),
    ("SGD", {"clip_norm": -1.0}, "invalid clip_norm -1.0"),
    ("SGD", {"lr": lambda t: -1.0}, "returned -1.0 at step 0"),
    ("Adagrad", {"lr": -1.0}, "Adagrad: invalid lr -1.0"),
    ("Adagrad", {"lr_decay": -0.1}, r"invalid lr_decay -0.1: must be in \[0, inf\)"),
    ("Adagrad", {"initial_accumulator_value": -1.0}, "invalid initial_accumulator_value -1.0"),
    ("Adagrad", {"eps": -1e-10}, r"invalid eps -1e-10: must be in \[0, inf\)"),
    ("Adagrad", {"weight_decay": -1.0}, "Adagrad: invalid weight_decay -1.0"),
    ("RMSprop", {"alpha": 1.0}, r"RMSprop: invalid alpha 1.0: must be in \[0, 1\)"),
    ("RMSprop", {"alpha": -0.1}, "invalid alpha -0.1"),
    ("RMSprop", {"eps": -1.0}, "RMSprop: invalid eps -1.0"),
    ("RMSprop", {"momentum": -0.1}, "RMSprop: invalid momentum -0.1"),
    ("RMSprop", {"weight_decay": -0.1}, "RMSprop: invalid weight_decay -0.1"),
    ("RMSprop", {"lr": -0.1, "variant": "lecture"}, "RMSprop: invalid lr -0.1"),
    ("Adam", {"betas": (1.0, 0.999)}, r"Adam: invalid betas\[0\] 1.0: must be in \[0, 1\)"),
    ("Adam", {"betas": (-0.1, 0.999)}, r"invalid betas\[0\] -0.1"),
    ("Adam", {"betas": (0.9, 1.0)}, r"invalid betas\[1\] 1.0: must be in \[0, 1\)"),
    ("Adam", {"betas": (0.9,)}, r"betas must be a pair \(beta1, beta2\)"),
    ("Adam", {"eps": -1e-8}, "Adam: invalid eps -1e-08"),
    ("Adam", {"weight_decay": -0.01}, "Adam: invalid weight_decay -0.01"),
    ("Adam", {"lr": -0.001}, "Adam: invalid lr -0.001"),
    ("AdamW", {"weight_decay": -0.01}, "AdamW: invalid weight_decay -0.01"),
    ("AdamW", {"betas": (0.9, 2.0)}, r"AdamW: invalid betas\[1\] 2.0"),
]


@pytest.mark.parametrize("cls,kwargs,match", BAD, ids=[f"{c}-{'-'.join(k)}-{i}" for i, (c, k, _) in enumerate(BAD)])
def test_invalid_hyperparameter(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(optim, cls)(_p(), **kwargs)


@pytest.mark.parametrize("cls,kwargs,match", [
    ("SGD", {"lr": "0.1"}, "lr must be a float in .* or a schedule"),
    ("SGD", {"lr": True}, "lr must be a float or a schedule"),
    ("SGD", {"nesterov": 1}, "nesterov must be True or False"),
    ("Adam", {"amsgrad": "yes"}, "amsgrad must be True or False"),
    ("RMSprop", {"centered": None}, "centered must be True or False"),
    ("Adam", {"eps": None, "betas": ("a", 0.9)}, r"betas\[0\] must be a real number"),
    ("SGD", {"lr": lambda t: "fast"}, "returned 'fast' of type str at step 0"),
])
def test_invalid_hyperparameter_type(cls, kwargs, match):
    with pytest.raises(TypeError, match=match):
        getattr(optim, cls)(_p(), **kwargs)


def test_invalid_params():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    p = ds.tensor(np.zeros(3), requires_grad=True)
    with pytest.raises(ValueError, match="appears more than once"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="appears more than once"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(TypeError, match="dtype int64; only floating-point"):
        optim.SGD([ds.tensor(np.zeros(3, dtype=np.int64))], lr=0.1)
    with pytest.raises(TypeError, match="mixes dtypes float32, float64"):
        optim.SGD([p, ds.tensor(np.zeros(2, dtype=np.float32), requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="not a descend Tensor"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match=r"param group 1 has unknown hyperparameter\(s\) lrr"):
        optim.SGD([{"params": [p]}, {"params": [ds.tensor(np.zeros(1), requires_grad=True)], "lrr": 1}])
    with pytest.raises(ValueError, match=r"SGD \(param group 1\): invalid lr -1"):
        optim.SGD([{"params": [p]}, {"params": [ds.tensor(np.zeros(1), requires_grad=True)], "lr": -1}])
    with pytest.raises(ValueError, match=r"Adam \(param group 0\): invalid betas\[1\] 1"):
        optim.Adam([{"params": [p], "betas": (0.5, 1)}])


def test_bad_schedule_value_at_step_time_leaves_state_untouched():
    p = ds.tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.Adam([p], lr=lambda t: 0.1 if t < 2 else float("nan"))
    for _ in range(2):
        (p * p).sum().backward()
        opt.step()
        opt.zero_grad()
    before, state = p.data.copy(), opt.state_dict()
    (p * p).sum().backward()
    with pytest.raises(ValueError, match="returned nan at step 2"):
        opt.step()
    assert np.array_equal(p.data, before) and opt.step_count == 2
    assert np.array_equal(opt.state_dict()["state"][0]["exp_avg"], state["state"][0]["exp_avg"])


# -------------------------------------------------- learning rates, steps, groups, closure
def test_schedule_evaluated_once_per_step_at_updates_done():
    calls = []

    def schedule(t):
        calls.append(t)
        return 0.5 if t == 0 else 0.0

    p = ds.tensor(np.array([1.0, -1.0]), requires_grad=True)
    opt = optim.SGD([p], lr=schedule)
    calls.clear()
    assert opt.lr == 0.5 and opt.step_count == 0
    calls.clear()
    for _ in range(3):
        opt.zero_grad()
        (p * p).sum().backward()
        opt.step()
    assert calls == [0, 1, 2]
    assert opt.step_count == 3 and opt.lr == 0.0
    np.testing.assert_array_equal(p.data, [0.0, 0.0])  # only the first update (lr(0) = 0.5) moved it


def test_lr_setter_and_group_edits_take_effect():
    p = ds.tensor(np.array([1.0]), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    opt.lr = 0.25
    assert opt.param_groups[0]["lr"] == 0.25 and opt.lr == 0.25
    (p * p).sum().backward()
    opt.step()
    np.testing.assert_allclose(p.data, [0.5])
    opt.param_groups[0]["lr"] = 0.5  # PyTorch style
    opt.step()  # grad 2 still in the buffer
    np.testing.assert_allclose(p.data, [-0.5])
    opt.lr = S.constant(0.0)
    opt.step()
    np.testing.assert_allclose(p.data, [-0.5])
    with pytest.raises(ValueError, match="invalid lr -1"):
        opt.lr = -1


def test_closure_and_add_param_group(problem):
    params = make_params(problem)
    opt = optim.SGD([params["W1"], params["b1"]], lr=0.1)
    opt.add_param_group({"params": [params["W2"], params["b2"]], "lr": 0.2, "momentum": 0.9})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="appears more than once"):
        opt.add_param_group({"params": [params["W1"]]})

    def closure():
        opt.zero_grad()
        loss = mlp_loss(params, problem)
        loss.backward()
        return loss

    first = opt.step(closure).item()
    for _ in range(20):
        last = opt.step(closure).item()
    assert last < first


def test_float32_parameters(problem):
    p32, p64 = make_params(problem, np.float32), make_params(problem)
    for make in (lambda p: optim.Adam(p, lr=0.01, amsgrad=True), lambda p: optim.SGD(p, lr=0.1, momentum=0.9)):
        o32, o64 = make(list(p32.values())), make(list(p64.values()))
        train(o32, p32, problem, 50)
        train(o64, p64, problem, 50)
        for k in NAMES:
            assert p32[k].dtype == np.float32 and p32[k].grad.dtype == np.float32
            np.testing.assert_allclose(p32[k].data, p64[k].data, rtol=1e-3, atol=1e-4)
        assert all(buf.dtype == np.float32 for buf in o32.state_dict()["state"][0].values())


# --------------------------------------------------------- flat buffers and gradients
def test_parameters_and_gradients_are_views_of_flat_buffers(problem):
    params = make_params(problem)
    opt = optim.Adam(list(params.values()), lr=0.01)
    flat = opt._groups[0]
    for k in NAMES:
        assert np.shares_memory(params[k].data, flat.data)
        np.testing.assert_array_equal(params[k].data, problem[k])  # values copied in
        assert params[k].grad is None  # as in PyTorch, until the first backward
    train(opt, params, problem, 1)
    for k in NAMES:
        assert params[k].grad is not None and np.shares_memory(params[k].grad, flat.grad)
    opt.zero_grad()
    assert not flat.grad.any()
    assert all(params[k].grad is flat.grad_views[i] for i, k in enumerate(NAMES))
    mlp_loss(params, problem).backward()  # the engine accumulates in place into the buffer
    assert flat.grad.any() and all(np.shares_memory(params[k].grad, flat.grad) for k in NAMES)


def test_one_vectorised_update_per_group(problem, monkeypatch):
    # The performance contract: the common path calls the update once per group over the whole
    # flat buffer, whatever the number of parameters.
    calls = []
    original = optim.Adam._update

    def spy(self, hp, lr, t, run):
        calls.append((run.lo, run.hi, run.whole))
        return original(self, hp, lr, t, run)

    monkeypatch.setattr(optim.Adam, "_update", spy)
    many = [ds.tensor(np.random.default_rng(i).standard_normal(7), requires_grad=True) for i in range(50)]
    opt = optim.Adam([{"params": many[:30]}, {"params": many[30:], "lr": 0.1}])
    for _ in range(3):
        opt.zero_grad()
        sum((p * p).sum() for p in many).backward()
        opt.step()
    assert calls == [(0, 210, True), (0, 140, True)] * 3


@pytest.mark.parametrize("cls,options", GROUPED, ids=[c for c, _ in GROUPED])
def test_module_style_grad_reset_gives_the_same_trajectory(problem, cls, options):
    # Module.zero_grad() sets grads to None; backward then makes fresh arrays, which step()
    # copies into the buffer. Same numbers as the buffer-view path.
    reference = run_case(problem, 30, lambda p: getattr(optim, cls)(p, **options))
    params = make_params(problem)
    opt = getattr(optim, cls)(list(params.values()), **options)
    for i in range(30):
        if i % 2:
            opt.zero_grad(set_to_none=True)
        else:
            for p in params.values():
                p.grad = None
        mlp_loss(params, problem).backward()
        opt.step()
    assert_equal(snapshot(params), reference, f"{cls} with grads reset to None")


def test_replaced_grad_and_rebound_data_are_picked_up():
    p = ds.tensor(np.array([1.0, 2.0]), requires_grad=True)
    q = ds.tensor(np.array([3.0]), requires_grad=True)
    opt = optim.SGD([p, q], lr=0.5)
    p.grad = np.array([2.0, 2.0])  # a foreign array, not the buffer view
    q.grad = np.array([4.0])
    opt.step()
    np.testing.assert_array_equal(p.data, [0.0, 1.0])
    np.testing.assert_array_equal(q.data, [1.0])
    assert np.shares_memory(p.grad, opt._groups[0].grad)
    p.data = np.array([10.0, 20.0])  # rebound by someone else
    p.grad = p.grad * 0 + 1.0
    opt.step()
    np.testing.assert_array_equal(p.data, [9.5, 19.5])
    assert np.shares_memory(p.data, opt._groups[0].data)
    q.grad = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"parameter 1 of shape \(1,\) has a .grad of shape \(2, 2\)"):
        opt.step()
    p.data = np.zeros(5)
    q.grad = np.zeros(1)
    with pytest.raises(ValueError, match=r"rebound to data of shape \(5,\)"):
        opt.step()


@pytest.mark.parametrize("cls,options", GROUPED, ids=[c for c, _ in GROUPED])
def test_param_without_grad_is_skipped_as_in_pytorch(cls, options):
    # A parameter whose grad is None takes no part in the update: its value, its state and its
    # step count (Adam's bias correction, Adagrad's lr_decay) stay as they are. So each
    # parameter follows the trajectory of an optimizer of its own that is stepped only when
    # the parameter has a gradient.
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s) for s in [(3,), (2, 2), (4,)]]
    targets = [rng.standard_normal(x.shape) for x in init]
    make = getattr(optim, cls)
    joint = [ds.tensor(x.copy(), requires_grad=True) for x in init]
    opt = make(joint, lr=0.05, **options)
    alone = [ds.tensor(x.copy(), requires_grad=True) for x in init]
    alone_opts = [make([p], lr=0.05, **options) for p in alone]
    for t in range(12):
        present = [True, t % 3 == 0, t % 2 == 1]  # the 2nd and 3rd miss some steps
        for p in joint:
            p.grad = None
        sum(((p - y) ** 2).sum() for p, y, u in zip(joint, targets, present) if u).backward()
        opt.step()
        for p, y, o, u in zip(alone, targets, alone_opts, present):
            if u:
                p.grad = None
                ((p - y) ** 2).sum().backward()
                o.step()
    for a, b in zip(joint, alone):
        np.testing.assert_array_equal(a.data, b.data)
    steps = [opt.state[p]["step"] for p in joint]
    assert steps == [12, 4, 6]


def test_skipped_params_excluded_from_clip_norm():
    a = ds.tensor(np.array([3.0, 4.0]), requires_grad=True)
    b = ds.tensor(np.array([100.0]), requires_grad=True)
    opt = optim.SGD([a, b], lr=1.0, clip_norm=1.0)
    b.grad = np.array([1000.0])
    opt.step()  # b's grad is now the buffer view holding 1000 (clipped)
    b.grad = None
    a.grad = np.array([3.0, 4.0])
    before = b.data.copy()
    opt.step()
    assert opt.last_grad_norm == pytest.approx(5.0)
    np.testing.assert_array_equal(b.data, before)
    assert b.grad is None


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_skipped_params_match_pytorch_live():
    import torch

    rng = np.random.default_rng(1)
    init = [rng.standard_normal(4), rng.standard_normal(3)]
    for cls, options in [("Adam", {"amsgrad": True}), ("Adagrad", {"lr_decay": 0.1}),
                         ("SGD", {"momentum": 0.9, "dampening": 0.5})]:
        tp = [torch.tensor(x.copy(), requires_grad=True) for x in init]
        dp = [ds.tensor(x.copy(), requires_grad=True) for x in init]
        topt = getattr(torch.optim, cls)(tp, lr=0.1, foreach=False, **options)
        dopt = getattr(optim, cls)(dp, lr=0.1, **options)
        for t in range(10):
            use_second = t % 3 == 2
            topt.zero_grad()
            dopt.zero_grad(set_to_none=True)
            ((tp[0] ** 3).sum() + ((tp[1] ** 2).sum() if use_second else 0)).backward()
            ((dp[0] ** 3).sum() + ((dp[1] ** 2).sum() if use_second else 0)).backward()
            topt.step()
            dopt.step()
        for a, b in zip(dp, tp):
            np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12, err_msg=cls)
