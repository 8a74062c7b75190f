"""Learning-rate schedules as pure functions of the update number.

A *schedule* is any callable ``schedule(step) -> float`` (optax style).  ``step``
is the 0-based number of the optimizer update that is about to happen, so the
first update uses ``schedule(0)`` and update ``t`` uses ``schedule(t)``.  The
optimizer calls the schedule once per update; the schedule itself keeps no
state, so it can be evaluated at any step, in any order, and plotted.

Conventions (see the "Learning-rate schedules" section of the lecture):

* ``schedule(0)`` is the initial learning rate ``init``;
* a decay from ``init`` to ``final`` over ``total_steps`` updates reaches
  ``final`` *exactly* at ``schedule(total_steps)`` -- the first update after
  training -- and stays there (it is clamped, never extrapolated);
* this is what ``torch.optim.lr_scheduler`` gives when ``scheduler.step()`` is
  called after every ``optimizer.step()``: update ``t`` uses the learning rate
  after ``t`` scheduler steps.

Every constructor here returns a :class:`Schedule`, a small callable object
that returns a Python ``float``, has a ``repr`` that rebuilds it, pickles, and
also accepts a NumPy integer array of steps (returning a float64 array of the
same shape).  Any plain Python callable is a valid schedule too; use
:func:`as_schedule` to turn a float or a callable into a validated schedule.

Only ``math``, ``numbers``, ``bisect`` and NumPy are used.
"""

from __future__ import annotations

import bisect
import math
import numbers
from typing import Any, Callable, Sequence, Union

import numpy as np

__all__ = [
    "Schedule",
    "ScheduleLike",
    "as_schedule",
    "constant",
    "linear",
    "polynomial",
    "exponential",
    "inverse_sqrt",
    "step",
    "multistep",
    "cosine",
    "cosine_restarts",
    "one_cycle",
    "warmup",
    "join",
]

#: What an ``lr`` argument accepts: a float or a callable ``step -> float``.
ScheduleLike = Union[float, Callable[[int], float]]


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _lr(fn: str, name: str, value: Any) -> float:
    """Validate a learning rate: a finite real number >= 0."""
    if not _is_real(value):
        raise TypeError(
            f"{fn}: {name} must be a real number (a learning rate), got "
            f"{value!r} of type {type(value).__name__}"
        )
    value = float(value)
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(
            f"{fn}: {name} must be a finite learning rate >= 0, got {value!r}; "
            f"pass a non-negative float such as 0.01"
        )
    return value


def _positive_int(fn: str, name: str, value: Any, what: str) -> int:
    """Validate an integer >= 1."""
    if not _is_int(value):
        raise TypeError(
            f"{fn}: {name} must be an integer ({what}), got {value!r} of type "
            f"{type(value).__name__}"
        )
    if value <= 0:
        raise ValueError(
            f"{fn}: {name} must be a positive integer ({what}), got {value}; " f"pass {name} >= 1"
        )
    return int(value)


def _positive_real(fn: str, name: str, value: Any, fix: str) -> float:
    """Validate a finite real number > 0."""
    if not _is_real(value):
        raise TypeError(
            f"{fn}: {name} must be a real number, got {value!r} of type " f"{type(value).__name__}"
        )
    value = float(value)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"{fn}: {name} must be a finite number > 0, got {value!r}; {fix}")
    return value


def _increasing_ints(fn: str, name: str, values: Any) -> tuple[int, ...]:
    """Validate a strictly increasing sequence of positive integers."""
    try:
        items = tuple(values)
    except TypeError:
        raise TypeError(f"{fn}: {name} must be a sequence of integers, got {values!r}") from None
    for v in items:
        if not _is_int(v):
            raise TypeError(
                f"{fn}: {name} must contain integers (update numbers), got {v!r} "
                f"of type {type(v).__name__}"
            )
    if items and items[0] <= 0:
        raise ValueError(
            f"{fn}: {name} must be positive update numbers, got {list(items)}; "
            f"remove the entries <= 0"
        )
    for a, b in zip(items, items[1:]):
        if b <= a:
            raise ValueError(
                f"{fn}: {name} must be strictly increasing, got {list(items)}; "
                f"sort them and remove duplicates"
            )
    return tuple(int(v) for v in items)


