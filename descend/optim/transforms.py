"""The optimizers' updates as small composable transforms over flat buffers (optax's ``chain``).

This is the readable specification of every update. A transform maps the update ``u`` (at
first the gradient ``g``) of one run of parameters to a new update, reading and writing the
optimizer state it owns; ``chain(t1, t2, ...)`` applies them in order, and
``apply_updates`` finally adds the result to the parameters. Each optimizer is one chain that
reads like its equations, e.g. PyTorch's Adam::

    chain(add_decayed_weights(wd),          # u <- g + wd theta
          scale_by_adam(b1, b2, eps),       # u <- s / (sqrt(r) + eps sqrt(bc2)), factor sqrt(bc2)/bc1
          scale_by_learning_rate(),         # u <- u * (-lr * factor)
          apply_updates())                  # theta <- theta + u

All work is in place, with ``out=``, in the buffers of a :class:`~descend.optim.optimizer.Run`
(the gradient itself is never written: the first transform that changes ``u`` writes a
scratch buffer). Scalars (learning rate, bias corrections) are computed once per step in
Python floats by :func:`step_scalars`-style helpers of each optimizer, and both this NumPy
path and the fused C kernel of ``descend.kernels`` receive the very same numbers: the C
kernel does, element by element, exactly the float operations listed here in the same order,
so the two paths are bit-identical (``tests/test_kernels.py`` checks it on random cases).

The two denominators of the adaptive methods are transforms of their own:
``rms_outside`` is PyTorch's ``sqrt(r) + eps``, ``rms_inside`` the lecture's
``sqrt(r + eps)``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = [
    "Transform", "chain", "add_decayed_weights", "decay_weights", "ema", "ema_lerp",
    "ema_square", "running_max", "rms_outside", "rms_inside", "scale_by_adagrad",
    "scale_by_rms", "scale_by_adam", "adam_scalars", "momentum", "trace", "nesterov_lookahead", "scale_by_learning_rate", "apply_updates",
    "lerp_",
]

# A transform: (u, run) -> new u. ``run`` is the Run being updated: its ``p`` (parameters),
# ``g`` (gradient), ``state(name)``, ``tmp(i)`` (scratch), ``lr``, ``t`` and ``factor``.
Transform = Callable[[np.ndarray, "object"], np.ndarray]

# Scratch buffers: 0 the decayed gradient, 1 denominators, 2 the update.
_DECAYED, _DEN, _UPDATE = 0, 1, 2


def chain(*transforms: Transform | None) -> Transform:
    """The composition: ``chain(f, g)(u) = g(f(u))``; ``None`` entries are skipped."""
    steps = tuple(t for t in transforms if t is not None)

    def chained(u, run):
        for step in steps:
            u = step(u, run)
        return u

    return chained


def add_decayed_weights(weight_decay: float) -> Transform | None:
    """L2 regularisation: ``u <- u + weight_decay * theta`` (None when weight_decay is 0)."""
    if weight_decay == 0.0:
        return None

    def f(u, run):
        d = run.tmp(_DECAYED)
        np.multiply(run.p, weight_decay, out=d)
        np.add(u, d, out=d)
        return d

    return f


def decay_weights(weight_decay: float) -> Transform | None:
    """Decoupled weight decay (AdamW): ``theta <- theta * (1 - lr * weight_decay)``; u unchanged."""
    if weight_decay == 0.0:
        return None

    def f(u, run):
        np.multiply(run.p, 1 - run.lr * weight_decay, out=run.p)
        return u

    return f


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, tmp: np.ndarray) -> None:
    """``start <- start + weight * (end - start)`` in place, with PyTorch's ``lerp`` formula.

    PyTorch uses ``end - (end - start) * (1 - weight)`` for ``|weight| >= 0.5``, which is exact
    at ``weight = 1``. ``tmp`` is scratch of the same shape.
    """
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        np.multiply(tmp, weight, out=tmp)
        np.add(start, tmp, out=start)
    else:
        np.multiply(tmp, 1 - weight, out=tmp)
        np.subtract(end, tmp, out=start)


def ema_lerp(s: np.ndarray, u: np.ndarray, beta: float, tmp: np.ndarray) -> np.ndarray:
    """PyTorch's moving average ``s <- s + (1 - beta)(u - s)`` (its ``lerp``); returns s."""
    lerp_(s, u, 1 - beta, tmp)
    return s


