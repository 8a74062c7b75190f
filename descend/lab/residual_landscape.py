"""``residual-landscape``: loss landscapes of a deep MLP with and without residual connections.

The lecture's "Loss Function Visualization" slides show Li et al.'s (2018) Figure 1: the loss
surface of ResNet-56 is a smooth bowl with skip connections and chaotic without them. Here the
same comparison on a deep MLP for MNIST: an input layer 784 -> w, then L blocks of w -> w, then
w -> 10. The *plain* network's blocks are ``Sequential(Linear, ReLU)``; the *residual* one wraps
the same blocks in ``descend.nn.Residual`` (y = x + F(x)). Both are trained identically (SGD
with momentum, the same minibatches), then the training loss is drawn on the plane
theta* + a d1 + b d2 through the solution, spanned by two filter-normalised random directions
(:func:`descend.lab.landscape.filter_normalized_direction`).

How chaotic a surface is, is measured on the grid: the fraction of points where the surface
is non-convex (the 2x2 finite-difference Hessian of the loss has a negative eigenvalue), and
the number of local minima (points below all 8 neighbours).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._common import Result, RunDir, by_mode, experiment, figure, fmt, md_table
from ._mnist import load_flat_mnist, subset
from .landscape import filter_normalized_direction

__all__ = ["residual_landscape", "surface_roughness"]


def surface_roughness(z: np.ndarray) -> dict[str, float]:
    """Non-convexity of a surface sampled on a square grid: the fraction of interior points
    whose finite-difference Hessian has a negative eigenvalue, and the count of strict local
    minima (lower than all 8 neighbours)."""
    zc = z[1:-1, 1:-1]
    fxx = z[1:-1, 2:] - 2 * zc + z[1:-1, :-2]
    fyy = z[2:, 1:-1] - 2 * zc + z[:-2, 1:-1]
    fxy = (z[2:, 2:] - z[2:, :-2] - z[:-2, 2:] + z[:-2, :-2]) / 4
    # the smaller eigenvalue of [[fxx, fxy], [fxy, fyy]]
    lam_min = (fxx + fyy) / 2 - np.sqrt(((fxx - fyy) / 2) ** 2 + fxy**2)
    scale = np.abs(fxx) + np.abs(fyy) + 1e-12
    nonconvex = float(np.mean(lam_min < -1e-3 * scale))
    neighbours = [z[1 + di:z.shape[0] - 1 + di, 1 + dj:z.shape[1] - 1 + dj]
                  for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0)]
    minima = int(np.sum(np.all([zc < nb for nb in neighbours], axis=0)))
    return {"nonconvex_fraction": nonconvex, "local_minima": minima}


def _build(depth: int, width: int, residual: bool, rng: np.random.Generator, weights: list | None) -> Any:
    from ..nn import Linear, ReLU, Residual, Sequential, init

    layers: list[Any] = [Linear(784, width, rng=rng), ReLU()]
    for _ in range(depth):
        block = Sequential(Linear(width, width, rng=rng), ReLU())
        layers.append(Residual(block) if residual else block)
    layers.append(Linear(width, 10, rng=rng))
    model = Sequential(*layers)
    if weights is None:
        for p in model.parameters():
            if p.data.ndim == 2:
                init.kaiming_normal(p, rng=rng)
    else:
        for p, w in zip(model.parameters(), weights):
            p.data[...] = w
        if residual:  # scale each branch by 1/sqrt(depth), so that the sum keeps its scale
            for layer in model:
                if isinstance(layer, Residual):
                    layer.block[0].weight.data[...] /= np.sqrt(depth)
    return model


def _train(model: Any, x: np.ndarray, y: np.ndarray, lr: float, total: int, epochs: int, batch: int,
           variant: str, batch_rng: np.random.Generator, loss_of: Any) -> list[float]:
    """SGD with momentum 0.9, the rate cosine-decayed over ``total`` updates; the training
    loss before training and after each epoch."""
    from .. import functional as F
    from ..optim import SGD
    from ..optim.schedules import cosine
    from ..tensor import Tensor

    opt = SGD(list(model.parameters()), lr=cosine(lr, total), momentum=0.9, variant=variant)
    losses = [loss_of(model)]
    n_train = len(x)
    for _ in range(epochs):
        perm = batch_rng.permutation(n_train)
        for b in range(n_train // batch):
            idx = perm[b * batch:(b + 1) * batch]
            opt.zero_grad()
            F.cross_entropy(model(Tensor(x[idx])), y[idx]).backward()
            opt.step()
        losses.append(loss_of(model))
    return losses


def _surface(params: list[Any], coords: np.ndarray, dir_rng: np.random.Generator, loss_of: Any,
             model: Any) -> np.ndarray:
    """The loss on the plane theta* + a d1 + b d2 (filter-normalised random d1, d2); the
    parameters are restored afterwards."""
    theta = [p.data.copy() for p in params]
    d1 = filter_normalized_direction(theta, dir_rng)
    d2 = filter_normalized_direction(theta, dir_rng)
    surface = np.empty((len(coords), len(coords)))
    for i, b in enumerate(coords):
        for j, a in enumerate(coords):
            for p, t0, u, v in zip(params, theta, d1, d2):
                p.data[...] = t0 + a * u + b * v
            surface[i, j] = loss_of(model)
    for p, t0 in zip(params, theta):
        p.data[...] = t0
    return surface


@experiment
def residual_landscape(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    depth: int | None = None,
    width: int | None = None,
    n_train: int | None = None,
    epochs: int | None = None,
    n_eval: int | None = None,
    grid: int | None = None,
    lr: float = 0.01,
    variant: str = "pytorch",
    verbose: bool = True,
) -> Result:
    """Train a deep MLP with and without skip connections; map both loss surfaces.

    Args:
        data_dir, download: where MNIST is (see :func:`descend.data.load_mnist`).
        depth: hidden blocks w -> w (default 20; quick 12); width: w (default 32; quick 16).
        n_train: training images (default 10,000; quick 2,000); epochs: default 6 (quick 5).
        n_eval: training images the surfaces are evaluated on (default 1,000; quick 300).
        grid: points per side of the plane, coordinates in [-1, 1] (default 41; quick 11).
        lr: SGD's learning rate (momentum 0.9, cosine-decayed to 0).
        variant: ``"pytorch"`` or ``"lecture"``: the formulas of ``descend.optim.SGD``.

    Returns:
        a :class:`Result`; checks that the plain network's surface has a larger non-convex
        fraction than the residual network's, and that the residual network reaches a lower
        training loss.

    Raises:
        descend.data.DatasetNotFoundError: MNIST is nowhere to be found.
    """
    from .. import functional as F
    from ..autograd import no_grad
    from ..tensor import Tensor

    run = RunDir("residual-landscape", out_dir, quick, verbose)
    say = run.progress
    depth = int(by_mode(depth, quick, 12, 20))
    width = int(by_mode(width, quick, 16, 32))
    n_train = int(by_mode(n_train, quick, 2000, 10_000))
    epochs = int(by_mode(epochs, quick, 5, 6))
    n_eval = int(by_mode(n_eval, quick, 300, 1000))
    grid = int(by_mode(grid, quick, 11, 41))
    rng = np.random.default_rng(seed)
    splits = load_flat_mnist(data_dir, download)
    x, y = subset(splits.train.x, splits.train.y, n_train, rng)
    t_eval, y_eval = Tensor(x[:n_eval]), y[:n_eval]
    batch = 50
    total = epochs * (n_train // batch)

    def loss_of(model: Any) -> float:
        with no_grad():
            return float(F.cross_entropy(model(t_eval), y_eval).item())

    plain = _build(depth, width, False, np.random.default_rng([seed, 1]), None)
    init_weights = [p.data.copy() for p in plain.parameters()]
    coords = np.linspace(-1.0, 1.0, grid)
    results: dict[str, dict[str, Any]] = {}
    for name, residual in (("plain", False), ("residual", True)):
        model = _build(depth, width, residual, rng, init_weights)  # the same initial weights
        params = list(model.parameters())
        losses = _train(model, x, y, lr, total, epochs, batch, variant, np.random.default_rng([seed, 2]),
                        loss_of)
        surface = _surface(params, coords, np.random.default_rng([seed, 3]), loss_of, model)
        rough = surface_roughness(surface)
        results[name] = {"epoch_loss": losses, "surface": surface, **rough}
        say(f"{name}: training loss {losses[0]:.3f} -> {losses[-1]:.4f}; surface from "
            f"{surface.min():.3g} to {surface.max():.3g}, non-convex at {rough['nonconvex_fraction']:.1%} "
            f"of the grid, {rough['local_minima']} local minima")

    _figures(coords, results, grid, depth, epochs, n_eval, width, run)
    run.save_csv("roughness.csv", ["network", "final_training_loss", "nonconvex_fraction", "local_minima",
                                   "surface_min", "surface_max"],
                 [[n, r["epoch_loss"][-1], r["nonconvex_fraction"], r["local_minima"], r["surface"].min(),
                   r["surface"].max()] for n, r in results.items()])
    p_, r_ = results["plain"], results["residual"]
    checks = {
        "the plain network's surface is non-convex at more grid points than the residual one's":
            p_["nonconvex_fraction"] > r_["nonconvex_fraction"],
        "with skip connections the same network trains to a lower loss":
            r_["epoch_loss"][-1] < p_["epoch_loss"][-1],
    }
    data: dict[str, Any] = {
        "depth": depth, "width": width, "n_train": n_train, "epochs": epochs, "n_eval": n_eval,
        "grid": grid, "lr": lr, "variant": variant, "seed": seed, "coords": coords,
        **{f"{n}_{k}": v for n, r in results.items() for k, v in r.items()},
    }
    summary = _summary(width, depth, n_train, epochs, variant, lr, batch, n_eval, grid, results)
    return run.finish(data, summary, checks)


def _summary(width, depth, n_train, epochs, variant, lr, batch, n_eval, grid, results) -> str:
    """The markdown summary of the run."""
    summary = f"""
