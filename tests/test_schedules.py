"""Tests for descend.optim.schedules.

Reference values: tests/fixtures/schedules.npz, made by
tests/fixtures/make_schedule_fixtures.py from torch.optim.lr_scheduler (the
learning rate of each of up to 1001 updates, for 35 configurations).  The
live tests rerun PyTorch when it is importable.
"""

from __future__ import annotations

import importlib.util
import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from descend.optim import schedules as S

FIXTURES = Path(__file__).parent / "fixtures"
RTOL = 1e-12  # PyTorch's recursive (chainable) formulas differ from the closed forms by < 5e-14


def _load_fixture() -> tuple[list[dict], dict[str, np.ndarray]]:
    with np.load(FIXTURES / "schedules.npz", allow_pickle=False) as z:
        meta = json.loads(str(z["cases_json"]))
        arrays = {c["id"]: z[c["id"]] for c in meta["cases"]}
    return meta["cases"], arrays


CASES, REFERENCE = _load_fixture()


def _build(spec: dict) -> S.Schedule:
    """Build the descend schedule a fixture case names (nested specs allowed)."""
    kwargs = {
        k: _build(v) if isinstance(v, dict) and "fn" in v else v for k, v in spec["kwargs"].items()
    }
    return getattr(S, spec["fn"])(**kwargs)


def _sequence(schedule, n: int) -> np.ndarray:
    return np.array([schedule(t) for t in range(n)], dtype=np.float64)


# ---------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------


def test_fixture_covers_every_torch_scheduler():
    names = set()
    for c in CASES:
        spec = c["torch"]
        names.add(spec["scheduler"])
        if spec["scheduler"] == "SequentialLR":
            names.update(s["scheduler"] for s in spec["schedulers"])
    assert names >= {
        "LinearLR",
        "PolynomialLR",
        "ExponentialLR",
        "StepLR",
        "MultiStepLR",
        "CosineAnnealingLR",
        "CosineAnnealingWarmRestarts",
        "OneCycleLR",
        "SequentialLR",
    }
    assert all(REFERENCE[c["id"]].shape == (c["n"],) for c in CASES)
    assert (FIXTURES / "schedules.npz").stat().st_size < 500_000


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_torch_fixture(case):
    got = _sequence(_build(case["descend"]), case["n"])
    np.testing.assert_allclose(got, REFERENCE[case["id"]], rtol=RTOL, atol=0.0)


