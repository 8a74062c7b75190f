"""``weight-decay``: L2 regularisation (DLB fig. 5.5).

A degree-12 polynomial is fitted to the 15 noisy samples of the ``capacity`` experiment,
minimising MSE + (lambda / 2) ||w||^2 for a sweep of lambda (descend's ``weight_decay``). With
lambda = 0 it overfits wildly; a moderate lambda gives a smooth fit with a far lower test error
(at a higher training error: regularisation lowers generalisation error, not training error);
a large lambda underfits.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import Result, RunDir, experiment, figure, fmt, md_table
from ._poly import fit_polynomial, sample, true_function

__all__ = ["weight_decay"]


@experiment
def weight_decay(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    n_train: int = 15,
    noise: float = 0.3,
    degree: int = 12,
    lambdas: Sequence[float] | None = None,
    steps: int | None = None,
    verbose: bool = True,
) -> Result:
    """Train a high-degree polynomial with a sweep of weight-decay strengths.

    Args:
        out_dir: run directory (default ``runs/lab/weight-decay``).
        quick: fewer strengths and steps.
        seed: seeds the data (the same data as ``capacity`` with the same seed).
        degree: the polynomial degree.
        lambdas: the weight-decay strengths (0 is always added).
        steps: full-batch optimisation steps per model.

    Returns:
        a :class:`Result` with train and test MSE per lambda and
        ``checks["weight decay lowers the test error"]``.
    """
    run = RunDir("weight-decay", out_dir, quick, verbose)
    say = run.progress
    rng = np.random.default_rng(seed)
    if lambdas is None:
        lambdas = [1e-5, 1e-3, 1e-2, 1e-1, 1.0, 10.0] if quick else list(np.logspace(-7, 1, 17))
    lambdas = [0.0] + sorted(float(v) for v in lambdas if v > 0)
    if steps is None:
        steps = 600 if quick else 3000

    x, y = sample(n_train, noise, rng)
    x_test, y_test = sample(2000, noise, rng)
    fits = []
    for lam in lambdas:
        fit = fit_polynomial(x, y, degree, x_test, y_test, steps, weight_decay=lam)
        fits.append(fit)
        say(f"lambda {lam:8.2g}: train MSE {fit.train_mse:.4g}, test MSE {fit.test_mse:.4g}, "
            f"||w|| {np.linalg.norm(fit.model.coef.data):.3g}")
    train = np.array([f.train_mse for f in fits])
    test = np.array([f.test_mse for f in fits])
    norms = np.array([np.linalg.norm(f.model.coef.data) for f in fits])
    best = int(np.argmin(test))

    # ------------------------------------------------------------------------- figures
    grid = np.linspace(-1, 1, 400)
    large = len(lambdas) - 1
    shown = list(dict.fromkeys([0, best, large]))
    names = {0: "no weight decay (overfits)", best: "best lambda", large: "large lambda (underfits)"}
    fig, axes = figure(1, len(shown), figsize=(3.4 * len(shown), 3.1), sharey=True)
    for ax, i in zip(np.atleast_1d(axes), shown):
        ax.plot(grid, true_function(grid), color="0.6", lw=1.5, label="sin(pi x)")
        ax.plot(grid, fits[i].model.predict(grid), color="C3", lw=1.5, label=f"degree {degree}")
        ax.scatter(x, y, s=14, color="C0", zorder=3, label="training data")
        ax.set_ylim(-2.0, 2.0)
        ax.set_title(f"{names[i]}\nlambda = {lambdas[i]:.3g}, test MSE {fits[i].test_mse:.3g}",
                     fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="lower right")
    run.save_figure(fig, "fits.png")

    fig, (ax, ax2) = figure(1, 2, figsize=(10, 3.8))
    pos = np.array(lambdas[1:])
    zero_x = pos[0] / 10
    ax.loglog(pos, train[1:], "o-", color="C0", label="training error")
    ax.loglog(pos, test[1:], "s-", color="C1", label="test error")
    ax.loglog([zero_x], [train[0]], "o", color="C0", mfc="none")
    ax.loglog([zero_x], [test[0]], "s", color="C1", mfc="none")
    ax.annotate("lambda = 0", (zero_x, test[0]), textcoords="offset points", xytext=(4, -12),
                fontsize=8)
    ax.axvline(lambdas[best], color="0.5", ls=":", label=f"best lambda {lambdas[best]:.2g}")
    ax.axhline(noise**2, color="0.7", ls="--", lw=1, label="noise variance")
    ax.set_xlabel("weight decay lambda")
    ax.set_ylabel("mean squared error")
    ax.set_title(f"Degree-{degree} polynomial, N = {n_train}")
    ax.legend(fontsize=8)
    ax2.loglog(pos, norms[1:], "o-", color="C2")
    ax2.loglog([zero_x], [norms[0]], "o", color="C2", mfc="none")
    ax2.set_xlabel("weight decay lambda")
    ax2.set_ylabel("||w||")
    ax2.set_title("Norm of the coefficients")
    run.save_figure(fig, "error_vs_lambda.png")

    run.save_csv("error_vs_lambda.csv", ["lambda", "train_mse", "test_mse", "coef_norm", "optimum_train_mse"],
                 [(lam, f.train_mse, f.test_mse, nrm, f.lstsq_train_mse)
                  for lam, f, nrm in zip(lambdas, fits, norms)])
    checks = {
        "weight decay lowers the test error": bool(test[best] < test[0] and best > 0),
        "weight decay raises the training error": bool(train[best] >= train[0]),
        "a large lambda underfits (test error above the best)": bool(test[large] > test[best]),
    }
    data: dict[str, Any] = {
        "degree": degree, "n_train": n_train, "noise": noise, "steps": steps, "seed": seed,
        "lambdas": lambdas, "train_mse": train, "test_mse": test, "coef_norm": norms,
        "best_lambda": lambdas[best],
    }
    summary = f"""
A degree-{degree} polynomial trained by descend (full-batch Nesterov SGD, {steps} steps,
`weight_decay=lambda`, i.e. the penalty (lambda/2)||w||^2) on N={n_train} noisy samples of
sin(pi x). Without weight decay the test MSE is {fmt(test[0])}; the best lambda,
{lambdas[best]:.3g}, brings it down to **{fmt(test[best])}** while the training MSE rises from
{fmt(train[0])} to {fmt(train[best])}. At lambda = {lambdas[large]:.3g} the model underfits
(test MSE {fmt(test[large])}).

{md_table(["lambda", "train MSE", "test MSE", "||w||"],
          [(f"{lam:.3g}", f.train_mse, f.test_mse, nrm) for lam, f, nrm in zip(lambdas, fits, norms)])}
"""
    return run.finish(data, summary, checks)