def _check_step(step: Any) -> int:
    """Validate one step (a 0-based update number) and return it as an int."""
    if not _is_int(step):
        raise TypeError(
            f"schedule: step must be a non-negative integer (the 0-based update "
            f"number), got {step!r} of type {type(step).__name__}"
        )
    t = int(step)
    if t < 0:
        raise ValueError(f"schedule: step must be >= 0 (the first update is step 0), got {t}")
    return t


# ---------------------------------------------------------------------------
# base class
# ---------------------------------------------------------------------------


class Schedule:
    """A learning-rate schedule: a pure, callable map ``step -> float``.

    Subclasses implement :meth:`_value` for a validated ``int`` step ``t >= 0``
    and list their constructor arguments in ``_fields`` (used by ``repr``).
    Calling the schedule with an integer returns a Python ``float``; calling it
    with a NumPy integer array returns a float64 array of the same shape.
    """

    _name = "schedule"
    _fields: tuple[str, ...] = ()

    def __call__(self, step: Any) -> Any:
        if isinstance(step, np.ndarray):
            return self._evaluate_array(step)
        return self._value(_check_step(step))

    def _value(self, t: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _evaluate_array(self, steps: np.ndarray) -> np.ndarray:
        if steps.dtype.kind not in "iu":
            raise TypeError(
                f"schedule: an array of steps must have an integer dtype, got " f"{steps.dtype}"
            )
        if steps.size and steps.min() < 0:
            raise ValueError(
                f"schedule: steps must be >= 0 (the first update is step 0), got "
                f"min {int(steps.min())}"
            )
        out = np.fromiter(
            (self._value(int(t)) for t in steps.ravel()),
            dtype=np.float64,
            count=steps.size,
        )
        return out.reshape(steps.shape)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._fields)
        return f"{self._name}({args})"


# ---------------------------------------------------------------------------
# schedules
# ---------------------------------------------------------------------------


class _Constant(Schedule):
    _name = "constant"
    _fields = ("lr",)

    def __init__(self, lr: float) -> None:
        self.lr = lr

    def _value(self, t: int) -> float:
        return self.lr


def constant(lr: float) -> Schedule:
    """Constant learning rate: ``alpha_t = lr``.

    PyTorch: no scheduler (or ``LambdaLR(lambda t: 1.0)``); optax:
    ``constant_schedule``.
    """
    return _Constant(_lr("constant", "lr", lr))


class _Linear(Schedule):
    _name = "linear"
    _fields = ("init", "final", "total_steps")

    def __init__(self, init: float, final: float, total_steps: int) -> None:
        self.init = init
        self.final = final
        self.total_steps = total_steps

    def _value(self, t: int) -> float:
        if t >= self.total_steps:
            return self.final
        return self.init + (self.final - self.init) * t / self.total_steps


def linear(init: float, final: float, total_steps: int) -> Schedule:
    """Linear interpolation from ``init`` to ``final``, then constant.

    ``alpha_t = init + (final - init) * min(t, T) / T`` with ``T = total_steps``,
    so ``alpha_0 = init`` and ``alpha_t = final`` for every ``t >= T``.  With
    ``final = 0`` this is the lecture's linear decay
    ``alpha_t = alpha_0 (1 - t / T)``; with ``final > init`` it is a linear
    warm-up.

    PyTorch: ``LinearLR(start_factor=1, end_factor=final/init, total_iters=T)``
    with base lr ``init`` (a decay), or ``LinearLR(start_factor=init/final,
    end_factor=1, total_iters=T)`` with base lr ``final`` (a warm-up); optax:
    ``linear_schedule(init, final, T)``.
    """
    fn = "linear"
    return _Linear(
        _lr(fn, "init", init),
        _lr(fn, "final", final),
        _positive_int(fn, "total_steps", total_steps, "the number of updates to decay over"),
    )


