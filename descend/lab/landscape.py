"""``landscape``: the loss landscape of a trained MNIST MLP (Li et al. 2018).

An MLP 784-H-10 (ReLU) is trained on MNIST with descend (SGD with momentum 0.9 and L2 weight
decay, the learning rate cosine-decayed to 0, minibatches of 50). Then

* **1-D linear interpolation** (Goodfellow et al. 2015): the loss along
  theta(alpha) = (1 - alpha) theta_0 + alpha theta*, from the initialisation theta_0 (alpha = 0)
  to the solution theta* (alpha = 1) and beyond;
* **2-D contour** (Li et al. 2018): the loss at theta* + a d1 + b d2 for two random Gaussian
  directions, *filter-normalised*: each neuron's slice of a direction (a column of a weight
  matrix W of shape (in, out)) is rescaled to the norm of the same column of theta*, and the
  bias entries are zero, so that the plot is comparable across layers and networks despite
  the scale invariance of ReLU networks.

The parameters are set in place (``p.data[...] = ...``) and the loss evaluated with descend
under ``no_grad``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._common import Result, RunDir, by_mode, current_variant, experiment, figure, fmt
from ._mnist import load_flat_mnist, subset

__all__ = ["filter_normalized_direction", "landscape"]


def filter_normalized_direction(params: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """A random Gaussian direction, each weight column scaled to the norm of theta*'s column.

    ``params`` are the solution's arrays; 2-D arrays are weight matrices of shape (in, out)
    whose columns are the neurons' (filters') incoming weights; 1-D arrays (biases) get 0.
    """
    direction = []
    for p in params:
        if p.ndim < 2:
            direction.append(np.zeros_like(p))
            continue
        d = rng.standard_normal(p.shape).astype(p.dtype)
        d *= np.linalg.norm(p, axis=0, keepdims=True) / (np.linalg.norm(d, axis=0, keepdims=True) + 1e-10)
        direction.append(d)
    return direction


def _evaluate(model: Any, x: Any, y: np.ndarray) -> tuple[float, float]:
    """Cross-entropy and classification error of ``model`` on (x, y)."""
    from .. import functional as F
    from ..autograd import no_grad

    with no_grad():
        logits = model(x)
        loss = float(F.cross_entropy(logits, y).item())
    return loss, float(np.mean(logits.data.argmax(axis=1) != y))


def _penalty(params: list[Any], weight_decay: float) -> float:
    """(lambda / 2) ||theta||^2, the L2 term of the training objective."""
    return 0.5 * weight_decay * float(sum(np.sum(p.data.astype(np.float64) ** 2) for p in params))


@experiment
def landscape(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    hidden: int | None = None,
    n_train: int | None = None,
    epochs: int | None = None,
    n_eval: int | None = None,
    grid_1d: int | None = None,
    grid_2d: int | None = None,
    weight_decay: float = 5e-3,
    lr: float = 0.1,
    verbose: bool = True,
) -> Result:
    """Train an MNIST MLP and map its loss along a line and on a filter-normalised plane.

    Args:
        data_dir: where MNIST is (see :func:`descend.data.load_mnist`); also ``$DESCEND_DATA``.
        download: let the data layer download MNIST when it is found nowhere.
        hidden: hidden units (default 100; quick 32).
        n_train: training examples (default 10,000; quick 2,000).
        epochs: training epochs (default 20).
        n_eval: examples of the training and test sets the landscape is evaluated on
            (default 5,000; quick 2,000).
        grid_1d, grid_2d: points along the line in [-0.5, 1.5] and per side of the plane.
        weight_decay: L2 strength lambda; the training objective is cross-entropy +
            (lambda / 2) ||theta||^2. It gives the objective a proper minimum: without it, the
            cross-entropy of a network that classifies its training set keeps falling as the
            weights grow, so along the line the loss would still fall beyond the solution.
        lr: the initial learning rate of SGD (momentum 0.9), cosine-decayed to 0.

    Returns:
        a :class:`Result` with the interpolation curve (train and test loss/error) and the
        2-D loss grid; checks that the training loss along the interpolation is lowest at the
        solution (alpha = 1) and that the solution is the lowest point of the 2-D grid.

    Raises:
        descend.data.DatasetNotFoundError: MNIST is nowhere to be found.
    """
    from .. import functional as F
    from ..nn import Linear, ReLU, Sequential
    from ..optim import SGD  # with momentum 0.9 (not Adam): see the summary
    from ..optim.schedules import cosine
    from ..tensor import Tensor

    run = RunDir("landscape", out_dir, quick, verbose)
    say = run.progress
    hidden = by_mode(hidden, quick, 32, 100)
    n_train = by_mode(n_train, quick, 2000, 10_000)
    epochs = by_mode(epochs, quick, 20, 20)
    n_eval = by_mode(n_eval, quick, 2000, 5000)
    grid_1d = by_mode(grid_1d, quick, 41, 41)
    grid_2d = by_mode(grid_2d, quick, 9, 31)
    rng = np.random.default_rng(seed)

    splits = load_flat_mnist(data_dir, download)
    x_train, y_train = subset(splits.train.x, splits.train.y, n_train, rng)
    x_test, y_test = subset(splits.test.x, splits.test.y, n_eval, rng)
    x_eval, y_eval = x_train[:n_eval], y_train[:n_eval]
    t_eval, t_test = Tensor(x_eval), Tensor(x_test)
    say(f"MNIST: {len(x_train)} training examples, MLP 784-{hidden}-10")

    model = Sequential(Linear(784, hidden, rng=rng), ReLU(), Linear(hidden, 10, rng=rng))
    params = list(model.parameters())
    theta0 = [p.data.copy() for p in params]
    from ..data import Dataset

    train_set = Dataset(x_train, y_train)
    batch = 50
    total = epochs * train_set.num_batches(batch)
    # SGD with momentum, L2 weight decay (added to the gradient) and a learning rate decayed
    # to 0 (cosine), so that training ends close to a minimum of the regularised objective.
    opt = SGD(params, lr=cosine(lr, total), momentum=0.9, weight_decay=weight_decay,
              variant=current_variant())
    batch_rng = np.random.default_rng([seed, 1])
    for epoch in range(epochs):
        for xb, yb in train_set.batches(batch, rng=batch_rng):
            opt.zero_grad()
            F.cross_entropy(model(Tensor(xb)), yb).backward()
            opt.step()
        loss, err = _evaluate(model, t_eval, y_eval)
        say(f"epoch {epoch + 1}/{epochs}: train loss {loss:.4f} (objective "
            f"{loss + _penalty(params, weight_decay):.4f}), train error {err:.4f}")
    theta_star = [p.data.copy() for p in params]

    def set_params(values: list[np.ndarray]) -> None:
        for p, v in zip(params, values):
            p.data[...] = v

    # 1-D linear interpolation
    alphas = np.linspace(-0.5, 1.5, grid_1d)
    curve = {"train_objective": [], "train_loss": [], "train_error": [], "test_loss": [],
             "test_error": []}
    for a in alphas:
        set_params([(1 - a) * t0 + a * ts for t0, ts in zip(theta0, theta_star)])
        tl, te = _evaluate(model, t_eval, y_eval)
        vl, ve = _evaluate(model, t_test, y_test)
        for k, v in zip(curve, (tl + _penalty(params, weight_decay), tl, te, vl, ve)):
            curve[k].append(v)
    curve = {k: np.array(v) for k, v in curve.items()}
    i_min = int(np.argmin(curve["train_objective"]))
    say(f"interpolation: training objective lowest at alpha = {alphas[i_min]:.3f}")

    # 2-D filter-normalised plane around the solution
    dir_rng = np.random.default_rng([seed, 2])
    d1 = filter_normalized_direction(theta_star, dir_rng)
    d2 = filter_normalized_direction(theta_star, dir_rng)
    coords = np.linspace(-1.0, 1.0, grid_2d)
    surface = np.empty((grid_2d, grid_2d))
    for i, b in enumerate(coords):
        for j, a in enumerate(coords):
            set_params([ts + a * u + b * v for ts, u, v in zip(theta_star, d1, d2)])
            surface[i, j] = _evaluate(model, t_eval, y_eval)[0] + _penalty(params, weight_decay)
        say(f"2-D grid: row {i + 1}/{grid_2d}")
    set_params(theta_star)
    centre = grid_2d // 2
    i2, j2 = np.unravel_index(int(np.argmin(surface)), surface.shape)

    _figures(alphas, curve, run, coords, surface, hidden)
    run.save_csv("interpolation.csv", ["alpha"] + list(curve),
                 [[a] + [curve[k][i] for k in curve] for i, a in enumerate(alphas)])
    step = alphas[1] - alphas[0]
    checks = {
        "training objective along the interpolation is lowest at the solution (alpha = 1)":
            abs(alphas[i_min] - 1.0) <= step / 2,
        "the solution is the lowest point of the 2-D grid": (i2, j2) == (centre, centre),
        "the trained model beats its initialisation on the test set":
            curve["test_error"][np.argmin(np.abs(alphas - 1))] < curve["test_error"][np.argmin(np.abs(alphas))],
    }
    data: dict[str, Any] = {
        "hidden": hidden, "n_train": n_train, "epochs": epochs, "n_eval": n_eval, "seed": seed,
        "weight_decay": weight_decay,
        "alphas": alphas, **{f"interp_{k}": v for k, v in curve.items()},
        "argmin_alpha": float(alphas[i_min]),
        "coords": coords, "surface_train_objective": surface,
        "argmin_2d": [float(coords[j2]), float(coords[i2])],
    }
    at1 = int(np.argmin(np.abs(alphas - 1)))
    summary = _summary(hidden, weight_decay, lr, epochs, n_train, n_eval, curve, alphas, at1, i_min, grid_2d, coords,
                       j2, i2, surface)
    return run.finish(data, summary, checks)


def _summary(hidden, weight_decay, lr, epochs, n_train, n_eval, curve, alphas, at1, i_min, grid_2d, coords, j2, i2,
             surface) -> str:
    """The markdown summary of the run."""
    summary = f"""
