"""``curvature``: the top Hessian eigenvalue and the largest stable learning rate, 2 / lambda_max.

Gradient descent theta <- theta - alpha grad E(theta) near a minimum behaves like it does on the
quadratic model E ~ 0.5 (theta - theta*)^T H (theta - theta*): along an eigenvector of the
Hessian H with eigenvalue lambda the error is multiplied by (1 - alpha lambda) per step, which
shrinks only if alpha < 2 / lambda. So the largest eigenvalue lambda_max sets the learning rate
("the constant alpha specifies the length of a step", the lecture's Gradient Descent slide and
the DLB Figure 4.1 it shows): below 2 / lambda_max GD converges, above it diverges along the
top eigenvector.

lambda_max is found without forming H, by power iteration on Hessian-vector products, each the
finite difference of two gradients from descend's ``backward()``:
H v ~ (grad E(theta + h v) - grad E(theta - h v)) / (2 h). The experiment checks it on a
quadratic with a known spectrum and on a small tanh network (against the full Hessian's
eigenvalues), then runs GD just below and just above 2 / lambda_max on both.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import Result, RunDir, by_mode, experiment, figure, md_table

__all__ = ["curvature", "hessian_vector_product", "top_eigenvalue"]

Grad = Callable[[np.ndarray], np.ndarray]


def hessian_vector_product(grad: Grad, theta: np.ndarray, v: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """H(theta) v by central differences of the gradient along v (v is normalised first)."""
    norm = float(np.linalg.norm(v))
    u = v / norm
    return (grad(theta + h * u) - grad(theta - h * u)) / (2 * h) * norm


def top_eigenvalue(grad: Grad, theta: np.ndarray, iterations: int = 100,
                   rng: np.random.Generator | None = None, tol: float = 1e-10) -> tuple[float, np.ndarray, list[float]]:
    """Power iteration on Hessian-vector products: (lambda_max, its eigenvector, the estimates).

    Assumes the eigenvalue of largest magnitude is positive (true near a minimum).
    """
    rng = rng or np.random.default_rng(0)
    v = rng.standard_normal(theta.shape)
    v /= np.linalg.norm(v)
    history: list[float] = []
    for _ in range(iterations):
        hv = hessian_vector_product(grad, theta, v)
        lam = float(v @ hv)  # Rayleigh quotient
        history.append(lam)
        v = hv / np.linalg.norm(hv)
        if len(history) > 1 and abs(history[-1] - history[-2]) <= tol * abs(lam):
            break
    return history[-1], v, history


class _FlatModel:
    """A descend model's loss and gradient as functions of one flat float64 vector."""

    def __init__(self, model: Any, loss: Callable[[Any], Any]) -> None:
        self.params = list(model.parameters())
        self.shapes = [p.data.shape for p in self.params]
        self.sizes = [p.data.size for p in self.params]
        self.loss_fn = loss
        self.model = model

    def get(self) -> np.ndarray:
        return np.concatenate([p.data.reshape(-1) for p in self.params])

    def set(self, theta: np.ndarray) -> None:
        i = 0
        for p, n, s in zip(self.params, self.sizes, self.shapes):
            p.data[...] = theta[i:i + n].reshape(s)
            i += n

    def loss(self, theta: np.ndarray) -> float:
        from ..autograd import no_grad

        self.set(theta)
        with no_grad():
            return float(self.loss_fn(self.model).item())

    def grad(self, theta: np.ndarray) -> np.ndarray:
        self.set(theta)
        self.model.zero_grad()
        self.loss_fn(self.model).backward()
        return np.concatenate([p.grad.reshape(-1) for p in self.params])


def _stability_csv(run: RunDir, q_runs: dict, lam_q: float, n_runs: dict, lam_n: float) -> None:
    run.save_csv("stability.csv", ["problem", "lr_factor", "lr", "initial_loss", "max_loss", "final_loss", "steps_run"],
                 [[name, c, c * 2 / lam, r[0], r.max(), r[-1], len(r) - 1]
                  for name, runs, lam in (("quadratic", q_runs, lam_q), ("network", n_runs, lam_n))
                  for c, r in runs.items()])


def _gd(loss: Callable[[np.ndarray], float], grad: Grad, theta: np.ndarray, lr: float,
        steps: int) -> np.ndarray:
    """Plain gradient descent; the loss after every step (stops at inf/NaN or 1e12)."""
    out = [loss(theta)]
    for _ in range(steps):
        theta = theta - lr * grad(theta)
        out.append(loss(theta))
        if not np.isfinite(out[-1]) or out[-1] > 1e12:
            break
    return np.array(out)