class _Polynomial(Schedule):
    _name = "polynomial"
    _fields = ("init", "final", "total_steps", "power")

    def __init__(self, init: float, final: float, total_steps: int, power: float) -> None:
        self.init = init
        self.final = final
        self.total_steps = total_steps
        self.power = power

    def _value(self, t: int) -> float:
        if t == 0:
            return self.init
        if t >= self.total_steps:
            return self.final
        decay = (1.0 - t / self.total_steps) ** self.power
        return (self.init - self.final) * decay + self.final


def polynomial(init: float, final: float, total_steps: int, power: float = 1.0) -> Schedule:
    """Polynomial decay from ``init`` to ``final`` over ``total_steps`` updates.

    ``alpha_t = (init - final) * (1 - min(t, T) / T) ** power + final`` with
    ``T = total_steps`` (``power = 1`` is linear decay, ``power = 0.5`` a
    square-root decay, ``power = 2`` a quadratic one).  ``alpha_0 = init`` and
    ``alpha_t = final`` for every ``t >= T``.

    PyTorch: ``PolynomialLR(total_iters=T, power=power)`` with base lr ``init``
    (only ``final = 0``); Keras: ``PolynomialDecay(init, T, final, power)``;
    optax: ``polynomial_schedule(init, final, power, T)``.
    """
    fn = "polynomial"
    return _Polynomial(
        _lr(fn, "init", init),
        _lr(fn, "final", final),
        _positive_int(fn, "total_steps", total_steps, "the number of updates to decay over"),
        _positive_real(fn, "power", power, "pass e.g. power=1.0 for linear decay"),
    )


class _Exponential(Schedule):
    _name = "exponential"
    _fields = ("init", "gamma", "final", "total_steps")

    def __init__(
        self,
        init: float,
        gamma: float | None,
        final: float | None,
        total_steps: int | None,
    ) -> None:
        self.init = init
        self.gamma = gamma
        self.final = final
        self.total_steps = total_steps

    def _value(self, t: int) -> float:
        if self.total_steps is None:
            return self.init * self.gamma**t
        if t >= self.total_steps:
            return self.final
        return self.init * (self.final / self.init) ** (t / self.total_steps)


def exponential(
    init: float,
    gamma: float | None = None,
    *,
    final: float | None = None,
    total_steps: int | None = None,
) -> Schedule:
    """Exponential decay, given either per-step ``gamma`` or ``final`` and ``total_steps``.

    * ``exponential(init, gamma)``: ``alpha_t = init * gamma ** t`` for all
      ``t`` (the lecture's ``alpha_0 c^t``; ``gamma > 1`` grows, as in an
      LR range test).  PyTorch: ``ExponentialLR(gamma)``; optax:
      ``exponential_decay(init, transition_steps=1, decay_rate=gamma)``.
    * ``exponential(init, final=..., total_steps=T)``:
      ``alpha_t = init * (final / init) ** (t / T)`` for ``t < T`` and
      ``alpha_t = final`` for ``t >= T`` -- i.e. ``gamma = (final/init) ** (1/T)``,
      reaching ``final`` exactly at step ``T`` and then clamped there.
      PyTorch: ``ExponentialLR(gamma=(final/init) ** (1/T))`` up to step ``T``
      (it keeps decaying afterwards).

    Exactly one of the two forms must be given.
    """
    fn = "exponential"
    init = _lr(fn, "init", init)
    if gamma is not None:
        if final is not None or total_steps is not None:
            raise ValueError(
                f"{fn}: give either gamma (per-step factor) or final and "
                f"total_steps, not both; got gamma={gamma!r}, final={final!r}, "
                f"total_steps={total_steps!r}"
            )
        gamma = _positive_real(
            fn, "gamma", gamma, "pass the per-step factor, e.g. gamma=0.99 for 1% decay per update"
        )
        return _Exponential(init, gamma, None, None)
    if final is None or total_steps is None:
        raise ValueError(
            f"{fn}: give either gamma (per-step factor), or both final and "
            f"total_steps; got gamma=None, final={final!r}, total_steps={total_steps!r}"
        )
    final = _lr(fn, "final", final)
    total_steps = _positive_int(
        fn, "total_steps", total_steps, "the number of updates to decay over"
    )
    if init == 0.0 or final == 0.0:
        raise ValueError(
            f"{fn}: with final and total_steps both init and final must be > 0 "
            f"(an exponential never reaches or leaves 0), got init={init!r}, "
            f"final={final!r}; use a small positive final such as init * 1e-3, "
            f"or polynomial/cosine to decay to 0"
        )
    return _Exponential(init, None, final, total_steps)