def ema(s: np.ndarray, u: np.ndarray, beta: float, tmp: np.ndarray) -> np.ndarray:
    """The lecture's moving average ``s <- beta s + (1 - beta) u``; returns s."""
    np.multiply(s, beta, out=s)
    np.multiply(u, 1 - beta, out=tmp)
    np.add(s, tmp, out=s)
    return s


def ema_square(r: np.ndarray, u: np.ndarray, beta: float, tmp: np.ndarray, lecture: bool) -> np.ndarray:
    """``r <- beta r + (1 - beta) u^2``: PyTorch rounds ``((1 - beta) u) u``, the lecture
    ``(u u)(1 - beta)``. Returns r."""
    if lecture:
        np.multiply(u, u, out=tmp)
        np.multiply(tmp, 1 - beta, out=tmp)
    else:
        np.multiply(u, 1 - beta, out=tmp)
        np.multiply(tmp, u, out=tmp)
    np.multiply(r, beta, out=r)
    np.add(r, tmp, out=r)
    return r


def running_max(r_max: np.ndarray, r: np.ndarray) -> np.ndarray:
    """AMSGrad: ``r_max <- max(r_max, r)``; returns r_max (used in place of r)."""
    np.maximum(r_max, r, out=r_max)
    return r_max


def rms_outside(r: np.ndarray, eps: float, out: np.ndarray) -> np.ndarray:
    """PyTorch's denominator ``sqrt(r) + eps``."""
    np.sqrt(r, out=out)
    np.add(out, eps, out=out)
    return out


def rms_inside(r: np.ndarray, eps: float, out: np.ndarray) -> np.ndarray:
    """The lecture's denominator ``sqrt(r + eps)`` (eps inside the square root)."""
    np.add(r, eps, out=out)
    np.sqrt(out, out=out)
    return out


def _divide(u: np.ndarray, den: np.ndarray, run) -> np.ndarray:
    out = run.tmp(_UPDATE)
    np.divide(u, den, out=out)
    return out


def scale_by_adagrad(eps: float, lecture: bool, initial: float) -> Transform:
    """AdaGrad: ``r <- r + u^2``; ``u <- u / den(r)`` (den: ``rms_inside`` for the lecture,
    ``rms_outside`` for PyTorch); r starts at ``initial``."""
    rms = rms_inside if lecture else rms_outside

    def f(u, run):
        r = run.state("sum", initial)
        a = run.tmp(_DEN)
        np.multiply(u, u, out=a)
        np.add(r, a, out=r)
        return _divide(u, rms(r, eps, a), run)

    return f


def scale_by_rms(alpha: float, eps: float, centered: bool, lecture: bool) -> Transform:
    """RMSProp: ``r <- alpha r + (1 - alpha) u^2``; centered: ``m <- alpha m + (1 - alpha) u``
    (PyTorch: its lerp) and r - m^2 replaces r in the denominator; ``u <- u / den``."""
    rms = rms_inside if lecture else rms_outside

    def f(u, run):
        a = run.tmp(_DEN)
        r = ema_square(run.state("square_avg"), u, alpha, a, lecture)
        if centered:
            m = run.state("grad_avg")
            (ema if lecture else ema_lerp)(m, u, alpha, a)
            np.multiply(m, m, out=a)
            np.subtract(r, a, out=a)  # r - m^2
            r = a
        return _divide(u, rms(r, eps, a), run)

    return f