@experiment
def curvature(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    steps: int | None = None,
    hidden: int | None = None,
    verbose: bool = True,
) -> Result:
    """lambda_max by Hessian-vector products, and GD below/above 2 / lambda_max.

    Args:
        steps: gradient-descent steps of the stability runs (default 300; quick 150).
        hidden: hidden units of the network's two tanh layers (default 16; quick 8).

    Returns:
        a :class:`Result`; checks that power iteration finds lambda_max (quadratic: the known
        value; network: the full Hessian's), that GD converges at 0.9 x 2/lambda_max and
        diverges at 1.1 x 2/lambda_max on the quadratic, and on the network the loss keeps
        falling below 2/lambda_max and rises tenfold above it.
    """
    from .. import functional as F
    from ..nn import Linear, Sequential, Tanh
    from ..tensor import Tensor

    run = RunDir("curvature", out_dir, quick, verbose)
    say = run.progress
    steps = int(by_mode(steps, quick, 150, 300))
    hidden = int(by_mode(hidden, quick, 8, 16))
    rng = np.random.default_rng(seed)
    factors = (0.5, 0.9, 1.1, 1.5)

    # ---- a quadratic with a known spectrum
    d = 20
    eig = np.geomspace(0.1, 10.0, d)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    A = (q * eig) @ q.T
    A_t = Tensor(A)

    def q_loss_t(theta: Any) -> Any:
        return 0.5 * (theta * (A_t @ theta)).sum()

    def q_grad(theta: np.ndarray) -> np.ndarray:
        t = Tensor(theta, requires_grad=True)
        q_loss_t(t).backward()
        return t.grad.copy()

    def q_loss(theta: np.ndarray) -> float:
        return float(0.5 * theta @ A @ theta)

    theta0 = rng.standard_normal(d)
    lam_q, _, hist_q = top_eigenvalue(q_grad, theta0, rng=np.random.default_rng([seed, 1]))
    say(f"quadratic: power iteration lambda_max = {lam_q:.8f} (true {eig.max():g}) after {len(hist_q)} products")
    q_runs = {c: _gd(q_loss, q_grad, theta0, c * 2 / lam_q, steps) for c in factors}

    # ---- a small tanh network, full-batch MSE, float64
    n = by_mode(None, quick, 64, 128)
    x = np.linspace(-2, 2, n)[:, None]
    y = np.sin(2 * x) + 0.1 * np.random.default_rng([seed, 2]).standard_normal((n, 1))
    xt, yt = Tensor(x), Tensor(y)
    net_rng = np.random.default_rng([seed, 3])
    model = Sequential(Linear(1, hidden, rng=net_rng, dtype=np.float64), Tanh(),
                       Linear(hidden, hidden, rng=net_rng, dtype=np.float64), Tanh(),
                       Linear(hidden, 1, rng=net_rng, dtype=np.float64))
    flat = _FlatModel(model, lambda m: F.mse_loss(m(xt), yt))
    theta = flat.get()
    # train towards a minimum with a safe small rate, so that the quadratic model holds there
    pre_steps = by_mode(None, quick, 1500, 4000)
    for _ in range(pre_steps):
        theta = theta - 0.05 * flat.grad(theta)
    lam_n, v_top, hist_n = top_eigenvalue(flat.grad, theta, iterations=300,
                                          rng=np.random.default_rng([seed, 4]))
    # the full Hessian, column by column from gradient differences, for reference
    P = theta.size
    H = np.stack([hessian_vector_product(flat.grad, theta, np.eye(P)[i]) for i in range(P)], axis=1)
    H = 0.5 * (H + H.T)
    spectrum = np.linalg.eigvalsh(H)
    say(f"network ({P} parameters, after {pre_steps} GD steps at lr 0.05, loss "
        f"{flat.loss(theta):.4g}): lambda_max by power iteration {lam_n:.6g}, full Hessian "
        f"{spectrum[-1]:.6g}")
    start = theta + 1e-3 * v_top  # a small displacement along the top eigenvector
    n_runs = {c: _gd(flat.loss, flat.grad, start, c * 2 / lam_n, steps) for c in factors}
    for c in factors:
        r = n_runs[c]
        say(f"network, lr = {c} x 2/lambda_max: loss {r[0]:.4g} -> max {r.max():.4g} -> final {r[-1]:.4g}")

    _figure(factors, q_runs, eig, hist_q, hist_n, spectrum, n_runs, hidden, P, run)
    _stability_csv(run, q_runs, lam_q, n_runs, lam_n)
    run.save_csv("spectrum.csv", ["eigenvalue"], [[e] for e in spectrum])

    checks = _checks(steps, lam_q, eig, lam_n, spectrum, q_runs, n_runs)
    data: dict[str, Any] = {
        "seed": seed, "steps": steps, "factors": factors,
        "quadratic": {"eigenvalues": eig, "lambda_max_power": lam_q, "power_history": hist_q,
                      "losses": {str(c): r for c, r in q_runs.items()}},
        "network": {"hidden": hidden, "parameters": P, "pretraining_steps": pre_steps,
                    "lambda_max_power": lam_n, "lambda_max_full": float(spectrum[-1]),
                    "spectrum": spectrum, "power_history": hist_n,
                    "losses": {str(c): r for c, r in n_runs.items()}},
    }
    summary = _summary(d, eig, lam_q, hist_q, steps, q_runs, hidden, P, n, pre_steps, lam_n, spectrum, n_runs)
    return run.finish(data, summary, checks)


