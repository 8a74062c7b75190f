"""``mle``: the lecture's three output distributions, each trained by maximum likelihood.

* **Normal** (regression) on heteroscedastic data y = sin(3x) + sigma(x) eps:
  - with a fixed variance: trained by MSE; the MLE of the shared variance is then the training
    MSE, and the NLL is 1/2 log(2 pi MSE) + 1/2;
  - with a predicted variance: the network outputs a mean and a log-variance and is trained by
    the Gaussian NLL (``gaussian_nll_loss(full=True)``); it learns sigma(x).
* **Bernoulli** (binary classification, two moons): sigmoid output, trained by
  ``binary_cross_entropy_with_logits``.
* **Categorical** (three classes): softmax output, trained by ``cross_entropy``.

For every model the loss descend reports is compared with the negative log-likelihood of the
data under the model computed independently in NumPy from the densities' formulas
(-log N(y; mu, s^2) = log(2 pi s^2)/2 + (y - mu)^2 / (2 s^2); -log Bernoulli = softplus(-z) or
softplus(z); -log Categorical = logsumexp(z) - z_y): they are equal.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._common import Result, RunDir, current_variant, experiment, figure, fmt, md_table

__all__ = ["mle"]

DTYPE = np.float64  # exact comparisons with the NumPy formulas


# ----------------------------------------------------------------------------------- data
def _sigma_true(x: np.ndarray) -> np.ndarray:
    return 0.05 + 0.25 * (x + 1.0)


def _regression_data(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(-1.0, 1.0, (n, 1))
    y = np.sin(3.0 * x) + _sigma_true(x) * rng.standard_normal((n, 1))
    return x, y


def _moons(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 2, n)
    angle = rng.uniform(0, np.pi, n)
    x = np.where(labels == 0, np.cos(angle), 1.0 - np.cos(angle))
    y = np.where(labels == 0, np.sin(angle), 0.5 - np.sin(angle))
    pts = np.stack([x, y], axis=1) + 0.2 * rng.standard_normal((n, 2))
    return pts - np.array([0.5, 0.25]), labels.astype(DTYPE)


def _blobs(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 3, n)
    angles = 2 * np.pi * labels / 3 + np.pi / 2
    centres = 1.2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return centres + 0.75 * rng.standard_normal((n, 2)), labels.astype(np.int64)


# --------------------------------------------------------------- independent NLL formulas
def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def nll_normal(y: np.ndarray, mean: np.ndarray, var: np.ndarray) -> float:
    """Mean of -log N(y; mean, var)."""
    return float(np.mean(0.5 * np.log(2 * np.pi * var) + (y - mean) ** 2 / (2 * var)))


def nll_bernoulli(y: np.ndarray, logits: np.ndarray) -> float:
    """Mean of -log Bernoulli(y; sigmoid(logits)): -log sigma(z) = softplus(-z)."""
    return float(np.mean(y * _softplus(-logits) + (1 - y) * _softplus(logits)))


def nll_categorical(y: np.ndarray, logits: np.ndarray) -> float:
    """Mean of -log softmax(logits)[y]."""
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(axis=1))
    return float(np.mean(lse - logits[np.arange(len(y)), y]))


# ------------------------------------------------------------------------------ training
def _mlp(n_in: int, n_out: int, hidden: int, rng: np.random.Generator) -> Any:
    from ..nn import Linear, Sequential, Tanh

    return Sequential(Linear(n_in, hidden, rng=rng, dtype=DTYPE), Tanh(),
                      Linear(hidden, hidden, rng=rng, dtype=DTYPE), Tanh(),
                      Linear(hidden, n_out, rng=rng, dtype=DTYPE))


def _train(model: Any, loss_fn: Any, x: np.ndarray, steps: int, lr: float,
           nll_numpy: Any, every: int) -> dict[str, list]:
    """Full-batch Adam; records descend's loss each step and the NumPy NLL every ``every``."""
    from ..optim import Adam
    from ..tensor import Tensor

    opt = Adam(model.parameters(), lr=lr, variant=current_variant())
    inputs = Tensor(x)
    history: dict[str, list] = {"loss": [], "check_step": [], "check_loss": [], "check_nll": []}
    for t in range(steps + 1):
        opt.zero_grad()
        out = model(inputs)
        loss = loss_fn(out)
        if t % every == 0 or t == steps:
            history["check_step"].append(t)
            history["check_loss"].append(float(loss.item()))
            history["check_nll"].append(nll_numpy(out.data))
        history["loss"].append(float(loss.item()))
        if t == steps:
            break
        loss.backward()
        opt.step()
    return history