An MLP 784-{hidden}-10 (ReLU) trained by descend (SGD, momentum 0.9, L2 weight decay
{weight_decay:g}, lr cosine-decayed from {lr:g} to 0, batch 50, {epochs} epochs) on {n_train}
MNIST training images; the training objective is cross-entropy + (lambda/2)||theta||^2, evaluated on {n_eval}
training images, and the test loss on {n_eval} test images.

Along the line from the initialisation (alpha = 0, training objective
{fmt(curve['train_objective'][np.argmin(np.abs(alphas))])}) to the solution (alpha = 1,
objective {fmt(curve['train_objective'][at1])}, test error {fmt(curve['test_error'][at1])}) the
objective falls and is lowest at alpha = {alphas[i_min]:.2f}; beyond the solution it rises
again. On the plane spanned by two filter-normalised random directions (coordinates in
[-1, 1], {grid_2d}x{grid_2d} grid) the solution sits in a basin, the lowest point at
({coords[j2]:.2f}, {coords[i2]:.2f}); the objective rises to {fmt(surface.max())} at the edges.
"""
    return summary


def _figures(alphas, curve, run, coords, surface, hidden) -> None:
    """Draw and save this experiment's figures."""
    # ------------------------------------------------------------------------- figures
    fig, (ax, ax2) = figure(1, 2, figsize=(10.5, 3.9))
    ax.plot(alphas, curve["train_objective"], "o-", ms=3,
            label="training objective (CE + lambda/2 ||theta||^2)")
    ax.plot(alphas, curve["train_loss"], "-", color="C0", lw=1, alpha=0.5,
            label="training cross-entropy")
    ax.plot(alphas, curve["test_loss"], "s-", ms=3, color="C1", label="test cross-entropy")
    ax.axvline(0, color="0.6", ls=":")
    ax.axvline(1, color="0.3", ls=":")
    ax.set_yscale("log")
    ax.set_xlabel("alpha  (0: initialisation, 1: solution)")
    ax.set_ylabel("loss")
    ax.set_title("Linear interpolation (1 - alpha) theta_0 + alpha theta*", fontsize=9)
    ax.legend(fontsize=8)
    ax2.plot(alphas, curve["train_error"], "o-", ms=3, label="training error")
    ax2.plot(alphas, curve["test_error"], "s-", ms=3, label="test error")
    ax2.axvline(1, color="0.3", ls=":")
    ax2.set_xlabel("alpha")
    ax2.set_ylabel("classification error")
    ax2.set_title("Error along the same line", fontsize=9)
    ax2.legend(fontsize=8)
    run.save_figure(fig, "interpolation.png")

    fig, ax = figure(figsize=(5.6, 4.8))
    A, B = np.meshgrid(coords, coords)
    levels = np.logspace(np.log10(surface.min()), np.log10(surface.max()), 25)
    cs = ax.contour(A, B, surface, levels=levels, cmap="viridis", linewidths=0.9)
    ax.clabel(cs, cs.levels[::4], fontsize=6, fmt="%.2g")
    ax.plot(0, 0, "r*", ms=10, label="solution theta*")
    ax.set_xlabel("filter-normalised direction 1")
    ax.set_ylabel("filter-normalised direction 2")
    ax.set_title(f"Training objective around theta* (MLP 784-{hidden}-10)", fontsize=9)
    ax.legend(fontsize=8, loc="upper right")
    run.save_figure(fig, "contour_2d.png")
