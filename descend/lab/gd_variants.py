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
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import Result, RunDir, by_mode, experiment, figure, fmt, md_table

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

    run = RunDir("gd-variants", out_dir, quick, verbose)
    say = run.progress
    n = int(by_mode(n, quick, 500, 4000))
    draws = int(by_mode(draws, quick, 100, 400))
    epochs = int(by_mode(epochs, quick, 5, 30))
    rng = np.random.default_rng(seed)
    x, y = _problem(n, d, rng)
    x = x.astype(np.float64)
    model = Linear(d, 1, rng=np.random.default_rng([seed, 1]), dtype=np.float64)
    if batch_sizes is None:
        batch_sizes = [m for m in (2 ** np.arange(0, 20)) if m <= n]
    batch_sizes = [int(m) for m in batch_sizes]
    var = _variance(model, x, y, batch_sizes, draws, rng)
    ratio = var["measured"] / var["theory"]
    say(f"tr(Sigma) = {fmt(var['trace_sigma'])}; E||g_m - g||^2 / (tr(Sigma)/m) from "
        f"{fmt(float(ratio.min()), 3)} to {fmt(float(ratio.max()), 3)}; log-log slope {var['slope']:.3f}")

    lipschitz = 2 * float(np.linalg.eigvalsh(x.T @ x / n).max())  # curvature of the MSE
    variants = {
        "batch GD (m = N)": (n, 1.0 / lipschitz),
        "minibatch SGD (m = 32)": (32, 0.5 / lipschitz),
        "online SGD (m = 1)": (1, 0.05 / lipschitz),
    }
    w_star = np.linalg.lstsq(np.c_[x, np.ones(n)], y, rcond=None)[0]
    best = float(np.mean((np.c_[x, np.ones(n)] @ w_star - y) ** 2))
    init_state = [p.data.copy() for p in model.parameters()]
    curves: dict[str, dict[str, list[float]]] = {}
    for name, (m, lr) in variants.items():
        for p, v in zip(model.parameters(), init_state):
            p.data[...] = v
        curves[name] = _train(model, x, y, m, lr, epochs, best, variant, np.random.default_rng([seed, 2]))
        say(f"{name}, lr {fmt(lr, 3)}: excess loss after 1 epoch "
            f"{fmt(_at_epoch(curves[name], 1.0), 3)}, after {epochs}: {fmt(curves[name]['excess_loss'][-1], 3)}; "
            f"{curves[name]['seconds'][-1] / epochs * 1e3:.1f} ms per epoch")

    _figure(run, var, batch_sizes, curves, n, d)
    run.save_csv("gradient_variance.csv", ["m", "measured", "trace_sigma_over_m"],
                 zip(batch_sizes, var["measured"], var["theory"]))
    run.save_csv("training.csv", ["variant", "epoch", "seconds", "excess_loss"],
                 [(k, e, s, l) for k, c in curves.items()
                  for e, s, l in zip(c["epoch"], c["seconds"], c["excess_loss"])])
    one = {k: _at_epoch(c, 1.0) for k, c in curves.items()}
    ms_per_epoch = {k: c["seconds"][-1] / epochs * 1e3 for k, c in curves.items()}
    names = list(variants)
    checks = {
        "E||g_m - g||^2 = tr(Sigma)/m within 20% at every m": bool(np.all(np.abs(ratio - 1) < 0.2)),
        "log-log slope of the variance against m is -1 (within 0.1)": abs(var["slope"] + 1) < 0.1,
        "after one epoch, online and minibatch SGD are below batch GD":
            max(one[names[1]], one[names[2]]) < one[names[0]],
        "an epoch of minibatch SGD takes less time than an epoch of online SGD":
            ms_per_epoch[names[1]] < ms_per_epoch[names[2]],
    }
    data: dict[str, Any] = {
        "n": n, "d": d, "draws": draws, "epochs": epochs, "variant": variant, "seed": seed,
        "trace_sigma": var["trace_sigma"], "batch_sizes": batch_sizes,
        "measured_sq_error": var["measured"], "theory_sq_error": var["theory"], "slope": var["slope"],
        "learning_rates": {k: v[1] for k, v in variants.items()},
        "batch": {k: v[0] for k, v in variants.items()},
        "curves": curves, "excess_loss_after_one_epoch": one, "ms_per_epoch": ms_per_epoch,
    }
    return run.finish(data, _summary(data, ratio), checks)


