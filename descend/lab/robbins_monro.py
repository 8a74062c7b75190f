"""``robbins-monro``: step sizes for SGD on a convex problem (lecture, "Gradient Descent").

Minibatch SGD (descend's ``SGD``, batches drawn i.i.d.) minimises the MSE of a linear model on
a fixed noisy regression data set, a strictly convex problem with a unique optimum theta* (its
least-squares solution, computed exactly only to measure the distance to it). Robbins and
Monro: SGD converges if sum alpha_t = inf and sum alpha_t^2 < inf.

* a constant rate (sum alpha^2 = inf) stalls at a noise floor whose height scales with alpha;
* alpha_t = alpha_0 / (1 + t / t_0), "1/t", satisfies both conditions and converges;
* alpha_t = alpha_0 / (1 + t / t_0)^2, "1/t^2", has sum alpha_t < inf: it stops too early;
* alpha_t = alpha_0 / sqrt(1 + t / t_0) (sum alpha^2 = inf again) is shown for comparison:
  it keeps creeping closer, but slower than 1/t.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import Result, RunDir, by_mode, current_variant, experiment, figure, fmt, md_table

__all__ = ["rate_functions", "robbins_monro"]


class _Rate:
    """alpha_0 / (1 + t / t_0) ** power as a picklable schedule with a readable repr."""

    def __init__(self, alpha0: float, t0: float, power: float) -> None:
        self.alpha0, self.t0, self.power = alpha0, t0, power

    def __call__(self, t: int) -> float:
        return self.alpha0 / (1.0 + t / self.t0) ** self.power

    def __repr__(self) -> str:
        if self.power == 0:
            return f"{self.alpha0:g}"
        power = "" if self.power == 1 else f"^{self.power:g}"
        return f"{self.alpha0:g} / (1 + t/{self.t0:g}){power}"


def rate_functions(alpha0: float, t0: float) -> dict[str, Callable[[int], float]]:
    """The four learning-rate sequences compared: name -> schedule (step -> lr)."""
    return {
        "constant": _Rate(alpha0, t0, 0.0),
        "1/t": _Rate(alpha0, t0, 1.0),
        "1/t^2": _Rate(alpha0, t0, 2.0),
        "1/sqrt(t)": _Rate(alpha0, t0, 0.5),
    }


def _sgd_distances(X: np.ndarray, y: np.ndarray, theta_star: np.ndarray, lr: Any, steps: int,
                   batch: int, rng: np.random.Generator) -> np.ndarray:
    from .. import functional as F
    from ..optim import SGD
    from ..tensor import Tensor

    w = Tensor(np.zeros(X.shape[1]), requires_grad=True)
    opt = SGD([w], lr=lr, variant=current_variant())
    dist = np.empty(steps + 1)
    dist[0] = np.linalg.norm(w.data - theta_star)
    n = len(X)
    for t in range(steps):
        idx = rng.integers(0, n, batch)
        opt.zero_grad()
        F.mse_loss(Tensor(X[idx]) @ w, Tensor(y[idx])).backward()
        opt.step()
        dist[t + 1] = np.linalg.norm(w.data - theta_star)
    return dist


@experiment
def robbins_monro(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    steps: int | None = None,
    runs: int | None = None,
    alpha0: float = 0.05,
    t0: float = 20.0,
    batch: int = 8,
    dim: int = 10,
    n_examples: int = 1000,
    verbose: bool = True,
) -> Result:
    """Minibatch SGD with constant, 1/t, 1/t^2 and 1/sqrt(t) rates on least squares.

    Args:
        steps: SGD updates per run (default 20,000; quick 2,000).
        runs: independent runs (different minibatch sequences) averaged (default 3; quick 1).
        alpha0, t0: the rates are alpha0 / (1 + t/t0)^p, p = 0, 1, 2, 1/2.
        batch: minibatch size.

    Returns:
        a :class:`Result` with the distance ||theta_t - theta*|| after every update
        (geometric mean over runs) and the checks that 1/t ends closer than the constant rate
        and that 1/t^2 stops short.
    """
    run = RunDir("robbins-monro", out_dir, quick, verbose)
    say = run.progress
    steps = by_mode(steps, quick, 2000, 20_000)
    runs = by_mode(runs, quick, 1, 3)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_examples, dim))
    theta_true = rng.standard_normal(dim)
    y = X @ theta_true + rng.standard_normal(n_examples)
    theta_star = np.linalg.lstsq(X, y, rcond=None)[0]  # only to measure the distance
    rates = rate_functions(alpha0, t0)
    curves: dict[str, np.ndarray] = {}
    all_runs: dict[str, list[np.ndarray]] = {}
    for name, lr in rates.items():
        dists = []
        for r in range(runs):
            dists.append(_sgd_distances(X, y, theta_star, lr, steps, batch,
                                        np.random.default_rng([seed, 1, r])))
        all_runs[name] = dists
        curves[name] = np.exp(np.mean(np.log(np.maximum(dists, 1e-300)), axis=0))
        say(f"{name:9s} ({lr!r}): distance after {steps} updates {curves[name][-1]:.4g}")
    t = np.arange(steps + 1)
    sums = {n: float(np.sum([f(i) for i in range(steps)])) for n, f in rates.items()}
    sq_sums = {n: float(np.sum([f(i) ** 2 for i in range(steps)])) for n, f in rates.items()}

    _figure(rates, all_runs, runs, t, curves, batch, dim, sums, sq_sums, steps, run)
    names = list(rates)
    keep = np.unique(np.round(np.logspace(0, np.log10(steps), 200)).astype(int))
    run.save_csv("distance.csv", ["step"] + names, [[int(i)] + [curves[n][i] for n in names] for i in keep])
    final = {n: float(np.mean([d[-1] for d in all_runs[n]])) for n in names}
    checks = {
        "1/t ends closer to the optimum than a constant rate": final["1/t"] < final["constant"],
        "1/t^2 stops short (ends farther than 1/t)": final["1/t^2"] > final["1/t"],
    }
    data: dict[str, Any] = {
        "steps": steps, "runs": runs, "alpha0": alpha0, "t0": t0, "batch": batch, "dim": dim,
        "n_examples": n_examples, "rates": {n: repr(f) for n, f in rates.items()},
        "final_distance": final, "sum_alpha": sums, "sum_alpha_sq": sq_sums,
        "initial_distance": float(np.linalg.norm(theta_star)),
        "curve_steps": keep, "curves": {n: curves[n][keep] for n in names},
    }
    summary = _summary(batch, dim, n_examples, data, steps, runs, rates, sums, sq_sums, final)
    return run.finish(data, summary, checks)


def _summary(batch, dim, n_examples, data, steps, runs, rates, sums, sq_sums, final) -> str:
    """The markdown summary of the run."""
    names = list(rates)
    summary = f"""