def scale_by_adam(beta1: float, beta2: float, eps: float, amsgrad: bool, lecture: bool) -> Transform:
    """Adam: ``s <- EMA_beta1(u)``, ``r <- EMA_beta2(u^2)`` (AMSGrad: r its running max), then
    ``u <- s / den`` and the step factor ``run.factor <- 1 / bc1`` with the lecture's
    ``den = sqrt(r / bc2 + eps)``; PyTorch's ``(s / bc1) / (sqrt(r) / sqrt(bc2) + eps)`` is the
    same quotient with ``den = sqrt(r) + eps sqrt(bc2)`` and ``factor = sqrt(bc2) / bc1`` (one
    pass fewer). ``bc_k = 1 - beta_k^t``."""

    def f(u, run):
        a = run.tmp(_DEN)
        s = (ema if lecture else ema_lerp)(run.state("exp_avg"), u, beta1, a)
        r = ema_square(run.state("exp_avg_sq"), u, beta2, a, lecture)
        if amsgrad:
            r = running_max(run.state("max_exp_avg_sq"), r)
        bc2, den_eps, run.factor = adam_scalars(beta1, beta2, eps, run.t, lecture)
        if lecture:
            np.divide(r, bc2, out=a)
            den = rms_inside(a, eps, a)
        else:
            den = rms_outside(r, den_eps, a)
        return _divide(s, den, run)

    return f


def adam_scalars(beta1: float, beta2: float, eps: float, t: int, lecture: bool) -> tuple[float, float, float]:
    """(bc2, the eps added to the denominator, the step factor) of Adam's update number t."""
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    if lecture:
        return bias_correction2, eps, 1 / bias_correction1
    c = bias_correction2**0.5
    return bias_correction2, eps * c, c / bias_correction1


def momentum(mu: float, dampening: float, nesterov: bool) -> Transform:
    """PyTorch's momentum on ``v`` (state "momentum_buffer"): ``v <- u`` at the first update,
    then ``v <- mu v + (1 - dampening) u``; the update is ``u + mu v`` with Nesterov, else v."""

    def f(u, run):
        v = run.state("momentum_buffer")
        if run.t == 1:
            np.copyto(v, u)
        else:
            np.multiply(v, mu, out=v)
            if dampening != 0.0:
                step = run.tmp(_UPDATE)
                np.multiply(u, 1.0 - dampening, out=step)
                np.add(v, step, out=v)
            else:
                np.add(v, u, out=v)
        if not nesterov:
            return v
        step = run.tmp(_UPDATE)
        np.multiply(v, mu, out=step)
        np.add(u, step, out=step)  # u + mu v
        return step

    return f


def trace(mu: float, keep_update: bool = False) -> Transform:
    """The lecture's momentum (and RMSprop's): ``v <- mu v + u`` from v = 0 (state
    "momentum_buffer"); the update becomes v, or stays u with ``keep_update`` (the lecture's
    Nesterov step, which uses v only for the look-ahead, see ``nesterov_lookahead``)."""

    def f(u, run):
        v = run.state("momentum_buffer")
        np.multiply(v, mu, out=v)
        np.add(v, u, out=v)
        return u if keep_update else v

    return f


def scale_by_learning_rate() -> Transform:
    """``u <- u * (-lr * factor)`` (factor: a step factor set by an earlier transform, e.g.
    Adam's bias correction; 1 otherwise)."""

    def f(u, run):
        out = run.tmp(_UPDATE)
        np.multiply(u, run.step_size(), out=out)
        return out

    return f


def apply_updates() -> Transform:
    """``theta <- theta + u``."""

    def f(u, run):
        np.add(run.p, u, out=run.p)
        return u

    return f


def nesterov_lookahead(mu: float) -> Transform:
    """The lecture's Nesterov step, after ``theta <- theta - lr g`` (the gradient step taken
    as ``chain(scale_by_learning_rate(), apply_updates())`` on the gradient): the look-ahead
    of the next iteration ``theta <- theta - lr_next mu v`` with that iteration's learning
    rate, so the parameters are where the next gradient is evaluated."""

    def f(u, run):
        step = run.tmp(_UPDATE)
        np.multiply(run.state("momentum_buffer"), -run.lr_next * mu, out=step)
        np.add(run.p, step, out=run.p)
        return u

    return f