Two MLPs 784-{width}-[{depth} blocks {width}->{width}]-10 from the same initial draws (He
normal; in the residual network each branch's weights divided by sqrt({depth}), so that the
sum of {depth} branches keeps the signal's scale), one with plain blocks
`Sequential(Linear, ReLU)`, one with the same blocks wrapped in `descend.nn.Residual`, trained
on {n_train} MNIST images ({epochs} epochs, SGD momentum 0.9, variant `{variant}`, lr {lr:g}
cosine-decayed, batch {batch}, the same minibatches). The training
loss on {n_eval} images around each solution, on a {grid}x{grid} grid of the plane spanned by
two filter-normalised random directions:

{md_table(["network", "training loss", "non-convex grid points", "local minima", "loss range on the plane"],
          [[n, r['epoch_loss'][-1], f"{r['nonconvex_fraction']:.1%}", r['local_minima'],
            f"{fmt(r['surface'].min(), 3)} .. {fmt(r['surface'].max(), 3)}"] for n, r in results.items()])}

As in Li et al.'s Figure 1 (on the lecture's slide), the network without skip connections has
the rougher, less convex surface, and it trains worse from the same start.
"""
    return summary


def _figures(coords, results, grid, depth, epochs, n_eval, width, run) -> None:
    """Draw and save this experiment's figures."""
    # ------------------------------------------------------------------------- figures
    fig = figure(1, 3, figsize=(15.5, 4.8), subplot_kw=None)[0]
    fig.clf()
    ax0 = fig.add_subplot(1, 3, 1)
    A, B = np.meshgrid(coords, coords)
    for k, name in enumerate(("plain", "residual")):
        ax = fig.add_subplot(1, 3, k + 2, projection="3d")
        z = np.log10(np.minimum(results[name]["surface"], 1e3))
        ax.plot_surface(A, B, z, cmap="viridis", linewidth=0, antialiased=True, rcount=grid, ccount=grid)
        ax.set_xlabel("direction 1", fontsize=8)
        ax.set_ylabel("direction 2", fontsize=8)
        ax.set_zlabel("log10 training loss (cut at 3)", fontsize=8)
        r = results[name]
        ax.set_title(f"{name.capitalize()} {depth}-block MLP: non-convex at "
                     f"{r['nonconvex_fraction']:.0%} of the grid,\n{r['local_minima']} local minima",
                     fontsize=10)
    for name, color in (("plain", "C3"), ("residual", "C0")):
        ax0.semilogy(np.arange(epochs + 1), results[name]["epoch_loss"], "o-", color=color,
                     label=f"{name} (final {results[name]['epoch_loss'][-1]:.3g})")
    ax0.set_xlabel("epoch")
    ax0.set_ylabel(f"training cross-entropy ({n_eval} images)")
    ax0.set_title(f"Training from the same initial draws (depth {depth}, width {width})", fontsize=10)
    ax0.legend(fontsize=8)
    run.save_figure(fig, "residual_landscape.png")

    fig, axes = figure(1, 2, figsize=(11, 4.8))
    for ax, name in zip(axes, ("plain", "residual")):
        z = np.log10(results[name]["surface"])
        cs = ax.contour(A, B, z, levels=25, cmap="viridis", linewidths=0.8)
        ax.clabel(cs, cs.levels[::5], fontsize=6, fmt="%.1f")
        ax.plot(0, 0, "r*", ms=10)
        ax.set_xlabel("filter-normalised direction 1")
        ax.set_ylabel("filter-normalised direction 2")
        ax.set_title(f"{name.capitalize()}: contours of log10 training loss", fontsize=10)
    run.save_figure(fig, "residual_contours.png")