descend's `SGD` (batch {batch}, examples drawn i.i.d.) on the MSE of a linear model with
{dim} weights and {n_examples} noisy examples, from theta = 0 (distance
{fmt(data['initial_distance'])} from the optimum), {steps} updates, {runs} run(s).

{md_table(["rate", "alpha_t", "sum alpha_t", "sum alpha_t^2", "final distance"],
          [(n, f"`{rates[n]!r}`", sums[n], sq_sums[n], final[n]) for n in names])}

The constant rate stalls at a noise floor; 1/t (sum alpha = inf, sum alpha^2 < inf) keeps
converging; 1/t^2 (sum alpha < inf) runs out of step size and freezes far from the optimum.
"""
    return summary


def _figure(rates, all_runs, runs, t, curves, batch, dim, sums, sq_sums, steps, run) -> None:
    """Draw and save this experiment's figure."""
    # ------------------------------------------------------------------------- figures
    colors = {"constant": "C3", "1/t": "C2", "1/t^2": "C0", "1/sqrt(t)": "C1"}
    fig, (ax, ax2) = figure(1, 2, figsize=(11, 4.0), width_ratios=(1.6, 1))
    for name in rates:
        for d in all_runs[name] if runs > 1 else []:
            ax.loglog(t[1:], d[1:], color=colors[name], alpha=0.15, lw=0.6)
        ax.loglog(t[1:], curves[name][1:], color=colors[name], lw=1.6,
                  ls="--" if name == "1/sqrt(t)" else "-", label=f"{name}: {rates[name]!r}")
    ax.set_xlabel("SGD update t")
    ax.set_ylabel("||theta_t - theta*||")
    ax.set_title(f"Minibatch SGD (batch {batch}) on least squares, d = {dim}")
    ax.legend(fontsize=8, loc="lower left")
    for name, f in rates.items():
        ax2.loglog(t[1:], [f(i) for i in t[1:]], color=colors[name],
                   ls="--" if name == "1/sqrt(t)" else "-",
                   label=f"{name}: sum a = {sums[name]:.3g}, sum a^2 = {sq_sums[name]:.3g}")
    ax2.set_xlabel("update t")
    ax2.set_ylabel("learning rate alpha_t")
    ax2.set_title(f"The rates (sums over {steps} updates)")
    ax2.legend(fontsize=7, loc="lower left")
    run.save_figure(fig, "distance.png")
