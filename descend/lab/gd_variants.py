"""``gd-variants``: batch, online and minibatch gradient descent on one problem.

The lecture ("Gradient Descent Variants") estimates the gradient of E(theta) = mean_i L_i(theta)
from all N examples (batch GD), one random example (online SGD) or m random examples
(minibatch SGD). The minibatch gradient is an unbiased estimate whose covariance is Sigma / m
for m examples drawn independently (Sigma: the covariance of one example's gradient), so its
expected squared error is tr(Sigma) / m. This experiment measures that with descend and then
trains the same linear regression with the three variants, plotting the loss against epochs
(examples seen) and against wall-clock time.
"""

from __future__ import annotations

import os
import time
from typing import Any, Sequence

import numpy as np

from ._common import Result, RunDir, experiment, figure, fmt, md_table

__all__ = ["gd_variants"]


def _problem(n: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Linear regression with correlated features (condition number ~ 30) and noise sd 0.5."""
    scales = np.geomspace(1.0, 1 / np.sqrt(30), d)
    x = rng.standard_normal((n, d)) * scales
    w = rng.standard_normal(d)
    y = x @ w + 0.5 * rng.standard_normal(n)
    return x, y[:, None]


def _gradient(model: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The gradient of the mean squared error on (x, y), by descend's backward, flattened."""
    from .. import functional as F
    from ..tensor import Tensor

    model.zero_grad()
    F.mse_loss(model(Tensor(x)), Tensor(y)).backward()
    return np.concatenate([p.grad.reshape(-1) for p in model.parameters()])


def _loss(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    from .. import functional as F
    from ..autograd import no_grad
    from ..tensor import Tensor

    with no_grad():
        return float(F.mse_loss(model(Tensor(x)), Tensor(y)).item())


@experiment
def gd_variants(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    n: int | None = None,
    d: int = 20,
    batch_sizes: Sequence[int] | None = None,
    draws: int | None = None,
    epochs: int | None = None,
    variant: str = "pytorch",
    verbose: bool = True,
) -> Result:
    """Gradient-estimate variance against the minibatch size, and the three variants' training.

    Args:
        n: training examples (default 2000; quick 500); d: features.
        batch_sizes: the minibatch sizes m of the variance measurement (default 1, 2, 4, ..., n).
        draws: minibatches drawn per size to estimate E||g_m - g||^2 (default 400; quick 100).
        epochs: epochs of training for each variant (default 20; quick 5).
        variant: ``"pytorch"`` or ``"lecture"``: the formulas of ``descend.optim.SGD``.

    Returns:
        a :class:`Result`; checks that the measured E||g_m - g||^2 follows tr(Sigma)/m (within
        20% at every m, slope -1 on log axes), that per epoch the online and minibatch variants
        reach a lower loss than batch GD, and that per epoch minibatch SGD takes less time than
        online SGD.
    """
    from ..nn import Linear
    from ..optim import SGD

    run = RunDir("gd-variants", out_dir, quick, verbose)
    say = run.progress
    n = int(n or (500 if quick else 4000))
    draws = int(draws or (100 if quick else 400))
    epochs = int(epochs or (5 if quick else 30))
    rng = np.random.default_rng(seed)
    x, y = _problem(n, d, rng)
    x = x.astype(np.float64)
    model = Linear(d, 1, rng=np.random.default_rng([seed, 1]), dtype=np.float64)
    init_state = [p.data.copy() for p in model.parameters()]

    # ---- the variance of the gradient estimate, at the initial parameters
    full = _gradient(model, x, y)
    per_example = np.stack([_gradient(model, x[i:i + 1], y[i:i + 1]) for i in range(n)])
    np.testing.assert_allclose(per_example.mean(axis=0), full, rtol=1e-9, atol=1e-12)
    trace_sigma = float(np.sum(per_example.var(axis=0)))  # tr(Sigma), population covariance
    if batch_sizes is None:
        batch_sizes = [m for m in (2 ** np.arange(0, 20)) if m <= n]
    batch_sizes = [int(m) for m in batch_sizes]
    measured = []
    for m in batch_sizes:
        errs = [np.sum((_gradient(model, x[idx], y[idx]) - full) ** 2)
                for idx in (rng.integers(0, n, m) for _ in range(draws))]  # with replacement
        measured.append(float(np.mean(errs)))
    measured = np.array(measured)
    theory = trace_sigma / np.array(batch_sizes)
    slope = float(np.polyfit(np.log(batch_sizes), np.log(measured), 1)[0])
    say(f"tr(Sigma) = {fmt(trace_sigma)}; E||g_m - g||^2 / (tr(Sigma)/m) from "
        f"{fmt(float((measured / theory).min()), 3)} to {fmt(float((measured / theory).max()), 3)}; "
        f"log-log slope {slope:.3f}")

    # ---- training: batch (m = n), online (m = 1) and minibatch (m = 32)
    lipschitz = 2 * float(np.linalg.eigvalsh(x.T @ x / n).max())  # curvature of the MSE
    variants = {
        "batch GD (m = N)": (n, 1.0 / lipschitz),
        "minibatch SGD (m = 32)": (32, 0.5 / lipschitz),
        "online SGD (m = 1)": (1, 0.05 / lipschitz),
    }
    w_star = np.linalg.lstsq(np.c_[x, np.ones(n)], y, rcond=None)[0]
    best = float(np.mean((np.c_[x, np.ones(n)] @ w_star - y) ** 2))
    curves: dict[str, dict[str, list[float]]] = {}
    from ..tensor import Tensor
    from .. import functional as F

    for name, (m, lr) in variants.items():
        for p, v in zip(model.parameters(), init_state):
            p.data[...] = v
        opt = SGD(model.parameters(), lr=lr, variant=variant)
        order_rng = np.random.default_rng([seed, 2])
        curve = {"epoch": [0.0], "seconds": [0.0], "excess_loss": [_loss(model, x, y) - best]}
        elapsed = 0.0
        per_epoch = max(1, n // m)
        record = max(1, per_epoch // 20)
        for epoch in range(epochs):
            perm = order_rng.permutation(n)
            for b in range(per_epoch):
                idx = perm[b * m:(b + 1) * m]
                start = time.perf_counter()
                opt.zero_grad()
                F.mse_loss(model(Tensor(x[idx])), Tensor(y[idx])).backward()
                opt.step()
                elapsed += time.perf_counter() - start
                if (b + 1) % record == 0 or b + 1 == per_epoch:
                    curve["epoch"].append(epoch + (b + 1) / per_epoch)
                    curve["seconds"].append(elapsed)
                    curve["excess_loss"].append(_loss(model, x, y) - best)
        curves[name] = curve
        say(f"{name}, lr {fmt(lr, 3)}: excess loss after 1 epoch "
            f"{fmt(_at_epoch(curve, 1.0), 3)}, after {epochs}: {fmt(curve['excess_loss'][-1], 3)}; "
            f"{elapsed / epochs * 1e3:.1f} ms per epoch")

    # ------------------------------------------------------------------------- figures
    fig, axes = figure(1, 3, figsize=(14, 4.2))
    ax = axes[0]
    ax.loglog(batch_sizes, measured, "o", label="measured E||g_m - g||^2")
    ax.loglog(batch_sizes, theory, "-", color="k", lw=1, label="tr(Sigma) / m")
    ax.set_xlabel("minibatch size m (examples drawn with replacement)")
    ax.set_ylabel("squared error of the gradient estimate")
    ax.set_title(f"Variance of the minibatch gradient, slope {slope:.2f}", fontsize=10)
    ax.legend(fontsize=8)
    colors = dict(zip(variants, ("C0", "C2", "C3")))
    for name, curve in curves.items():
        axes[1].semilogy(curve["epoch"], np.maximum(curve["excess_loss"], 1e-12), color=colors[name],
                         label=name)
        axes[2].loglog(np.array(curve["seconds"][1:]) * 1e3,
                       np.maximum(curve["excess_loss"][1:], 1e-12), color=colors[name], label=name)
    axes[1].set_xlabel("epochs (passes over the N examples)")
    axes[2].set_xlabel("wall-clock time spent in updates (ms, log scale)")
    for a in axes[1:]:
        a.set_ylabel("training loss - optimum")
        a.legend(fontsize=8)
    axes[1].set_title(f"Linear regression, N = {n}, d = {d}: per epoch", fontsize=10)
    axes[2].set_title("The same runs against time", fontsize=10)
    run.save_figure(fig, "gd_variants.png")

    run.save_csv("gradient_variance.csv", ["m", "measured", "trace_sigma_over_m"],
                 zip(batch_sizes, measured, theory))
    run.save_csv("training.csv", ["variant", "epoch", "seconds", "excess_loss"],
                 [(k, e, s, l) for k, c in curves.items()
                  for e, s, l in zip(c["epoch"], c["seconds"], c["excess_loss"])])
    ratio = measured / theory
    one = {k: _at_epoch(c, 1.0) for k, c in curves.items()}
    ms_per_epoch = {k: c["seconds"][-1] / epochs * 1e3 for k, c in curves.items()}
    names = list(variants)
    checks = {
        "E||g_m - g||^2 = tr(Sigma)/m within 20% at every m": bool(np.all(np.abs(ratio - 1) < 0.2)),
        "log-log slope of the variance against m is -1 (within 0.1)": abs(slope + 1) < 0.1,
        "after one epoch, online and minibatch SGD are below batch GD":
            one[names[1]] < one[names[0]] and one[names[2]] < one[names[0]],
        "an epoch of minibatch SGD takes less time than an epoch of online SGD":
            ms_per_epoch[names[1]] < ms_per_epoch[names[2]],
    }
    data: dict[str, Any] = {
        "n": n, "d": d, "draws": draws, "epochs": epochs, "variant": variant, "seed": seed,
        "trace_sigma": trace_sigma, "batch_sizes": batch_sizes, "measured_sq_error": measured,
        "theory_sq_error": theory, "slope": slope,
        "learning_rates": {k: v[1] for k, v in variants.items()},
        "batch": {k: v[0] for k, v in variants.items()},
        "curves": curves, "excess_loss_after_one_epoch": one, "ms_per_epoch": ms_per_epoch,
    }
    summary = f"""
Linear regression (N = {n} examples, d = {d} correlated features, noise sd 0.5), trained with
`descend.optim.SGD` (variant `{variant}`) on the mean squared error.

**Variance of the gradient estimate.** At the initial parameters, each example's gradient is
computed with descend's `backward()`; their covariance Sigma has trace {fmt(trace_sigma)}. For
each m, {draws} minibatches of m examples drawn with replacement give E||g_m - g||^2, which
follows tr(Sigma)/m (ratio {fmt(float(ratio.min()), 3)}..{fmt(float(ratio.max()), 3)}, log-log
slope {slope:.3f}): quadrupling the minibatch halves the gradient's standard error.

**Training.** Each variant at its own stable learning rate (1/L, 0.5/L, 0.05/L, with L the
MSE's largest curvature), {epochs} epochs from the same initialisation:

{md_table(["variant", "lr", "loss - optimum after 1 epoch", f"after {epochs} epochs", "ms per epoch"],
          [[k, variants[k][1], one[k], curves[k]['excess_loss'][-1], ms_per_epoch[k]] for k in names])}

Per example seen, the noisy small-batch estimates make far more progress than batch GD (one
update per epoch); per second, minibatches win over single examples because an update of 32
examples costs little more than an update of one.
"""
    return run.finish(data, summary, checks)


def _at_epoch(curve: dict[str, list[float]], epoch: float) -> float:
    i = int(np.argmin(np.abs(np.array(curve["epoch"]) - epoch)))
    return float(curve["excess_loss"][i])