def _checks(steps, lam_q, eig, lam_n, spectrum, q_runs, n_runs) -> dict[str, bool]:
    """The claims checked on this run, name -> holds."""
    def diverged(r: np.ndarray) -> bool:
        return len(r) <= steps or r[-1] > 1e6 * r[0]

    checks = {
        "power iteration finds the quadratic's lambda_max (relative error < 1e-6)":
            abs(lam_q / eig.max() - 1) < 1e-6,
        "power iteration finds the network's lambda_max (full Hessian, relative error < 1e-3)":
            abs(lam_n / spectrum[-1] - 1) < 1e-3,
        "quadratic: GD converges at 0.5 and 0.9 x 2/lambda_max, diverges at 1.1 and 1.5":
            all(q_runs[c][-1] < 1e-3 * q_runs[c][0] for c in (0.5, 0.9))
            and all(diverged(q_runs[c]) for c in (1.1, 1.5)),
        "network: below 2/lambda_max the loss never rises above its start":
            all(n_runs[c].max() <= n_runs[c][0] * (1 + 1e-9) for c in (0.5, 0.9)),
        "network: above 2/lambda_max the loss rises at least tenfold":
            all(n_runs[c].max() > 10 * n_runs[c][0] for c in (1.1, 1.5)),
    }
    return checks


def _summary(d, eig, lam_q, hist_q, steps, q_runs, hidden, P, n, pre_steps, lam_n, spectrum, n_runs) -> str:
    """The markdown summary of the run."""
    summary = f"""
**Quadratic** 0.5 theta^T A theta in {d} dimensions, eigenvalues {eig.min():g} .. {eig.max():g}:
power iteration on Hessian-vector products (each the central difference of two descend
gradients) finds lambda_max = {lam_q:.8f} in {len(hist_q)} products. Gradient descent at
alpha = c x 2/lambda_max:

{md_table(["c", "initial loss", "largest loss", f"loss after {steps} steps (or at divergence)"],
          [[c, r[0], r.max(), r[-1]] for c, r in q_runs.items()])}

**Network** 1-{hidden}-{hidden}-1 (tanh, {P} parameters, full-batch MSE on {n} noisy points of
sin 2x), first trained {pre_steps} steps at lr 0.05. At that point power iteration gives
lambda_max = {lam_n:.6g}; the full Hessian (built column by column from the same finite
differences) has {spectrum[-1]:.6g}, and most of its {P} eigenvalues are near 0. From a point
displaced by 1e-3 along the top eigenvector:

{md_table(["c", "initial loss", "largest loss", "final loss"],
          [[c, r[0], r.max(), r[-1]] for c, r in n_runs.items()])}

Below 2/lambda_max the loss only falls; above it the displacement along the top eigenvector
grows by |1 - alpha lambda_max| > 1 per step and the loss shoots up (on a network it need not
go to infinity: once far from the minimum the curvature changes).
"""
    return summary


def _figure(factors, q_runs, eig, hist_q, hist_n, spectrum, n_runs, hidden, P, run) -> None:
    """Draw and save this experiment's figure."""
    # ------------------------------------------------------------------------- figures
    fig, axes = figure(2, 2, figsize=(12, 8.6))
    colors = dict(zip(factors, ("C0", "C2", "C1", "C3")))
    ax = axes[0, 0]
    for c, r in q_runs.items():
        ax.semilogy(np.arange(len(r)), r, color=colors[c], label=f"lr = {c} x 2/lambda_max")
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("loss 0.5 theta^T A theta")
    ax.set_title(f"Quadratic, eigenvalues {eig.min():g} .. {eig.max():g}: GD diverges past "
                 "2/lambda_max", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    ax.plot(np.arange(1, len(hist_q) + 1), hist_q, "o-", ms=3, label="quadratic (true 10)")
    ax.plot(np.arange(1, len(hist_n) + 1), hist_n, "s-", ms=3,
            label=f"network (full Hessian: {spectrum[-1]:.4g})")
    ax.axhline(eig.max(), color="C0", ls=":", lw=0.8)
    ax.axhline(spectrum[-1], color="C1", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("power iteration (one Hessian-vector product each)")
    ax.set_ylabel("Rayleigh quotient v^T H v")
    ax.set_title("Power iteration on finite-difference Hessian-vector products", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    for c, r in n_runs.items():
        ax.semilogy(np.arange(len(r)), r, color=colors[c], label=f"lr = {c} x 2/lambda_max")
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("training MSE")
    ax.set_title(f"Tanh network 1-{hidden}-{hidden}-1 ({P} parameters), from near a minimum",
                 fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    ax.hist(spectrum, bins=60, color="0.5", log=True)
    ax.axvline(spectrum[-1], color="C3", ls="--", label=f"lambda_max = {spectrum[-1]:.4g}")
    ax.set_xlabel("Hessian eigenvalue")
    ax.set_ylabel("count (log scale)")
    ax.set_title("The network's Hessian spectrum at that point: a few large outliers", fontsize=10)
    ax.legend(fontsize=8)
    run.save_figure(fig, "curvature.png")