@pytest.fixture(scope="module")
def maker():
    """The fixture-making script as a module (needs torch)."""
    pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location(
        "make_schedule_fixtures", FIXTURES / "make_schedule_fixtures.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_torch_live(case, maker):
    live_case = next(c for c in maker.CASES if c["id"] == case["id"])
    assert live_case == case, "fixture is stale: rerun tests/fixtures/make_schedule_fixtures.py"
    live = maker.torch_lrs(live_case)
    np.testing.assert_allclose(
        _sequence(_build(case["descend"]), case["n"]), live, rtol=RTOL, atol=0.0
    )
    np.testing.assert_allclose(REFERENCE[case["id"]], live, rtol=1e-15, atol=0.0)


# ---------------------------------------------------------------------------
# conventions: schedule(0) == init, schedule(total_steps) == final, clamped after
# ---------------------------------------------------------------------------

DECAYS = [
    ("linear", S.linear(0.1, 0.0, 1000), 0.1, 0.0, 1000),
    ("linear_to_1e-3", S.linear(0.1, 1e-3, 7), 0.1, 1e-3, 7),
    ("linear_up", S.linear(1e-3, 0.3, 33), 1e-3, 0.3, 33),
    ("polynomial_p2", S.polynomial(0.1, 1e-4, 1000, power=2.0), 0.1, 1e-4, 1000),
    ("polynomial_p0.3", S.polynomial(0.7, 0.01, 13, power=0.3), 0.7, 0.01, 13),
    ("cosine", S.cosine(0.1, 1000), 0.1, 0.0, 1000),
    ("cosine_to_1e-4", S.cosine(0.1, 999, final=1e-4), 0.1, 1e-4, 999),
    ("cosine_T1", S.cosine(0.3, 1, final=0.1), 0.3, 0.1, 1),
    ("exponential", S.exponential(0.1, final=1e-4, total_steps=1000), 0.1, 1e-4, 1000),
    ("exponential_up", S.exponential(1e-5, final=1.0, total_steps=77), 1e-5, 1.0, 77),
]


@pytest.mark.parametrize("name, schedule, init, final, total", DECAYS, ids=[d[0] for d in DECAYS])
def test_decay_starts_at_init_and_ends_exactly_at_final(name, schedule, init, final, total):
    assert schedule(0) == init
    assert schedule(total) == final
    assert schedule(total + 1) == final
    assert schedule(10 * total + 12345) == final
    if total > 1:
        inside = schedule(total - 1)
        assert min(init, final) <= inside <= max(init, final) and inside != final


@pytest.mark.parametrize("name, schedule, init, final, total", DECAYS, ids=[d[0] for d in DECAYS])
def test_decay_is_monotone(name, schedule, init, final, total):
    values = _sequence(schedule, total + 3)
    steps = np.diff(values) * np.sign(final - init)
    assert np.all(steps >= 0.0)


def test_linear_and_polynomial_follow_their_formulas():
    lin = S.linear(0.2, 0.05, 40)
    poly = S.polynomial(0.2, 0.05, 40, power=1.7)
    for t in range(41):
        frac = min(t, 40) / 40
        assert lin(t) == pytest.approx(0.2 + (0.05 - 0.2) * frac, rel=1e-15)
        assert poly(t) == pytest.approx((0.2 - 0.05) * (1 - frac) ** 1.7 + 0.05, rel=1e-15)


def test_lecture_formulas():
    # The lecture: linear alpha_0 (1 - t/T), exponential alpha_0 c^t,
    # cosine alpha_0 cos^2(pi t / 2T).
    lin, exp, cos = S.linear(0.3, 0.0, 50), S.exponential(0.3, 0.9), S.cosine(0.3, 50)
    for t in range(51):
        assert lin(t) == pytest.approx(0.3 * (1 - t / 50), rel=1e-14, abs=1e-17)
        assert exp(t) == pytest.approx(0.3 * 0.9**t, rel=1e-14)
        assert cos(t) == pytest.approx(
            0.3 * math.cos(math.pi / 2 * t / 50) ** 2, rel=1e-12, abs=1e-17
        )


def test_exponential_final_form_equals_gamma_form_until_total_steps():
    by_final = S.exponential(0.1, final=1e-3, total_steps=200)
    by_gamma = S.exponential(0.1, (1e-3 / 0.1) ** (1 / 200))
    np.testing.assert_allclose(_sequence(by_final, 201), _sequence(by_gamma, 201), rtol=1e-13)
    assert (
        by_gamma(400) < by_final(400) == 1e-3
    )  # gamma form keeps decaying, final form is clamped


def test_step_and_multistep_boundaries():
    s = S.step(0.1, step_size=30, gamma=0.5)
    assert [s(t) for t in (0, 29, 30, 59, 60)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    m = S.multistep(1.0, [10, 25], gamma=0.1)
    assert [m(t) for t in (0, 9, 10, 24, 25, 10_000)] == [
        1.0,
        1.0,
        0.1,
        0.1,
        1.0 * 0.1**2,
        1.0 * 0.1**2,
    ]
    assert S.multistep(0.4, [])(123) == 0.4


def test_constant():
    c = S.constant(0.02)
    assert c(0) == c(1) == c(10**9) == 0.02
    assert type(S.constant(1)(5)) is float


# ---------------------------------------------------------------------------
# inverse_sqrt, cosine_restarts, one_cycle
# ---------------------------------------------------------------------------

INVERSE_SQRT = [(0.1, 1.0), (0.5, 4000.0), (1e-3, 17.0), (2.0, 0.5)]


@pytest.mark.parametrize("init, offset", INVERSE_SQRT)
def test_inverse_sqrt_formula(init, offset):
    s = S.inverse_sqrt(init, offset=offset)
    assert s(0) == init
    for t in [1, 2, 3, 10, 99, 1000, 12345, 10**7]:
        assert s(t) == pytest.approx(init / math.sqrt((t + offset) / offset), rel=1e-15)


def test_inverse_sqrt_default_is_lecture_formula_with_1_based_updates():
    s = S.inverse_sqrt(0.3)
    for t in range(1, 100):  # the lecture's update number t = our step + 1
        assert s(t - 1) == pytest.approx(0.3 / math.sqrt(t), rel=1e-15)


def test_inverse_sqrt_with_warmup_is_fairseq_schedule():
    lr, warm = 5e-4, 4000
    s = S.warmup(warm, S.inverse_sqrt(lr, offset=warm))
    for t in [0, 1, 2000, 3999]:
        assert s(t) == pytest.approx(lr * t / warm, rel=1e-15, abs=0)
    for t in [4000, 4001, 10_000, 123_456]:
        assert s(t) == pytest.approx(lr * math.sqrt(warm) / math.sqrt(t), rel=1e-14)


def test_cosine_restarts_restart_points():
    s = S.cosine_restarts(0.1, T_0=10, T_mult=2, final=0.01)
    restarts = [0, 10, 30, 70, 150, 310]
    for r in restarts:
        assert s(r) == 0.1
    for a, b in zip(restarts, restarts[1:]):
        t_i = b - a
        assert s(b - 1) == pytest.approx(
            0.01 + 0.09 * (1 + math.cos(math.pi * (t_i - 1) / t_i)) / 2, rel=1e-14
        )
        assert 0.01 < s(b - 1) < s(a + 1) < 0.1
    equal = S.cosine_restarts(0.1, T_0=25)
    np.testing.assert_array_equal(_sequence(equal, 25), _sequence(equal, 100)[75:])


ONE_CYCLE = [
    dict(max_lr=0.1, total_steps=1000),
    dict(max_lr=0.1, total_steps=1000, anneal="linear"),
    dict(max_lr=0.1, total_steps=1000, three_phase=True),
    dict(
        max_lr=2.0,
        total_steps=100,
        pct_start=0.5,
        div_factor=4.0,
        final_div_factor=10.0,
        anneal="linear",
    ),
]


@pytest.mark.parametrize(
    "kwargs", ONE_CYCLE, ids=lambda k: "-".join(f"{a}={b}" for a, b in k.items())
)
def test_one_cycle_shape(kwargs):
    s = S.one_cycle(**kwargs)
    total, max_lr = kwargs["total_steps"], kwargs["max_lr"]
    initial = max_lr / kwargs.get("div_factor", 25.0)
    min_lr = initial / kwargs.get("final_div_factor", 1e4)
    peak_step = round(kwargs.get("pct_start", 0.3) * total) - 1
    assert s(0) == pytest.approx(initial, rel=1e-15)  # PyTorch's cos formula is 1 ulp off here
    assert s(peak_step) == pytest.approx(max_lr, rel=1e-15)
    values = _sequence(s, total + 5)
    assert values.max() == pytest.approx(max_lr, rel=1e-15)
    assert s(total - 1) == pytest.approx(
        min_lr, rel=1e-12
    )  # PyTorch: phases end at total_steps - 1
    assert s(total) == s(total + 1) == s(10 * total) == min_lr
    if kwargs.get("three_phase"):
        assert s(2 * peak_step) == pytest.approx(initial, rel=1e-12)


# ---------------------------------------------------------------------------
# warmup and join
# ---------------------------------------------------------------------------


def test_warmup_boundaries():
    then = S.cosine(0.1, 900, final=1e-4)
    s = S.warmup(100, then, start=1e-3)
    assert s(0) == 1e-3
    assert s(50) == pytest.approx(1e-3 + (0.1 - 1e-3) * 0.5, rel=1e-15)
    assert s(99) == pytest.approx(1e-3 + (0.1 - 1e-3) * 0.99, rel=1e-15)
    assert s(99) < s(100) == then(0) == 0.1
    for k in [1, 2, 450, 899, 900, 901, 5000]:
        assert s(100 + k) == then(k)
    assert s(1000) == 1e-4  # cosine after a warm-up ends at warm-up + total_steps


def test_warmup_default_start_is_zero_and_accepts_floats_and_callables():
    assert S.warmup(10, 0.5)(0) == 0.0
    assert S.warmup(10, 0.5)(5) == 0.25
    assert S.warmup(10, 0.5)(10) == S.warmup(10, 0.5)(10**6) == 0.5
    s = S.warmup(4, lambda t: 1.0 / (t + 1))
    assert [s(t) for t in range(7)] == [0.0, 0.25, 0.5, 0.75, 1.0, 0.5, 1.0 / 3]


def test_warmup_zero_steps_is_then():
    then = S.exponential(0.2, 0.97)
    s = S.warmup(0, then, start=0.01)
    np.testing.assert_array_equal(_sequence(s, 50), _sequence(then, 50))


def test_join_each_schedule_sees_step_minus_boundary():
    a, b, c = S.constant(0.5), S.linear(0.1, 0.0, 10), S.exponential(0.2, 0.5)
    s = S.join([a, b, c], [5, 20])
    expected = {
        0: 0.5,
        4: 0.5,
        5: b(0),
        6: b(1),
        15: b(10),
        19: b(14),
        20: c(0),
        21: c(1),
        25: c(5),
    }
    for t, v in expected.items():
        assert s(t) == v, t
    assert S.join([0.3], [])(17) == 0.3
    assert S.join([0.3, lambda t: 0.01 * t], [3])(10) == 0.07


def test_join_is_warmup_with_linear_first():
    then = S.cosine(0.1, 200)
    joined = S.join([S.linear(0.0, 0.1, 50), then], [50])
    np.testing.assert_allclose(
        _sequence(joined, 300), _sequence(S.warmup(50, then), 300), rtol=1e-15, atol=0
    )


# ---------------------------------------------------------------------------
# types, vectorised evaluation, as_schedule, repr and pickling
# ---------------------------------------------------------------------------

ALL = [
    S.constant(0.1),
    S.linear(0.1, 0.0, 100),
    S.polynomial(0.1, 0.0, 100, power=2),
    S.exponential(1, 0.9),
    S.exponential(0.1, final=0.001, total_steps=100),
    S.inverse_sqrt(1, offset=10),
    S.step(1, 10, gamma=0.5),
    S.multistep(1, [10, 20]),
    S.cosine(1, 100, final=0.01),
    S.cosine_restarts(1, 10, T_mult=2),
    S.one_cycle(1, 100),
    S.one_cycle(1, 100, anneal="linear", three_phase=True),
    S.warmup(10, S.cosine(1, 100)),
    S.join([S.constant(1), S.linear(1, 0, 50)], [10]),
    S.as_schedule(lambda t: 0.1),
]
ALL_IDS = [repr(s).split("(")[0] + str(i) for i, s in enumerate(ALL)]


@pytest.mark.parametrize("schedule", ALL, ids=ALL_IDS)
def test_returns_python_float(schedule):
    for t in [0, 1, 9, 10, 11, 99, 100, 101, np.int64(5), np.int32(150)]:
        value = schedule(t)
        assert type(value) is float
        assert math.isfinite(value) and value >= 0.0


@pytest.mark.parametrize("schedule", ALL, ids=ALL_IDS)
def test_vectorised_evaluation(schedule):
    steps = np.arange(250).reshape(10, 25)
    values = schedule(steps)
    assert values.dtype == np.float64 and values.shape == (10, 25)
    np.testing.assert_array_equal(values.ravel(), _sequence(schedule, 250))


@pytest.mark.parametrize("schedule", ALL[:-1], ids=ALL_IDS[:-1])
def test_repr_rebuilds_and_pickle_roundtrips(schedule):
    rebuilt = eval(repr(schedule), vars(S))
    clone = pickle.loads(pickle.dumps(schedule))
    np.testing.assert_array_equal(_sequence(rebuilt, 150), _sequence(schedule, 150))
    np.testing.assert_array_equal(_sequence(clone, 150), _sequence(schedule, 150))


def test_as_schedule():
    c = S.as_schedule(0.01)
    assert c(0) == c(1000) == 0.01
    assert S.as_schedule(3)(2) == 3.0 and type(S.as_schedule(3)(2)) is float
    assert S.as_schedule(np.float32(0.5))(0) == 0.5
    cos = S.cosine(0.1, 10)
    assert S.as_schedule(cos) is cos
    wrapped = S.as_schedule(lambda t: np.float32(0.5) ** t)
    assert wrapped(1) == 0.5 and type(wrapped(1)) is float


AS_SCHEDULE_ERRORS = [
    ("not callable", "0.1", TypeError, r"lr must be a float or a callable"),
    ("none", None, TypeError, r"lr must be a float or a callable"),
    ("bool", True, TypeError, r"lr must be a float or a callable"),
    ("negative", -0.1, ValueError, r"lr must be a finite learning rate >= 0"),
    ("nan", float("nan"), ValueError, r"lr must be a finite learning rate >= 0"),
    ("returns str", lambda t: "fast", TypeError, r"must return a real learning rate"),
    ("returns negative", lambda t: -1.0, ValueError, r"finite learning rate >= 0"),
    ("returns inf", lambda t: math.inf, ValueError, r"finite learning rate >= 0"),
]


@pytest.mark.parametrize(
    "name, lr, error, match", AS_SCHEDULE_ERRORS, ids=[e[0] for e in AS_SCHEDULE_ERRORS]
)
def test_as_schedule_errors(name, lr, error, match):
    with pytest.raises(error, match=match):
        S.as_schedule(lr)


def test_callable_checked_at_every_step():
    s = S.as_schedule(lambda t: 0.1 if t < 3 else -0.1)
    assert s(2) == 0.1
    with pytest.raises(ValueError, match=r"returned -0.1"):
        s(3)


STEP_ERRORS = [
    (-1, ValueError, r"step must be >= 0"),
    (1.0, TypeError, r"step must be a non-negative integer"),
    ("3", TypeError, r"step must be a non-negative integer"),
    (np.array([0, -2]), ValueError, r"steps must be >= 0"),
    (np.array([0.0, 1.0]), TypeError, r"integer dtype"),
]


@pytest.mark.parametrize("bad, error, match", STEP_ERRORS, ids=[repr(e[0]) for e in STEP_ERRORS])
@pytest.mark.parametrize(
    "schedule", [S.cosine(0.1, 10), S.as_schedule(lambda t: 0.1)], ids=["cosine", "callable"]
)
def test_bad_steps(schedule, bad, error, match):
    with pytest.raises(error, match=match):
        schedule(bad)


# ---------------------------------------------------------------------------
# validation of hyperparameters
# ---------------------------------------------------------------------------

ERRORS = [
    (
        "constant negative",
        S.constant,
        dict(lr=-1e-3),
        ValueError,
        r"constant: lr must be a finite learning rate >= 0",
    ),
    ("constant inf", S.constant, dict(lr=math.inf), ValueError, r"constant: lr must be a finite"),
    ("constant str", S.constant, dict(lr="0.1"), TypeError, r"constant: lr must be a real number"),
    (
        "linear total 0",
        S.linear,
        dict(init=0.1, final=0.0, total_steps=0),
        ValueError,
        r"linear: total_steps must be a positive integer .*pass total_steps >= 1",
    ),
    (
        "linear total float",
        S.linear,
        dict(init=0.1, final=0.0, total_steps=10.0),
        TypeError,
        r"linear: total_steps must be an integer",
    ),
    (
        "linear negative final",
        S.linear,
        dict(init=0.1, final=-0.1, total_steps=10),
        ValueError,
        r"linear: final must be a finite learning rate >= 0",
    ),
    (
        "linear negative init",
        S.linear,
        dict(init=-0.1, final=0.0, total_steps=10),
        ValueError,
        r"linear: init must be",
    ),
    (
        "polynomial total -5",
        S.polynomial,
        dict(init=0.1, final=0.0, total_steps=-5),
        ValueError,
        r"polynomial: total_steps must be a positive integer",
    ),
    (
        "polynomial power 0",
        S.polynomial,
        dict(init=0.1, final=0.0, total_steps=5, power=0.0),
        ValueError,
        r"polynomial: power must be a finite number > 0",
    ),
    (
        "exponential gamma 0",
        S.exponential,
        dict(init=0.1, gamma=0.0),
        ValueError,
        r"exponential: gamma must be a finite number > 0.*gamma=0.99",
    ),
    (
        "exponential gamma -0.5",
        S.exponential,
        dict(init=0.1, gamma=-0.5),
        ValueError,
        r"exponential: gamma must be",
    ),
    (
        "exponential nothing",
        S.exponential,
        dict(init=0.1),
        ValueError,
        r"exponential: give either gamma .*or both final and total_steps",
    ),
    (
        "exponential both forms",
        S.exponential,
        dict(init=0.1, gamma=0.9, final=0.01, total_steps=10),
        ValueError,
        r"exponential: give either gamma .*not both",
    ),
    (
        "exponential final only",
        S.exponential,
        dict(init=0.1, final=0.01),
        ValueError,
        r"exponential: give either gamma",
    ),
    (
        "exponential final 0",
        S.exponential,
        dict(init=0.1, final=0.0, total_steps=10),
        ValueError,
        r"exponential: .*init and final must be > 0",
    ),
    (
        "exponential total 0",
        S.exponential,
        dict(init=0.1, final=0.01, total_steps=0),
        ValueError,
        r"exponential: total_steps must be a positive integer",
    ),
    (
        "inverse_sqrt offset 0",
        S.inverse_sqrt,
        dict(init=0.1, offset=0),
        ValueError,
        r"inverse_sqrt: offset must be a finite number > 0",
    ),
    (
        "inverse_sqrt negative",
        S.inverse_sqrt,
        dict(init=-0.1),
        ValueError,
        r"inverse_sqrt: init must be",
    ),
    (
        "step size 0",
        S.step,
        dict(init=0.1, step_size=0),
        ValueError,
        r"step: step_size must be a positive integer",
    ),
    (
        "step gamma 0",
        S.step,
        dict(init=0.1, step_size=3, gamma=0.0),
        ValueError,
        r"step: gamma must be a finite number > 0",
    ),
    (
        "multistep not increasing",
        S.multistep,
        dict(init=0.1, milestones=[30, 20]),
        ValueError,
        r"multistep: milestones must be strictly increasing.*sort them",
    ),
    (
        "multistep duplicate",
        S.multistep,
        dict(init=0.1, milestones=[10, 10]),
        ValueError,
        r"multistep: milestones must be strictly increasing",
    ),
    (
        "multistep zero",
        S.multistep,
        dict(init=0.1, milestones=[0, 10]),
        ValueError,
        r"multistep: milestones must be positive",
    ),
    (
        "multistep float",
        S.multistep,
        dict(init=0.1, milestones=[10.5]),
        TypeError,
        r"multistep: milestones must contain integers",
    ),
    (
        "multistep gamma",
        S.multistep,
        dict(init=0.1, milestones=[10], gamma=-1),
        ValueError,
        r"multistep: gamma must be",
    ),
    (
        "cosine total 0",
        S.cosine,
        dict(init=0.1, total_steps=0),
        ValueError,
        r"cosine: total_steps must be a positive integer",
    ),
    (
        "cosine negative final",
        S.cosine,
        dict(init=0.1, total_steps=10, final=-1e-5),
        ValueError,
        r"cosine: final must be",
    ),
    (
        "restarts T_0 0",
        S.cosine_restarts,
        dict(init=0.1, T_0=0),
        ValueError,
        r"cosine_restarts: T_0 must be a positive integer",
    ),
    (
        "restarts T_mult 0",
        S.cosine_restarts,
        dict(init=0.1, T_0=10, T_mult=0),
        ValueError,
        r"cosine_restarts: T_mult must be an integer >= 1.*T_mult=2",
    ),
    (
        "restarts T_mult 1.5",
        S.cosine_restarts,
        dict(init=0.1, T_0=10, T_mult=1.5),
        TypeError,
        r"cosine_restarts: T_mult must be an integer",
    ),
    (
        "one_cycle total 0",
        S.one_cycle,
        dict(max_lr=0.1, total_steps=0),
        ValueError,
        r"one_cycle: total_steps must be a positive integer",
    ),
    (
        "one_cycle negative lr",
        S.one_cycle,
        dict(max_lr=-0.1, total_steps=10),
        ValueError,
        r"one_cycle: max_lr must be",
    ),
    (
        "one_cycle pct 1.5",
        S.one_cycle,
        dict(max_lr=0.1, total_steps=10, pct_start=1.5),
        ValueError,
        r"one_cycle: pct_start must be a fraction between 0 and 1",
    ),
    (
        "one_cycle div 0",
        S.one_cycle,
        dict(max_lr=0.1, total_steps=10, div_factor=0),
        ValueError,
        r"one_cycle: div_factor must be a finite number > 0",
    ),
    (
        "one_cycle final div",
        S.one_cycle,
        dict(max_lr=0.1, total_steps=10, final_div_factor=-1),
        ValueError,
        r"one_cycle: final_div_factor must be",
    ),
    (
        "one_cycle anneal",
        S.one_cycle,
        dict(max_lr=0.1, total_steps=10, anneal="cosine"),
        ValueError,
        r"one_cycle: anneal must be 'cos' or 'linear'",
    ),
    (
        "one_cycle 3 phase pct",
        S.one_cycle,
        dict(max_lr=0.1, total_steps=10, pct_start=0.6, three_phase=True),
        ValueError,
        r"one_cycle: .*pct_start must be <= 0.5",
    ),
    (
        "warmup negative",
        S.warmup,
        dict(steps=-1, then=0.1),
        ValueError,
        r"warmup: steps must be >= 0.*pass 0",
    ),
    (
        "warmup float steps",
        S.warmup,
        dict(steps=1.5, then=0.1),
        TypeError,
        r"warmup: steps must be an integer",
    ),
    (
        "warmup bad then",
        S.warmup,
        dict(steps=10, then="cosine"),
        TypeError,
        r"lr must be a float or a callable",
    ),
    (
        "warmup negative start",
        S.warmup,
        dict(steps=10, then=0.1, start=-0.1),
        ValueError,
        r"warmup: start must be",
    ),
    (
        "join count",
        S.join,
        dict(schedules=[0.1, 0.2], boundaries=[]),
        ValueError,
        r"join: boundaries must have one entry fewer than schedules.*2 schedules and 0 boundaries",
    ),
    (
        "join empty",
        S.join,
        dict(schedules=[], boundaries=[]),
        ValueError,
        r"join: schedules must contain",
    ),
    (
        "join order",
        S.join,
        dict(schedules=[0.1, 0.2, 0.3], boundaries=[20, 10]),
        ValueError,
        r"join: boundaries must be strictly increasing",
    ),
    (
        "join zero",
        S.join,
        dict(schedules=[0.1, 0.2], boundaries=[0]),
        ValueError,
        r"join: boundaries must be positive",
    ),
    (
        "join bad schedule",
        S.join,
        dict(schedules=[0.1, None], boundaries=[5]),
        TypeError,
        r"lr must be a float or a callable",
    ),
]


@pytest.mark.parametrize("name, fn, kwargs, error, match", ERRORS, ids=[e[0] for e in ERRORS])
def test_validation_errors(name, fn, kwargs, error, match):
    with pytest.raises(error, match=match):
        fn(**kwargs)