class _InverseSqrt(Schedule):
    _name = "inverse_sqrt"
    _fields = ("init", "offset")

    def __init__(self, init: float, offset: float) -> None:
        self.init = init
        self.offset = offset

    def _value(self, t: int) -> float:
        return self.init * math.sqrt(self.offset / (t + self.offset))


def inverse_sqrt(init: float, offset: float = 1.0) -> Schedule:
    """Inverse square-root decay.

    ``alpha_t = init * sqrt(offset / (t + offset))``, so ``alpha_0 = init``.
    With the default ``offset = 1`` this is the lecture's
    ``alpha_0 / sqrt(t)`` where the lecture's ``t`` counts updates from 1
    (``alpha_t = init / sqrt(t + 1)``).  A larger ``offset`` slows the decay.

    Common variants are compositions:

    * fairseq / "Attention is all you need" style (linear warm-up over ``W``
      steps to ``init``, then ``init * sqrt(W / t)``):
      ``warmup(W, inverse_sqrt(init, offset=W))``;
    * T5 "rsqrt" (constant for ``W`` steps, then ``init * sqrt(W / t)``):
      ``join([constant(init), inverse_sqrt(init, offset=W)], [W])``.

    PyTorch: ``LambdaLR(lambda t: (offset / (t + offset)) ** 0.5)``; optax has
    no built-in equivalent.
    """
    fn = "inverse_sqrt"
    return _InverseSqrt(
        _lr(fn, "init", init),
        _positive_real(fn, "offset", offset, "pass offset >= 1, e.g. the number of warm-up steps"),
    )


