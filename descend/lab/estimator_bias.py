"""``estimator-bias``: the biased sample variance (lecture, "Estimators and Bias").

For i.i.d. x_1..x_N with variance sigma^2, the estimator (1/N) sum (x_i - mean)^2 has
expectation (1 - 1/N) sigma^2: it is biased, though the bias vanishes as N grows; dividing by
N - 1 removes it. This is simulated over many draws for several N and compared with the
theory. The biased estimator has the *smaller* mean squared error (an unbiased estimator is
not necessarily the better one).

It is also the maximum-likelihood estimate of a Normal's variance: fitting mu and log sigma by
gradient descent on the Gaussian NLL with descend lands on exactly (1/N) sum (x - mean)^2.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import Result, RunDir, current_variant, experiment, figure, fmt, md_table

__all__ = ["estimator_bias"]


def _mle_variance_by_descend(x: np.ndarray, steps: int = 1000) -> tuple[float, float]:
    """Fit N(mu, sigma^2) to a sample by minimising the NLL with descend's Adam."""
    from .. import functional as F
    from ..optim import Adam
    from ..tensor import Tensor

    mu = Tensor(np.zeros(1), requires_grad=True)
    log_var = Tensor(np.zeros(1), requires_grad=True)
    data = Tensor(x.reshape(-1, 1))
    opt = Adam([mu, log_var], lr=0.05, variant=current_variant())
    for _ in range(steps):
        opt.zero_grad()
        mean = mu + data * 0.0  # broadcast the parameters to the data's shape
        var = (log_var + data * 0.0).exp()
        F.gaussian_nll_loss(mean, data, var, full=True).backward()
        opt.step()
    return float(mu.data[0]), float(np.exp(log_var.data[0]))


