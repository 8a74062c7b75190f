"""``capacity``: underfitting and overfitting (DLB fig. 5.2/5.3, PRML fig. 1.6).

Polynomials of degree 0..12 are fitted (trained by descend) to 15 noisy samples of sin(pi x).
Low degrees underfit (high training and test error), high degrees overfit (training error
falls towards zero while test error rises): the test error is U-shaped in the capacity. For a
fixed high-degree model, the overfitting shrinks as the training set grows.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import Result, RunDir, by_mode, experiment, figure, fmt, md_table
from ._poly import fit_polynomial, sample, true_function

__all__ = ["capacity"]


@experiment
def capacity(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    n_train: int = 15,
    noise: float = 0.3,
    degrees: Sequence[int] | None = None,
    size_degree: int = 9,
    sizes: Sequence[int] | None = None,
    steps: int | None = None,
    repeats: int | None = None,
    verbose: bool = True,
) -> Result:
    """Train polynomial models of increasing degree and of increasing training-set size.

    Args:
        out_dir: run directory (default ``runs/lab/capacity``).
        quick: fewer degrees, sizes and steps (seconds).
        seed: seeds the data.
        n_train: training-set size for the capacity sweep.
        noise: standard deviation of the noise on the targets.
        degrees: the polynomial degrees of the sweep (default 0..12).
        size_degree: the degree of the model trained on growing training sets.
        sizes: the training-set sizes (default 12..200).
        steps: full-batch optimisation steps per model.
        repeats: training sets drawn per size (the curve shows the median test error).

    Returns:
        a :class:`Result` whose ``data`` holds, per degree, the train and test MSE (and the
        exact least-squares train MSE, for reference), and the test MSE against training-set
        size; ``checks["test error minimal at an intermediate degree"]``.
    """
    run = RunDir("capacity", out_dir, quick, verbose)
    say = run.progress
    rng = np.random.default_rng(seed)
    degrees = by_mode(degrees, quick, [0, 1, 2, 3, 4, 5, 6, 8, 10, 12], list(range(13)))
    sizes = by_mode(sizes, quick, [12, 20, 50, 200], [12, 15, 20, 30, 50, 100, 200])
    steps = by_mode(steps, quick, 600, 3000)
    repeats = by_mode(repeats, quick, 3, 10)
    degrees = [int(d) for d in degrees]

    x, y = sample(n_train, noise, rng)
    x_test, y_test = sample(2000, noise, rng)

    fits = []
    for d in degrees:
        fit = fit_polynomial(x, y, d, x_test, y_test, steps)
        fits.append(fit)
        say(f"degree {d:2d}: train MSE {fit.train_mse:.4g}, test MSE {fit.test_mse:.4g}")
    train = np.array([f.train_mse for f in fits])
    test = np.array([f.test_mse for f in fits])
    best = int(np.argmin(test))

    # test error against training-set size, for a fixed model
    # (the median over `repeats` training sets per size: one draw of a dozen points is noisy)
    size_train, size_test, size_fits = [], [], {}
    for n in sizes:
        trains, tests = [], []
        for r in range(repeats):
            xs, ys = sample(int(n), noise, np.random.default_rng([seed, int(n), r]))
            fit = fit_polynomial(xs, ys, size_degree, x_test, y_test, steps)
            trains.append(fit.train_mse)
            tests.append(fit.test_mse)
            if r == 0:
                size_fits[int(n)] = (xs, ys, fit)
        size_train.append(float(np.median(trains)))
        size_test.append(float(np.median(tests)))
        say(f"degree {size_degree}, N={n:4d}: median train MSE {size_train[-1]:.4g}, "
            f"median test MSE {size_test[-1]:.4g} ({repeats} training sets)")

    _figures(size_degree, degrees, fits, x, y, n_train, run, train, test, best, noise, sizes, size_fits, size_train,
             size_test, repeats)
    run.save_csv("error_vs_capacity.csv", ["degree", "train_mse", "test_mse", "lstsq_train_mse"],
                 [(d, f.train_mse, f.test_mse, f.lstsq_train_mse) for d, f in zip(degrees, fits)])
    run.save_csv("error_vs_train_size.csv", ["n_train", "median_train_mse", "median_test_mse"],
                 zip(sizes, size_train, size_test))

    checks = {
        "test error minimal at an intermediate degree": 0 < best < len(degrees) - 1,
        "training error falls with the degree": bool(train[-1] < train[0]),
        f"degree-{size_degree} test error falls with the training-set size":
            bool(size_test[-1] < size_test[0]),
    }
    data: dict[str, Any] = {
        "n_train": n_train, "noise": noise, "steps": steps, "seed": seed,
        "degrees": degrees, "train_mse": train, "test_mse": test,
        "lstsq_train_mse": [f.lstsq_train_mse for f in fits],
        "best_degree": degrees[best],
        "size_degree": size_degree, "sizes": list(sizes), "repeats": repeats,
        "size_train_mse": size_train, "size_test_mse": size_test,
    }
    summary = _summary(degrees, steps, n_train, noise, best, test, size_degree, repeats, size_test, sizes, fits)
    return run.finish(data, summary, checks)


def _summary(degrees, steps, n_train, noise, best, test, size_degree, repeats, size_test, sizes, fits) -> str:
    """The markdown summary of the run."""
    summary = f"""
