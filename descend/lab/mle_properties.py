"""``mle-properties``: the maximum-likelihood estimator is consistent and efficient.

The lecture ("Properties of Maximum Likelihood Estimation"): when the data come from the model
family, the MLE theta_m from m examples

* is **consistent**: P(||theta_m - theta|| > eps) -> 0 as m -> infinity;
* is **efficient**: no consistent estimator has a lower mean squared error (asymptotically),
  which reaches the Cramér-Rao bound 1 / (m I(theta)), I the Fisher information.

Consistency: R independent samples of each size m from N(mu, sigma^2); the MLE of (mu, sigma^2)
of every sample is found by descend (one parameter pair per sample, Adam on
``gaussian_nll_loss``, all samples at once), and the fraction of samples with |mu_m - mu| > eps
(and |sigma^2_m - sigma^2| > eps) is plotted against m, with the exact probability for the mean.

Efficiency: the location of a Normal estimated by the sample mean (its MLE) and by the sample
median (also consistent). m Var of the mean equals sigma^2, the Cramér-Rao bound; the median's
is larger, pi sigma^2 / 2 for large m. For Laplace data, whose location MLE is the median, the
order is reversed: which estimator is efficient depends on the model.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import Result, RunDir, current_variant, experiment, figure, fmt, md_table

__all__ = ["fit_normal_mle", "mle_properties"]


def fit_normal_mle(samples: np.ndarray, steps: int = 300, lr: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """The MLE of N(mu, sigma^2) for each row of ``samples`` (R, m), by descend.

    Parameters mu and log sigma^2, one pair per row, minimise the mean Gaussian NLL with Adam
    (its per-coordinate scaling makes each row's fit independent of the others), the learning
    rate cosine-decayed to 0 so that the iterates settle. Returns (mu, sigma^2), each (R,).
    """
    from .. import functional as F
    from ..optim import Adam
    from ..optim.schedules import cosine
    from ..tensor import Tensor

    x = Tensor(samples.astype(np.float64))
    start_mu = np.median(samples, axis=1, keepdims=True)  # a data-dependent start, not the answer
    mu = Tensor(start_mu, requires_grad=True)
    log_var = Tensor(np.zeros((len(samples), 1)), requires_grad=True)
    opt = Adam([mu, log_var], lr=cosine(lr, steps), variant=current_variant())
    zeros = Tensor(np.zeros(samples.shape))
    for _ in range(steps):
        opt.zero_grad()
        # each row's mu and variance broadcast over the row's m examples
        F.gaussian_nll_loss(mu + zeros, x, (log_var + zeros).exp()).backward()
        opt.step()
    return mu.data[:, 0].copy(), np.exp(log_var.data[:, 0])


def _normal_tail(z: np.ndarray) -> np.ndarray:
    """P(|Z| > z) for a standard normal Z."""
    return np.array([math.erfc(v / math.sqrt(2)) for v in np.atleast_1d(z)])


@experiment
def mle_properties(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    sizes: Sequence[int] | None = None,
    repeats: int | None = None,
    eps: float = 0.25,
    verbose: bool = True,
) -> Result:
    """Consistency (descend's MLE fits) and efficiency (mean vs median vs Cramér-Rao).

    Args:
        sizes: sample sizes m (default 5 .. 2000; quick 5 .. 500).
        repeats: samples per size (default 400 for the fits, 20x that for mean/median; quick 150).
        eps: the tolerance of the consistency plot.

    Returns:
        a :class:`Result`; checks that descend's fits equal the closed-form MLE, that
        P(|mu_m - mu| > eps) falls to ~0 and matches its exact value, that m Var(mean) is the
        Cramér-Rao bound while the median's is above it (ratio -> pi/2), and the reverse for
        Laplace data.
    """
    run = RunDir("mle-properties", out_dir, quick, verbose)
    say = run.progress
    mu, sigma = 2.0, 1.5
    sizes = [int(m) for m in (sizes or ([5, 20, 50, 150, 500] if quick else
                                        [5, 10, 20, 50, 100, 200, 500, 1000, 2000]))]
    repeats = int(repeats or (150 if quick else 400))
    rng = np.random.default_rng(seed)

    # ---- consistency: descend's MLE fits
    p_mu, p_var, fit_err = [], [], 0.0
    for m in sizes:
        x = mu + sigma * rng.standard_normal((repeats, m))
        mu_hat, var_hat = fit_normal_mle(x)
        closed_mu, closed_var = x.mean(axis=1), x.var(axis=1)
        fit_err = max(fit_err, float(np.max(np.abs(mu_hat - closed_mu))),
                      float(np.max(np.abs(var_hat - closed_var) / closed_var)))
        p_mu.append(float(np.mean(np.abs(mu_hat - mu) > eps)))
        p_var.append(float(np.mean(np.abs(var_hat - sigma**2) > eps * sigma**2)))
        say(f"m = {m}: P(|mu_m - mu| > {eps}) = {p_mu[-1]:.3f}, "
            f"P(|s2_m - s2| > {eps} s2) = {p_var[-1]:.3f}")
    p_mu_exact = _normal_tail(eps * np.sqrt(sizes) / sigma)
    se = np.sqrt(p_mu_exact * (1 - p_mu_exact) / repeats)
    say(f"descend's fits against the closed-form MLE: largest difference {fmt(fit_err, 2)}")

    # ---- efficiency: mean vs median, Normal and Laplace data
    reps_eff = 20 * repeats
    eff: dict[str, dict[str, list[float]]] = {}
    for dist in ("normal", "laplace"):
        eff[dist] = {"mean": [], "median": []}
        for m in sizes:
            if dist == "normal":
                x = mu + sigma * rng.standard_normal((reps_eff, m))
            else:  # Laplace with the same variance sigma^2: scale b = sigma / sqrt(2)
                x = mu + rng.laplace(0.0, sigma / np.sqrt(2), (reps_eff, m))
            eff[dist]["mean"].append(float(m * np.mean((x.mean(axis=1) - mu) ** 2)))
            eff[dist]["median"].append(float(m * np.mean((np.median(x, axis=1) - mu) ** 2)))
    cr_normal = sigma**2                # 1 / I(mu) for N(mu, sigma^2)
    cr_laplace = (sigma / np.sqrt(2)) ** 2  # 1 / I(mu) = b^2 for Laplace(mu, b)
    ratio = np.array(eff["normal"]["median"]) / np.array(eff["normal"]["mean"])
    mean_rel = np.array(eff["normal"]["mean"]) / cr_normal
    se_rel = np.sqrt(2 / reps_eff)  # relative standard error of a variance estimate
    say(f"Normal: m MSE(mean) / CR bound {fmt(float(mean_rel.min()), 3)}..{fmt(float(mean_rel.max()), 3)}; "
        f"MSE(median) / MSE(mean) at m = {sizes[-1]}: {ratio[-1]:.3f} (pi/2 = {np.pi / 2:.3f})")

    _figure(sizes, p_mu, eps, p_mu_exact, p_var, repeats, mu, sigma, cr_normal, cr_laplace, eff, run)
    run.save_csv("consistency.csv", ["m", "p_mu", "p_mu_exact", "p_var"],
                 zip(sizes, p_mu, p_mu_exact, p_var))
    run.save_csv("efficiency.csv", ["m", "normal_mean", "normal_median", "laplace_mean", "laplace_median"],
                 zip(sizes, eff["normal"]["mean"], eff["normal"]["median"], eff["laplace"]["mean"],
                     eff["laplace"]["median"]))
    big = [j for j, m in enumerate(sizes) if m >= 20]
    lap_ratio = np.array(eff["laplace"]["mean"]) / np.array(eff["laplace"]["median"])
    checks = _checks(fit_err, eps, p_mu, p_mu_exact, se, p_var, mean_rel, se_rel, ratio, big, lap_ratio)
    data: dict[str, Any] = {
        "mu": mu, "sigma": sigma, "eps": eps, "sizes": sizes, "repeats": repeats,
        "repeats_efficiency": reps_eff, "seed": seed, "fit_max_difference": fit_err,
        "p_mu": p_mu, "p_mu_exact": p_mu_exact, "p_var": p_var,
        "cramer_rao": {"normal": cr_normal, "laplace": cr_laplace},
        "m_mse": eff, "median_over_mean_normal": ratio, "mean_over_median_laplace": lap_ratio,
    }
    summary = _summary(repeats, mu, sigma, fit_err, eps, p_mu, sizes, reps_eff, cr_normal, eff, ratio, cr_laplace)
    return run.finish(data, summary, checks)


def _checks(fit_err, eps, p_mu, p_mu_exact, se, p_var, mean_rel, se_rel, ratio, big, lap_ratio) -> dict[str, bool]:
    """The claims checked on this run, name -> holds."""
    checks = {
        "descend's gradient-descent fits equal the closed-form MLE (mean, biased variance)":
            fit_err < 1e-4,
        f"P(|mu_m - mu| > {eps}) matches the exact value (within 4 standard errors + 0.01)":
            bool(np.all(np.abs(np.array(p_mu) - p_mu_exact) <= 4 * se + 0.01)),
        "P(|theta_m - theta| > eps) falls to below 1% at the largest m, for mu and sigma^2":
            p_mu[-1] < 0.01 and p_var[-1] < 0.01 and p_mu[0] > 0.3,
        "m MSE of the mean (the Normal's MLE) is the Cramér-Rao bound (within 5 standard errors)":
            bool(np.all(np.abs(mean_rel - 1) < 5 * se_rel)),
        "the median's MSE is above the bound for m >= 20, its ratio to the mean's near pi/2 (10%)":
            bool(np.all(ratio[big] > 1.3)) and abs(ratio[-1] / (np.pi / 2) - 1) < 0.1,
        "for Laplace data the median (its MLE) beats the mean for m >= 20":
            bool(np.all(lap_ratio[big] > 1.2)),
    }
    return checks


def _summary(repeats, mu, sigma, fit_err, eps, p_mu, sizes, reps_eff, cr_normal, eff, ratio, cr_laplace) -> str:
    """The markdown summary of the run."""
    summary = f"""
**Consistency.** For each m, {repeats} samples of N({mu:g}, {sigma:g}^2); descend fits the MLE of
every sample at once (Adam on `gaussian_nll_loss`, one (mu, log sigma^2) pair per sample) and
lands on the closed-form MLE (sample mean, biased variance) to {fmt(fit_err, 2)}. The fraction
of fits farther than eps = {eps} from the truth falls from {p_mu[0]:.2f} at m = {sizes[0]} to
{p_mu[-1]:.3f} at m = {sizes[-1]}, as the exact P(|Z| > eps sqrt(m)/sigma) says.

**Efficiency.** {reps_eff} samples per m; m x MSE of the location estimates (the Cramér-Rao bound
is 1/I(mu) = sigma^2 = {cr_normal:g} for the Normal):

{md_table(["m", "Normal: mean (MLE)", "Normal: median", "median / mean", "Laplace: mean", "Laplace: median (MLE)"],
          [[m, eff['normal']['mean'][j], eff['normal']['median'][j], ratio[j], eff['laplace']['mean'][j],
            eff['laplace']['median'][j]] for j, m in enumerate(sizes)])}

The MLE attains the bound; the median, also consistent, needs pi/2 = 1.571 times as many
examples for the same accuracy. With Laplace data (bound b^2 = {cr_laplace:.3g}) the median is
the MLE and wins: efficiency is a property of the MLE under the true model.
"""
    return summary


def _figure(sizes, p_mu, eps, p_mu_exact, p_var, repeats, mu, sigma, cr_normal, cr_laplace, eff, run) -> None:
    """Draw and save this experiment's figure."""
    # ------------------------------------------------------------------------- figures
    fig, axes = figure(1, 3, figsize=(15, 4.4))
    ax = axes[0]
    ax.semilogx(sizes, p_mu, "o-", label=f"P(|mu_m - mu| > {eps}) (descend's MLE fits)")
    ax.semilogx(sizes, p_mu_exact, "k:", label="exact: P(|Z| > eps sqrt(m) / sigma)")
    ax.semilogx(sizes, p_var, "s-", label=f"P(|sigma^2_m - sigma^2| > {eps} sigma^2)")
    ax.set_xlabel("examples m")
    ax.set_ylabel(f"fraction of {repeats} samples")
    ax.set_title(f"Consistency: the MLE of N({mu:g}, {sigma:g}^2) converges in probability",
                 fontsize=10)
    ax.legend(fontsize=8)
    for ax, dist, cr in ((axes[1], "normal", cr_normal), (axes[2], "laplace", cr_laplace)):
        ax.semilogx(sizes, eff[dist]["mean"], "o-", label="sample mean")
        ax.semilogx(sizes, eff[dist]["median"], "s-", label="sample median")
        ax.axhline(cr, color="k", ls=":", label=f"Cramér-Rao bound 1/I = {cr:.3g}")
        if dist == "normal":
            ax.axhline(np.pi / 2 * cr, color="C1", ls="--", lw=0.8,
                       label="pi sigma^2 / 2 (median, large m)")
        ax.set_xlabel("examples m")
        ax.set_ylabel("m x mean squared error of the location estimate")
        mle = "mean" if dist == "normal" else "median"
        ax.set_title(f"Efficiency, {dist.capitalize()} data (variance {sigma**2:g}): "
                     f"the MLE is the {mle}", fontsize=10)
        ax.set_ylim(0, None)
        ax.legend(fontsize=8)
    run.save_figure(fig, "mle_properties.png")