@experiment
def estimator_bias(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    sizes: Sequence[int] = (2, 3, 4, 5, 7, 10, 15, 20, 30, 50),
    draws: int | None = None,
    sigma: float = 2.0,
    verbose: bool = True,
) -> Result:
    """Simulate the biased and unbiased variance estimators over many samples of each size.

    Args:
        sizes: the sample sizes N.
        draws: samples of each size (default 200,000; quick 20,000).
        sigma: standard deviation of the Normal the samples are drawn from.

    Returns:
        a :class:`Result`; ``data["biased_mean"][i]`` is the mean of the biased estimates for
        ``sizes[i]`` and ``data["biased_sem"][i]`` its standard error; the check is that it lies
        within 4 standard errors of (1 - 1/N) sigma^2 for every N.
    """
    run = RunDir("estimator-bias", out_dir, quick, verbose)
    say = run.progress
    rng = np.random.default_rng(seed)
    if draws is None:
        draws = 20_000 if quick else 200_000
    sizes = [int(n) for n in sizes]
    var = sigma**2
    rows = []
    hist = {}
    for n in sizes:
        x = rng.normal(3.0, sigma, size=(draws, n))
        ss = ((x - x.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        biased, unbiased = ss / n, ss / (n - 1)
        row = {
            "n": n,
            "theory_biased": (1 - 1 / n) * var,
            "biased_mean": biased.mean(),
            "biased_sem": biased.std(ddof=1) / np.sqrt(draws),
            "unbiased_mean": unbiased.mean(),
            "unbiased_sem": unbiased.std(ddof=1) / np.sqrt(draws),
            "biased_mse": np.mean((biased - var) ** 2),
            "unbiased_mse": np.mean((unbiased - var) ** 2),
        }
        rows.append(row)
        if n in (sizes[0], 5, sizes[-1]):
            hist[n] = (biased, unbiased)
        say(f"N={n:3d}: E[biased] = {row['biased_mean']:.4f} +- {row['biased_sem']:.4f} "
            f"(theory {row['theory_biased']:.4f}), E[unbiased] = {row['unbiased_mean']:.4f}")
    col = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    z = (col["biased_mean"] - col["theory_biased"]) / col["biased_sem"]
    z_unbiased = (col["unbiased_mean"] - var) / col["unbiased_sem"]

    # The MLE of a Normal's variance, found by gradient descent with descend.
    sample = rng.normal(3.0, sigma, size=10)
    mle_mu, mle_var = _mle_variance_by_descend(sample, steps=1000)
    biased_formula = float(np.mean((sample - sample.mean()) ** 2))
    say(f"descend's MLE of the variance of a sample of 10: {mle_var:.5f}; (1/N) sum (x - mean)^2 = "
        f"{biased_formula:.5f}")

    # ------------------------------------------------------------------------- figures
    fig, (ax, ax2) = figure(1, 2, figsize=(10.5, 3.9))
    n_grid = np.linspace(min(sizes), max(sizes), 200)
    ax.plot(n_grid, (1 - 1 / n_grid) * var, color="C0", lw=1, label="theory (1 - 1/N) sigma^2")
    ax.errorbar(sizes, col["biased_mean"], yerr=2 * col["biased_sem"], fmt="o", color="C0", ms=4,
                label="biased (1/N), mean +- 2 SE")
    ax.errorbar(sizes, col["unbiased_mean"], yerr=2 * col["unbiased_sem"], fmt="s", color="C1",
                ms=4, label="unbiased (1/(N-1))")
    ax.axhline(var, color="C1", lw=1, ls="--", label="sigma^2")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.set_xticks([], minor=True)
    ax.set_xlabel("sample size N")
    ax.set_ylabel("mean of the estimate")
    ax.set_title(f"Variance estimators over {draws:,} samples per N")
    ax.legend(fontsize=8)
    ax2.loglog(sizes, col["biased_mse"], "o-", label="biased (1/N)")
    ax2.loglog(sizes, col["unbiased_mse"], "s-", label="unbiased (1/(N-1))")
    ax2.set_xticks(sizes, [str(n) for n in sizes])
    ax2.set_xticks([], minor=True)
    ax2.set_xlabel("sample size N")
    ax2.set_ylabel("E[(estimate - sigma^2)^2]")
    ax2.set_title("Mean squared error: the biased one is lower")
    ax2.legend(fontsize=8)
    run.save_figure(fig, "estimators.png")

    fig, axes = figure(1, len(hist), figsize=(3.6 * len(hist), 3.0))
    for ax, (n, (b, u)) in zip(np.atleast_1d(axes), hist.items()):
        top = np.quantile(u, 0.99)
        bins = np.linspace(0, top, 60)
        ax.hist(b, bins=bins, alpha=0.55, label="biased, 1/N", density=True)
        ax.hist(u, bins=bins, alpha=0.55, label="unbiased, 1/(N-1)", density=True)
        ax.axvline(b.mean(), color="C0", lw=1.2, label="their means")
        ax.axvline(u.mean(), color="C1", lw=1.2)
        ax.axvline(var, color="k", lw=1, ls=":", label="true sigma^2")
        ax.set_title(f"N = {n}", fontsize=9)
        ax.set_xlabel("estimate of sigma^2")
        ax.set_ylabel("probability density")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    run.save_figure(fig, "histograms.png")

    run.save_csv("estimators.csv", list(rows[0]), [list(r.values()) for r in rows])
    checks = {
        "biased mean within 4 SE of (1 - 1/N) sigma^2 for every N": bool(np.all(np.abs(z) < 4)),
        "unbiased mean within 4 SE of sigma^2 for every N": bool(np.all(np.abs(z_unbiased) < 4)),
        "biased estimator has the lower MSE": bool(np.all(col["biased_mse"] < col["unbiased_mse"])),
        "descend's Gaussian MLE equals the biased estimator":
            bool(abs(mle_var - biased_formula) < 1e-3 * biased_formula),
    }
    data: dict[str, Any] = {
        "sigma": sigma, "draws": draws, "seed": seed, **{k: v for k, v in col.items()},
        "z_biased": z, "z_unbiased": z_unbiased,
        "mle_sample": sample, "mle_mu": mle_mu, "mle_var": mle_var,
        "biased_formula_var": biased_formula,
    }
    summary = f"""
Samples of size N from N(3, {fmt(var)}), {draws:,} of each size. The mean of the biased
estimator (1/N) sum (x - mean)^2 matches (1 - 1/N) sigma^2 (largest deviation
{fmt(np.max(np.abs(z)), 3)} standard errors), the N - 1 version matches sigma^2, and the biased
one has the smaller mean squared error for every N. Fitting a Normal to a sample of 10 by
gradient descent on the NLL (descend, Adam) gives variance {fmt(mle_var, 6)}, the biased
estimate {fmt(biased_formula, 6)}: the MLE of the variance *is* the biased estimator.

{md_table(["N", "(1-1/N) sigma^2", "mean biased", "SE", "mean unbiased", "MSE biased", "MSE unbiased"],
          [(r["n"], r["theory_biased"], r["biased_mean"], r["biased_sem"], r["unbiased_mean"],
            r["biased_mse"], r["unbiased_mse"]) for r in rows])}
"""
    return run.finish(data, summary, checks)