Polynomials of degree {degrees[0]}..{degrees[-1]} trained by descend (full-batch Nesterov SGD,
{steps} steps, Legendre features) on N={n_train} samples of sin(pi x) with noise sd {noise}.
The training error falls with the degree; the test error is U-shaped, lowest at degree
**{degrees[best]}** (test MSE {fmt(test[best])}), {fmt(test[-1] / test[best], 3)}x higher at degree
{degrees[-1]}. With degree {size_degree} fixed, the median test error (over {repeats} training sets)
falls from {fmt(size_test[0])} (N={sizes[0]}) to {fmt(size_test[-1])} (N={sizes[-1]}).

{md_table(["degree", "train MSE", "test MSE", "least-squares train MSE"],
          [(d, f.train_mse, f.test_mse, f.lstsq_train_mse) for d, f in zip(degrees, fits)])}
"""
    return summary


def _figures(size_degree, degrees, fits, x, y, n_train, run, train, test, best, noise, sizes, size_fits, size_train,
             size_test, repeats) -> None:
    """Draw and save this experiment's figures."""
    # ------------------------------------------------------------------------- figures
    grid = np.linspace(-1, 1, 400)
    shown = [d for d in (1, 3, size_degree, degrees[-1]) if d in degrees]
    shown = list(dict.fromkeys(shown))
    fig, axes = figure(1, len(shown), figsize=(3.2 * len(shown), 3.0), sharey=True)
    for ax, d in zip(np.atleast_1d(axes), shown):
        fit = fits[degrees.index(d)]
        ax.plot(grid, true_function(grid), color="0.6", lw=1.5, label="sin(pi x)")
        ax.plot(grid, fit.model.predict(grid), color="C3", lw=1.5, label="fit")
        ax.scatter(x, y, s=14, color="C0", zorder=3, label="training data")
        ax.set_ylim(-2.0, 2.0)
        ax.set_title(f"degree {d}: train {fit.train_mse:.3f}, test {fit.test_mse:.3g}", fontsize=9)
        ax.set_xlabel("x")
    np.atleast_1d(axes)[0].set_ylabel("y")
    np.atleast_1d(axes)[0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Polynomial fits to N={n_train} noisy samples (underfitting -> overfitting)")
    run.save_figure(fig, "fits.png")

    fig, ax = figure(figsize=(5.5, 3.8))
    ax.semilogy(degrees, train, "o-", label="training error")
    ax.semilogy(degrees, test, "s-", label="test error")
    ax.axvline(degrees[best], color="0.5", ls=":", label=f"best capacity (degree {degrees[best]})")
    ax.axhline(noise**2, color="0.7", ls="--", lw=1, label="noise variance")
    ax.set_xlabel("capacity (polynomial degree)")
    ax.set_ylabel("mean squared error")
    ax.set_title("Training and test error against capacity")
    ax.legend(fontsize=8)
    run.save_figure(fig, "error_vs_capacity.png")

    fig, axes = figure(1, 3, figsize=(11, 3.3))
    for ax, n in zip(axes[:2], (sizes[0], sizes[-1])):
        xs, ys, fit = size_fits[int(n)]
        ax.plot(grid, true_function(grid), color="0.6", lw=1.5, label="sin(pi x)")
        ax.plot(grid, fit.model.predict(grid), color="C3", lw=1.5, label="fit")
        ax.scatter(xs, ys, s=8 if n > 50 else 14, color="C0", zorder=3, label="training data")
        ax.set_ylim(-2.0, 2.0)
        ax.set_title(f"degree {size_degree}, N = {n}", fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    axes[0].legend(fontsize=7, loc="lower right")
    ax = axes[2]
    ax.loglog(sizes, size_train, "o-", label="training error")
    ax.loglog(sizes, size_test, "s-", label="test error")
    ax.axhline(noise**2, color="0.7", ls="--", lw=1, label="noise variance")
    ax.set_xticks(list(sizes), [str(n) for n in sizes], minor=False)
    ax.set_xticks([], minor=True)
    ax.set_xlabel("training-set size N")
    ax.set_ylabel(f"MSE (median of {repeats} draws)")
    ax.set_title(f"degree {size_degree}: more data, less overfitting", fontsize=9)
    ax.legend(fontsize=8)
    run.save_figure(fig, "error_vs_train_size.png")