@experiment
def mle(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    steps: int | None = None,
    n_train: int = 400,
    hidden: int = 32,
    verbose: bool = True,
) -> Result:
    """Train Normal (fixed and predicted variance), Bernoulli and Categorical output models.

    Returns:
        a :class:`Result`; ``data["comparison"]`` lists, per model, descend's final loss and the
        NLL computed in NumPy (equal to ~1e-12 in float64), and the test NLL of both Normal
        models (the predicted variance wins on heteroscedastic data).
    """
    from .. import functional as F
    from ..autograd import no_grad
    from ..tensor import Tensor

    run = RunDir("mle", out_dir, quick, verbose)
    say = run.progress
    if steps is None:
        steps = 400 if quick else 3000
    every = max(min(steps, 500) // 20, 1)
    rng = np.random.default_rng(seed)
    x, y = _regression_data(n_train, rng)
    x_test, y_test = _regression_data(2000, rng)
    t_y = Tensor(y)
    histories: dict[str, dict[str, list]] = {}
    comparison: list[dict[str, Any]] = []

    # Normal, fixed variance: MSE.
    mse_model = _mlp(1, 1, hidden, rng)
    histories["Normal, fixed variance (MSE)"] = h = _train(
        mse_model, lambda out: F.mse_loss(out, t_y), x, steps, 0.01,
        lambda out: nll_normal(y, out, np.full_like(y, np.mean((out - y) ** 2))), every)
    with no_grad():
        mean_fixed = mse_model(Tensor(x)).data
        mean_fixed_test = mse_model(Tensor(x_test)).data
    mse = h["loss"][-1]
    var_hat = mse  # the MLE of the shared variance given the means
    nll_fixed = nll_normal(y, mean_fixed, np.full_like(y, var_hat))
    comparison.append({
        "model": "Normal, fixed variance", "loss": "mse_loss", "descend_loss": mse,
        "loss_as_nll": 0.5 * np.log(2 * np.pi * mse) + 0.5, "numpy_nll": nll_fixed,
        "test_nll": nll_normal(y_test, mean_fixed_test, np.full_like(y_test, var_hat)),
    })
    say(f"Normal/MSE: MSE {mse:.5f} -> NLL 1/2 log(2 pi MSE) + 1/2 = "
        f"{comparison[-1]['loss_as_nll']:.6f}; NumPy NLL {nll_fixed:.6f}")

    # Normal, predicted variance: Gaussian NLL. Output 0 is the mean, output 1 the log-variance.
    var_model = _mlp(1, 2, hidden, rng)

    def gauss_loss(out: Any) -> Any:
        return F.gaussian_nll_loss(out[:, 0:1], t_y, out[:, 1:2].exp(), full=True, eps=0.0)

    def gauss_nll(out: np.ndarray) -> float:
        return nll_normal(y, out[:, 0:1], np.exp(out[:, 1:2]))

    histories["Normal, predicted variance (Gaussian NLL)"] = h = _train(
        var_model, gauss_loss, x, steps, 0.01, gauss_nll, every)
    with no_grad():
        out = var_model(Tensor(x)).data
        out_test = var_model(Tensor(x_test)).data
    comparison.append({
        "model": "Normal, predicted variance", "loss": "gaussian_nll_loss(full=True)",
        "descend_loss": h["loss"][-1], "loss_as_nll": h["loss"][-1], "numpy_nll": gauss_nll(out),
        "test_nll": nll_normal(y_test, out_test[:, 0:1], np.exp(out_test[:, 1:2])),
    })
    say(f"Normal/Gaussian NLL: loss {h['loss'][-1]:.6f}; NumPy NLL {comparison[-1]['numpy_nll']:.6f}")

    # Bernoulli: two moons.
    xb, yb = _moons(n_train, rng)
    t_yb = Tensor(yb.reshape(-1, 1))
    bern = _mlp(2, 1, hidden, rng)
    # The classifiers get fewer updates: trained much longer, these flexible networks carve
    # out every noisy point (the MLE of an over-parametrised model overfits).
    clf_steps = min(steps, 500)
    histories["Bernoulli (BCE with logits)"] = h = _train(
        bern, lambda out: F.binary_cross_entropy_with_logits(out, t_yb), xb, clf_steps, 0.01,
        lambda out: nll_bernoulli(yb, out[:, 0]), every)
    with no_grad():
        zb = bern(Tensor(xb)).data[:, 0]
    comparison.append({
        "model": "Bernoulli", "loss": "binary_cross_entropy_with_logits",
        "descend_loss": h["loss"][-1], "loss_as_nll": h["loss"][-1], "numpy_nll": nll_bernoulli(yb, zb),
        "train_accuracy": float(np.mean((zb > 0) == (yb > 0.5))),
    })
    say(f"Bernoulli: loss {h['loss'][-1]:.6f}; NumPy NLL {comparison[-1]['numpy_nll']:.6f}")

    # Categorical: three overlapping blobs.
    xc, yc = _blobs(n_train, rng)
    cat = _mlp(2, 3, hidden, rng)
    histories["Categorical (cross-entropy)"] = h = _train(
        cat, lambda out: F.cross_entropy(out, yc), xc, clf_steps, 0.01,
        lambda out: nll_categorical(yc, out), every)
    with no_grad():
        zc = cat(Tensor(xc)).data
    comparison.append({
        "model": "Categorical", "loss": "cross_entropy", "descend_loss": h["loss"][-1],
        "loss_as_nll": h["loss"][-1], "numpy_nll": nll_categorical(yc, zc),
        "train_accuracy": float(np.mean(zc.argmax(axis=1) == yc)),
    })
    say(f"Categorical: loss {h['loss'][-1]:.6f}; NumPy NLL {comparison[-1]['numpy_nll']:.6f}")
    for row in comparison:
        row["abs_difference"] = abs(row["loss_as_nll"] - row["numpy_nll"])

    # ------------------------------------------------------------------------- figures
    order = np.argsort(x[:, 0])
    grid = np.linspace(-1, 1, 300).reshape(-1, 1)
    with no_grad():
        g_fixed = mse_model(Tensor(grid)).data[:, 0]
        g_var = var_model(Tensor(grid)).data
    g_mean, g_sd = g_var[:, 0], np.exp(0.5 * g_var[:, 1])
    sd_fixed = np.sqrt(var_hat)
    fig, axes = figure(1, 3, figsize=(13, 3.8))
    for ax, mean_, sd_, title in (
        (axes[0], g_fixed, np.full_like(g_fixed, sd_fixed), "fixed variance (MSE)"),
        (axes[1], g_mean, g_sd, "predicted variance (Gaussian NLL)"),
    ):
        ax.scatter(x[order, 0], y[order, 0], s=5, color="0.55", label="training data")
        ax.plot(grid[:, 0], mean_, color="C3", label="mean")
        ax.fill_between(grid[:, 0], mean_ - 2 * sd_, mean_ + 2 * sd_, color="C3", alpha=0.2,
                        label="mean +- 2 sd")
        ax.set_title(f"Normal output, {title}", fontsize=9)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.legend(fontsize=7, loc="upper left")
    axes[2].plot(grid[:, 0], _sigma_true(grid[:, 0]), color="k", ls="--", label="true sd(x)")
    axes[2].plot(grid[:, 0], g_sd, color="C3", label="predicted sd(x)")
    axes[2].axhline(sd_fixed, color="C0", label="fixed sd = sqrt(MSE)")
    axes[2].set_xlabel("x")
    axes[2].set_ylabel("standard deviation of y given x")
    axes[2].set_title("Standard deviation", fontsize=9)
    axes[2].legend(fontsize=7)
    run.save_figure(fig, "normal.png")

    fig, axes = figure(1, 2, figsize=(10, 4.2))
    lim = float(np.ceil(max(np.abs(xb).max(), np.abs(xc).max()) * 2) / 2)
    xx, yy = np.meshgrid(np.linspace(-lim, lim, 150), np.linspace(-lim, lim, 150))
    pts = np.stack([xx.ravel(), yy.ravel()], axis=1)
    with no_grad():
        pb = 1 / (1 + np.exp(-bern(Tensor(pts)).data[:, 0]))
        zc_grid = cat(Tensor(pts)).data
    pc = np.exp(zc_grid - zc_grid.max(axis=1, keepdims=True))
    pc /= pc.sum(axis=1, keepdims=True)
    cs = axes[0].contourf(xx, yy, pb.reshape(xx.shape), levels=np.linspace(0, 1, 11), cmap="RdBu_r",
                          alpha=0.7)
    fig.colorbar(cs, ax=axes[0], label="p(y = 1 | x)")
    axes[0].scatter(xb[:, 0], xb[:, 1], c=yb, cmap="RdBu_r", s=8, edgecolors="k", linewidths=0.3)
    axes[0].set_title("Bernoulli output: sigmoid + binary cross-entropy", fontsize=9)
    for ax in axes:
        ax.set_xlabel("input x1")
        ax.set_ylabel("input x2")
    base = np.array([[0.85, 0.25, 0.2], [0.2, 0.55, 0.85], [0.25, 0.7, 0.3]])
    img = (pc @ base).reshape(xx.shape + (3,))
    axes[1].imshow(img, origin="lower", extent=(-lim, lim, -lim, lim), alpha=0.75, aspect="auto")
    axes[1].contour(xx, yy, pc.max(axis=1).reshape(xx.shape), levels=[0.5, 0.9], colors="k",
                    linewidths=0.6)
    axes[1].scatter(xc[:, 0], xc[:, 1], c=base[yc], s=8, edgecolors="k", linewidths=0.3)
    axes[1].set_title("Categorical output: softmax + cross-entropy\n(colour: p(y | x) mixed; "
                      "lines: max p = 0.5, 0.9)", fontsize=9)
    run.save_figure(fig, "classification.png")

    fig, axes = figure(1, 4, figsize=(14, 3.2))
    for ax, (name, h) in zip(axes, histories.items()):
        loss = np.array(h["loss"])
        steps_ = np.array(h["check_step"])
        if name.startswith("Normal, fixed"):
            ax.plot(0.5 * np.log(2 * np.pi * loss) + 0.5, color="C0",
                    label="descend: 1/2 log(2 pi MSE) + 1/2")
            ax.plot(steps_, h["check_nll"], "o", color="C3", ms=4, mfc="none",
                    label="NumPy NLL at sigma^2 = MSE")
        else:
            ax.plot(loss, color="C0", label="descend loss")
            ax.plot(steps_, h["check_nll"], "o", color="C3", ms=4, mfc="none", label="NumPy NLL")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("update")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("mean NLL per example (nats)")
    run.save_figure(fig, "loss_equals_nll.png")

    run.save_csv("comparison.csv", ["model", "loss", "descend_loss", "loss_as_nll", "numpy_nll",
                                    "abs_difference"],
                 [[r["model"], r["loss"], r["descend_loss"], r["loss_as_nll"], r["numpy_nll"],
                   r["abs_difference"]] for r in comparison])
    checks = {
        "each trained loss equals the NumPy NLL of the data (to 1e-9)":
            all(r["abs_difference"] < 1e-9 for r in comparison),
        "predicted variance has the lower test NLL on heteroscedastic data":
            comparison[1]["test_nll"] < comparison[0]["test_nll"],
        "classifiers fit their training data (accuracy > 0.8)":
            comparison[2]["train_accuracy"] > 0.8 and comparison[3]["train_accuracy"] > 0.8,
    }
    data: dict[str, Any] = {
        "steps": steps, "classifier_steps": clf_steps, "n_train": n_train, "hidden": hidden, "seed": seed,
        "comparison": comparison,
        "histories": {k: {"check_step": v["check_step"], "check_loss": v["check_loss"],
                          "check_nll": v["check_nll"]} for k, v in histories.items()},
    }
    summary = f"""
Four networks (2 tanh hidden layers of {hidden}, float64, full-batch Adam; {steps} updates for
the regressions, {clf_steps} for the classifiers), each trained by maximum likelihood of its
output distribution. After training, descend's loss is
compared with the negative log-likelihood of the training data under the trained model,
computed in NumPy from the density formulas (for the MSE model, with the MLE of the shared
variance, sigma^2 = MSE, for which NLL = 1/2 log(2 pi MSE) + 1/2):

{md_table(["model", "descend loss", "value", "as NLL", "NumPy NLL", "|difference|"],
          [(r["model"], f"`{r['loss']}`", r["descend_loss"], r["loss_as_nll"], r["numpy_nll"],
            r["abs_difference"]) for r in comparison])}

On the heteroscedastic test data the predicted-variance model has test NLL
{fmt(comparison[1]['test_nll'])} against {fmt(comparison[0]['test_nll'])} for the fixed variance:
both fit the mean, but only the second has a variance that follows sigma(x).
"""
    return run.finish(data, summary, checks)