class _Step(Schedule):
    _name = "step"
    _fields = ("init", "step_size", "gamma")

    def __init__(self, init: float, step_size: int, gamma: float) -> None:
        self.init = init
        self.step_size = step_size
        self.gamma = gamma

    def _value(self, t: int) -> float:
        return self.init * self.gamma ** (t // self.step_size)


def step(init: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """Step decay: multiply by ``gamma`` every ``step_size`` updates.

    ``alpha_t = init * gamma ** floor(t / step_size)``; defaults follow PyTorch
    (``gamma = 0.1``).

    PyTorch: ``StepLR(step_size, gamma)``; optax:
    ``exponential_decay(init, step_size, gamma, staircase=True)``.
    """
    fn = "step"
    return _Step(
        _lr(fn, "init", init),
        _positive_int(fn, "step_size", step_size, "the number of updates between decays"),
        _positive_real(fn, "gamma", gamma, "pass the decay factor, e.g. gamma=0.1"),
    )


class _MultiStep(Schedule):
    _name = "multistep"
    _fields = ("init", "milestones", "gamma")

    def __init__(self, init: float, milestones: tuple[int, ...], gamma: float) -> None:
        self.init = init
        self.milestones = milestones
        self.gamma = gamma

    def _value(self, t: int) -> float:
        return self.init * self.gamma ** bisect.bisect_right(self.milestones, t)


def multistep(init: float, milestones: Sequence[int], gamma: float = 0.1) -> Schedule:
    """Piecewise-constant decay: multiply by ``gamma`` at each milestone.

    ``alpha_t = init * gamma ** (number of milestones m with m <= t)``, so the
    update with number ``m`` is the first to use the decayed rate.
    ``milestones`` must be strictly increasing positive integers.

    PyTorch: ``MultiStepLR(milestones, gamma)``; optax:
    ``piecewise_constant_schedule(init, {m: gamma for m in milestones})``.
    """
    fn = "multistep"
    return _MultiStep(
        _lr(fn, "init", init),
        _increasing_ints(fn, "milestones", milestones),
        _positive_real(fn, "gamma", gamma, "pass the decay factor, e.g. gamma=0.1"),
    )


def _cosine_value(init: float, final: float, t_cur: float, t_i: float) -> float:
    # Same expression and evaluation order as torch's CosineAnnealing* closed form.
    return final + (init - final) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


class _Cosine(Schedule):
    _name = "cosine"
    _fields = ("init", "total_steps", "final")

    def __init__(self, init: float, total_steps: int, final: float) -> None:
        self.init = init
        self.total_steps = total_steps
        self.final = final

    def _value(self, t: int) -> float:
        if t == 0:
            return self.init
        if t >= self.total_steps:
            return self.final
        return _cosine_value(self.init, self.final, t, self.total_steps)


def cosine(init: float, total_steps: int, final: float = 0.0) -> Schedule:
    """Cosine decay from ``init`` to ``final`` over ``total_steps`` updates.

    ``alpha_t = final + (init - final) * (1 + cos(pi * t / T)) / 2`` for
    ``t < T = total_steps`` and ``alpha_t = final`` for ``t >= T``.  With
    ``final = 0`` it is the lecture's ``alpha_0 cos^2(pi t / (2T))``.
    Loshchilov & Hutter, "SGDR", ICLR 2017 (one cycle, no restart).

    PyTorch: ``CosineAnnealingLR(T_max=T, eta_min=final)`` for ``t <= T``
    (PyTorch keeps following the cosine back up afterwards; this schedule
    stays at ``final``); optax: ``cosine_decay_schedule(init, T,
    alpha=final/init)``.
    """
    fn = "cosine"
    return _Cosine(
        _lr(fn, "init", init),
        _positive_int(fn, "total_steps", total_steps, "the number of updates to decay over"),
        _lr(fn, "final", final),
    )


class _CosineRestarts(Schedule):
    _name = "cosine_restarts"
    _fields = ("init", "T_0", "T_mult", "final")

    def __init__(self, init: float, T_0: int, T_mult: int, final: float) -> None:
        self.init = init
        self.T_0 = T_0
        self.T_mult = T_mult
        self.final = final

    def _value(self, t: int) -> float:
        if self.T_mult == 1:
            t_cur, t_i = t % self.T_0, self.T_0
        else:
            t_cur, t_i = t, self.T_0
            while t_cur >= t_i:
                t_cur -= t_i
                t_i *= self.T_mult
        if t_cur == 0:
            return self.init
        return _cosine_value(self.init, self.final, t_cur, t_i)


def cosine_restarts(init: float, T_0: int, T_mult: int = 1, final: float = 0.0) -> Schedule:
    """Cosine annealing with warm restarts (SGDR).

    The ``i``-th cycle lasts ``T_i = T_0 * T_mult ** i`` updates; with
    ``T_cur`` the number of updates since the last restart,
    ``alpha_t = final + (init - final) * (1 + cos(pi * T_cur / T_i)) / 2``.
    Each cycle starts exactly at ``init`` and the last update of a cycle is
    just above ``final`` (the restart happens instead of reaching it).
    Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
    Restarts", ICLR 2017.

    PyTorch: ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min=final)``;
    optax: ``sgdr_schedule`` (with constant cycle length).
    """
    fn = "cosine_restarts"
    init = _lr(fn, "init", init)
    T_0 = _positive_int(fn, "T_0", T_0, "the length of the first cycle in updates")
    if not _is_int(T_mult):
        raise TypeError(
            f"{fn}: T_mult must be an integer (the factor by which each cycle "
            f"grows), got {T_mult!r} of type {type(T_mult).__name__}"
        )
    if T_mult < 1:
        raise ValueError(
            f"{fn}: T_mult must be an integer >= 1 (the factor by which each "
            f"cycle grows), got {T_mult}; pass T_mult=1 for equal cycles or "
            f"T_mult=2 to double them"
        )
    return _CosineRestarts(init, T_0, int(T_mult), _lr(fn, "final", final))


class _OneCycle(Schedule):
    _name = "one_cycle"
    _fields = (
        "max_lr",
        "total_steps",
        "pct_start",
        "div_factor",
        "final_div_factor",
        "anneal",
        "three_phase",
    )

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        pct_start: float,
        div_factor: float,
        final_div_factor: float,
        anneal: str,
        three_phase: bool,
    ) -> None:
        self.max_lr = max_lr
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.anneal = anneal
        self.three_phase = three_phase
        self.initial_lr = max_lr / div_factor
        self.min_lr = self.initial_lr / final_div_factor
        # (end_step, start_lr, end_lr): exactly torch.optim.lr_scheduler.OneCycleLR's phases.
        warm_end = float(pct_start * total_steps) - 1
        if three_phase:
            self._phases = (
                (warm_end, self.initial_lr, max_lr),
                (float(2 * pct_start * total_steps) - 2, max_lr, self.initial_lr),
                (total_steps - 1, self.initial_lr, self.min_lr),
            )
        else:
            self._phases = (
                (warm_end, self.initial_lr, max_lr),
                (total_steps - 1, max_lr, self.min_lr),
            )

    def _value(self, t: int) -> float:
        if t >= self.total_steps:
            return self.min_lr
        start_step = 0.0
        last = len(self._phases) - 1
        for i, (end_step, start_lr, end_lr) in enumerate(self._phases):
            if t <= end_step or i == last:
                span = end_step - start_step
                pct = (t - start_step) / span if span != 0 else 1.0
                if self.anneal == "cos":
                    return end_lr + (start_lr - end_lr) / 2.0 * (math.cos(math.pi * pct) + 1)
                return (end_lr - start_lr) * pct + start_lr
            start_step = end_step
        raise AssertionError("unreachable")  # pragma: no cover


def one_cycle(
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal: str = "cos",
    three_phase: bool = False,
) -> Schedule:
    """The 1cycle policy (Smith & Topin, "Super-Convergence", 2017; fastai).

    With ``T = total_steps``, ``initial = max_lr / div_factor`` and
    ``min_lr = initial / final_div_factor``, the learning rate anneals
    (``anneal="cos"``: ``end + (start - end) (1 + cos(pi p)) / 2``;
    ``anneal="linear"``: ``start + (end - start) p``, with ``p`` the fraction
    of the phase done) through the phases

    * two-phase (default): ``initial -> max_lr`` over steps
      ``0 .. pct_start*T - 1``, then ``max_lr -> min_lr`` until step ``T - 1``;
    * ``three_phase=True`` (the paper): ``initial -> max_lr -> initial`` over
      ``0 .. 2*pct_start*T - 2`` (symmetric), then ``initial -> min_lr`` until
      step ``T - 1``.

    As in PyTorch the phases end at step ``T - 1``, so the last update of
    training already uses ``min_lr``; for ``t >= T`` the schedule stays at
    ``min_lr``.  Defaults and values equal ``torch.optim.lr_scheduler.OneCycleLR``
    (``anneal`` is its ``anneal_strategy``) for ``t < T``; optax:
    ``cosine_onecycle_schedule`` / ``linear_onecycle_schedule``.
    """
    fn = "one_cycle"
    max_lr = _lr(fn, "max_lr", max_lr)
    total_steps = _positive_int(
        fn, "total_steps", total_steps, "the number of updates in the cycle"
    )
    if not _is_real(pct_start) or not 0.0 <= pct_start <= 1.0:
        raise ValueError(
            f"{fn}: pct_start must be a fraction between 0 and 1 (the part of "
            f"the cycle spent warming up), got {pct_start!r}; e.g. pct_start=0.3"
        )
    pct_start = float(pct_start)
    div_factor = _positive_real(
        fn, "div_factor", div_factor, "initial lr is max_lr / div_factor, e.g. 25"
    )
    final_div_factor = _positive_real(
        fn,
        "final_div_factor",
        final_div_factor,
        "min lr is initial lr / final_div_factor, e.g. 1e4",
    )
    if anneal not in ("cos", "linear"):
        raise ValueError(f"{fn}: anneal must be 'cos' or 'linear', got {anneal!r}")
    if not isinstance(three_phase, bool):
        raise TypeError(f"{fn}: three_phase must be True or False, got {three_phase!r}")
    if three_phase and pct_start > 0.5:
        raise ValueError(
            f"{fn}: with three_phase=True the warm-up and cool-down phases take "
            f"2 * pct_start of the cycle, so pct_start must be <= 0.5, got "
            f"{pct_start}; lower pct_start or use three_phase=False"
        )
    return _OneCycle(
        max_lr, total_steps, pct_start, div_factor, final_div_factor, anneal, three_phase
    )


class _Warmup(Schedule):
    _name = "warmup"
    _fields = ("steps", "then", "start")

    def __init__(self, steps: int, then: Schedule, start: float) -> None:
        self.steps = steps
        self.then = then
        self.start = start
        self.peak = then(0)

    def _value(self, t: int) -> float:
        if t >= self.steps:
            return self.then(t - self.steps)
        return self.start + (self.peak - self.start) * t / self.steps


def warmup(steps: int, then: ScheduleLike, start: float = 0.0) -> Schedule:
    """Linear warm-up for ``steps`` updates, then the schedule ``then``.

    ``alpha_t = start + (then(0) - start) * t / W`` for ``t < W = steps`` and
    ``alpha_t = then(t - W)`` for ``t >= W``: the warm-up ends exactly where
    ``then`` starts, and ``then`` sees the step counted from the end of the
    warm-up (so a ``cosine(lr, T)`` after a warm-up of ``W`` reaches its final
    value at step ``W + T``).  ``steps = 0`` means no warm-up.  ``then`` may be
    a float (a constant after the warm-up) or any schedule.

    PyTorch: ``SequentialLR([LinearLR(start_factor=start/then(0),
    end_factor=1, total_iters=W), X], milestones=[W])`` where ``X`` is the
    scheduler for ``then``; PyTorch needs ``start_factor > 0``, so
    ``start = 0`` (the default here) has no PyTorch equivalent.  optax:
    ``join_schedules([linear_schedule(start, then(0), W), then], [W])`` or
    ``warmup_cosine_decay_schedule``.
    """
    fn = "warmup"
    if not _is_int(steps):
        raise TypeError(
            f"{fn}: steps must be an integer (the number of warm-up updates), "
            f"got {steps!r} of type {type(steps).__name__}"
        )
    if steps < 0:
        raise ValueError(
            f"{fn}: steps must be >= 0 (the number of warm-up updates), got "
            f"{steps}; pass 0 for no warm-up"
        )
    return _Warmup(int(steps), as_schedule(then), _lr(fn, "start", start))


class _Join(Schedule):
    _name = "join"
    _fields = ("schedules", "boundaries")

    def __init__(self, schedules: tuple[Schedule, ...], boundaries: tuple[int, ...]) -> None:
        self.schedules = schedules
        self.boundaries = boundaries

    def _value(self, t: int) -> float:
        i = bisect.bisect_right(self.boundaries, t)
        if i == 0:
            return self.schedules[0](t)
        return self.schedules[i](t - self.boundaries[i - 1])


def join(schedules: Sequence[ScheduleLike], boundaries: Sequence[int]) -> Schedule:
    """Piecewise schedule: ``schedules[i]`` runs from ``boundaries[i-1]`` on.

    ``alpha_t = schedules[0](t)`` for ``t < b_0`` and
    ``alpha_t = schedules[i](t - b_{i-1})`` for ``b_{i-1} <= t < b_i``: each
    later schedule sees the step counted from its own boundary, and the
    update numbered ``b_{i-1}`` is the first to use ``schedules[i]`` (at its
    step 0).  ``boundaries`` must be strictly increasing positive integers,
    one fewer than ``schedules``.  Floats are accepted as constant schedules.

    optax: ``join_schedules(schedules, boundaries)``; PyTorch:
    ``SequentialLR(optimizer, schedulers, milestones=boundaries)``.
    """
    fn = "join"
    try:
        items = tuple(schedules)
    except TypeError:
        raise TypeError(
            f"{fn}: schedules must be a sequence of schedules, got {schedules!r}"
        ) from None
    if not items:
        raise ValueError(f"{fn}: schedules must contain at least one schedule, got none")
    bounds = _increasing_ints(fn, "boundaries", boundaries)
    if len(bounds) != len(items) - 1:
        raise ValueError(
            f"{fn}: boundaries must have one entry fewer than schedules (the "
            f"step where each later schedule starts), got {len(items)} "
            f"schedules and {len(bounds)} boundaries"
        )
    return _Join(tuple(as_schedule(s) for s in items), bounds)


# ---------------------------------------------------------------------------
# callables and floats
# ---------------------------------------------------------------------------


def _as_lr_value(fn: Callable[[int], Any], t: int, result: Any) -> float:
    try:
        value = float(result)
    except (TypeError, ValueError):
        raise TypeError(
            f"as_schedule: a schedule must return a real learning rate, but "
            f"{fn!r}({t}) returned {result!r} of type {type(result).__name__}"
        ) from None
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(
            f"as_schedule: a schedule must return a finite learning rate >= 0, "
            f"but {fn!r}({t}) returned {value!r}"
        )
    return value


class _FromCallable(Schedule):
    _name = "as_schedule"
    _fields = ("fn",)

    def __init__(self, fn: Callable[[int], Any]) -> None:
        self.fn = fn

    def _value(self, t: int) -> float:
        return _as_lr_value(self.fn, t, self.fn(t))

    def __repr__(self) -> str:
        return f"as_schedule({self.fn!r})"


def as_schedule(lr: ScheduleLike) -> Schedule:
    """Turn an ``lr`` argument (a float or a callable) into a :class:`Schedule`.

    * a :class:`Schedule` is returned unchanged;
    * a real number ``x`` becomes ``constant(x)`` (it must be finite and >= 0);
    * any other callable ``f`` is checked by evaluating ``f(0)`` and wrapped so
      that every call validates the step and returns a finite, non-negative
      Python ``float`` (a clear error otherwise).

    Optimizers call this on their ``lr`` argument.
    """
    if isinstance(lr, Schedule):
        return lr
    if _is_real(lr):
        return constant(lr)
    if isinstance(lr, bool) or not callable(lr):
        raise TypeError(
            f"as_schedule: lr must be a float or a callable step -> float, got "
            f"{lr!r} of type {type(lr).__name__}"
        )
    schedule = _FromCallable(lr)
    schedule(0)  # fail now, not at the first update, if it does not return an lr
    return schedule