def _variance(model: Any, x: np.ndarray, y: np.ndarray, batch_sizes: list[int], draws: int,
              rng: np.random.Generator) -> dict[str, Any]:
    """E||g_m - g||^2 over ``draws`` minibatches per size m (drawn with replacement), and
    tr(Sigma) from the per-example gradients, all at the model's current parameters."""
    n = len(x)
    full = _gradient(model, x, y)
    per_example = np.stack([_gradient(model, x[i:i + 1], y[i:i + 1]) for i in range(n)])
    np.testing.assert_allclose(per_example.mean(axis=0), full, rtol=1e-9, atol=1e-12)
    trace_sigma = float(np.sum(per_example.var(axis=0)))  # tr(Sigma), population covariance
    measured = []
    for m in batch_sizes:
        errs = [np.sum((_gradient(model, x[idx], y[idx]) - full) ** 2)
                for idx in (rng.integers(0, n, m) for _ in range(draws))]
        measured.append(float(np.mean(errs)))
    measured = np.array(measured)
    slope = float(np.polyfit(np.log(batch_sizes), np.log(measured), 1)[0])
    return {"trace_sigma": trace_sigma, "measured": measured,
            "theory": trace_sigma / np.array(batch_sizes), "slope": slope}


def _train(model: Any, x: np.ndarray, y: np.ndarray, m: int, lr: float, epochs: int, best: float,
           variant: str, order_rng: np.random.Generator) -> dict[str, list[float]]:
    """SGD on minibatches of m (a permutation per epoch); the excess loss ~20 times per epoch
    and the time spent in the updates."""
    from .. import functional as F
    from ..optim import SGD
    from ..tensor import Tensor

    n = len(x)
    opt = SGD(model.parameters(), lr=lr, variant=variant)
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
    return curve


def _figure(run: RunDir, var: dict[str, Any], batch_sizes: list[int],
            curves: dict[str, dict[str, list[float]]], n: int, d: int) -> None:
    fig, axes = figure(1, 3, figsize=(14, 4.2))
    ax = axes[0]
    ax.loglog(batch_sizes, var["measured"], "o", label="measured E||g_m - g||^2")
    ax.loglog(batch_sizes, var["theory"], "-", color="k", lw=1, label="tr(Sigma) / m")
    ax.set_xlabel("minibatch size m (examples drawn with replacement)")
    ax.set_ylabel("squared error of the gradient estimate")
    ax.set_title(f"Variance of the minibatch gradient, slope {var['slope']:.2f}", fontsize=10)
    ax.legend(fontsize=8)
    for name, color in zip(curves, ("C0", "C2", "C3")):
        curve = curves[name]
        axes[1].semilogy(curve["epoch"], np.maximum(curve["excess_loss"], 1e-12), color=color,
                         label=name)
        axes[2].loglog(np.array(curve["seconds"][1:]) * 1e3,
                       np.maximum(curve["excess_loss"][1:], 1e-12), color=color, label=name)
    axes[1].set_xlabel("epochs (passes over the N examples)")
    axes[2].set_xlabel("wall-clock time spent in updates (ms, log scale)")
    for a in axes[1:]:
        a.set_ylabel("training loss - optimum")
        a.legend(fontsize=8)
    axes[1].set_title(f"Linear regression, N = {n}, d = {d}: per epoch", fontsize=10)
    axes[2].set_title("The same runs against time", fontsize=10)
    run.save_figure(fig, "gd_variants.png")


def _summary(data: dict[str, Any], ratio: np.ndarray) -> str:
    names = list(data["learning_rates"])
    epochs = data["epochs"]
    table = md_table(["variant", "lr", "loss - optimum after 1 epoch", f"after {epochs} epochs", "ms per epoch"],
                     [[k, data["learning_rates"][k], data["excess_loss_after_one_epoch"][k],
                       data["curves"][k]["excess_loss"][-1], data["ms_per_epoch"][k]] for k in names])
    return f"""
Linear regression (N = {data['n']} examples, d = {data['d']} correlated features, noise sd 0.5),
trained with `descend.optim.SGD` (variant `{data['variant']}`) on the mean squared error.

**Variance of the gradient estimate.** At the initial parameters, each example's gradient is
computed with descend's `backward()`; their covariance Sigma has trace {fmt(data['trace_sigma'])}.
For each m, {data['draws']} minibatches of m examples drawn with replacement give
E||g_m - g||^2, which follows tr(Sigma)/m (ratio {fmt(float(ratio.min()), 3)}..{fmt(float(ratio.max()), 3)},
log-log slope {data['slope']:.3f}): quadrupling the minibatch halves the gradient's standard error.

**Training.** Each variant at its own stable learning rate (1/L, 0.5/L, 0.05/L, with L the
MSE's largest curvature), {epochs} epochs from the same initialisation:

{table}

Per example seen, the noisy small-batch estimates make far more progress than batch GD (one
update per epoch); per second, minibatches win over single examples because an update of 32
examples costs little more than an update of one.
"""


def _at_epoch(curve: dict[str, list[float]], epoch: float) -> float:
    i = int(np.argmin(np.abs(np.array(curve["epoch"]) - epoch)))
    return float(curve["excess_loss"][i])
