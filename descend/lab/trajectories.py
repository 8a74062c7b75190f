"""``trajectories``: every optimizer on 2-D test functions (Radford's animations).

SGD, momentum, Nesterov momentum, AdaGrad, RMSProp and Adam -- descend's optimizers, PyTorch
formulas -- minimise four functions of a parameter ``theta = (x, y)`` (a descend tensor; the
gradient comes from ``backward()``):

* ``quadratic``: a long, narrow valley 0.025 x^2 + 2 y^2 (condition number 80); SGD's rate
  is chosen so that it zig-zags across the valley (lr x 4 = 1.8: each step overshoots the
  valley floor), and momentum gets (1 - beta) times that rate -- the same terminal step
  lr / (1 - beta) -- and travels along the valley (DLB Figure 8.5, on the lecture's slide);
* ``rosenbrock``: (1 - x)^2 + 100 (y - x^2)^2, minimum (1, 1) at the end of a curved valley;
* ``beale``: (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2, minimum (3, 0.5);
* ``saddle``: x^2 + y^4 / 4 - y^2 / 2, a saddle at the origin between minima at (0, +-1);
  starting almost exactly on the ridge, an optimizer must escape along y.

On the other functions SGD, momentum and Nesterov share one learning rate (so the effect of
momentum is seen at the same rate); the adaptive methods have their own. ``variant="lecture"``
uses the lecture's formulas of the optimizers (eps inside the square root, RMSProp's beta 0.9,
the lecture's Nesterov). The result is a PNG of the paths
over contour lines and an animated GIF (written with Pillow, which comes with matplotlib).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._common import Result, RunDir, by_mode, experiment, figure, fmt, md_table

__all__ = ["OPTIMIZERS", "TEST_FUNCTIONS", "gif_palette", "optimize_2d", "trajectories"]


def _quadratic(x: Any, y: Any) -> Any:
    return 0.025 * x * x + 2.0 * y * y


def _rosenbrock(x: Any, y: Any) -> Any:
    return (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2


def _beale(x: Any, y: Any) -> Any:
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y * y * y) ** 2


def _saddle(x: Any, y: Any) -> Any:
    return x * x + 0.25 * y**4 - 0.5 * y * y


@dataclass
class TestFunction:
    """A 2-D test function (written with + - * ** so it takes tensors and arrays alike)."""

    f: Callable[[Any, Any], Any]
    formula: str
    start: tuple[float, float]
    minimum: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    steps: int
    lr: dict[str, float] = field(default_factory=dict)
    quick_steps: int | None = None  # fewer updates in quick mode (None: the same)


TEST_FUNCTIONS: dict[str, TestFunction] = {
    "quadratic": TestFunction(
        _quadratic, "0.025 x^2 + 2 y^2", (-4.5, 1.0), (0.0, 0.0), (-5.0, 1.0), (-1.5, 1.5), 300,
        {"SGD": 0.45, "Momentum": 0.045, "Nesterov": 0.045, "AdaGrad": 0.5, "RMSProp": 0.05,
         "Adam": 0.1}, 150,
    ),
    "rosenbrock": TestFunction(
        _rosenbrock, "(1 - x)^2 + 100 (y - x^2)^2", (-1.5, 2.0), (1.0, 1.0), (-2.0, 2.0),
        (-1.0, 3.0), 2000,
        {"SGD": 1e-3, "Momentum": 1e-3, "Nesterov": 1e-3, "AdaGrad": 0.5, "RMSProp": 0.01,
         "Adam": 0.02},
    ),
    "beale": TestFunction(
        _beale, "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2", (1.0, 1.4),
        (3.0, 0.5), (-0.5, 4.0), (-1.0, 2.0), 2000,
        {"SGD": 3e-3, "Momentum": 3e-3, "Nesterov": 3e-3, "AdaGrad": 0.5, "RMSProp": 0.01,
         "Adam": 0.02}, 500,
    ),
    "saddle": TestFunction(
        _saddle, "x^2 + y^4/4 - y^2/2", (-1.8, 1e-3), (0.0, 1.0), (-2.0, 2.0), (-1.5, 1.5), 300,
        {"SGD": 0.02, "Momentum": 0.02, "Nesterov": 0.02, "AdaGrad": 0.5, "RMSProp": 0.1,
         "Adam": 0.1}, 200,
    ),
}


def _make_optimizers(variant: str = "pytorch") -> dict[str, Callable[[list, float], Any]]:
    from ..optim import SGD, Adagrad, Adam, RMSprop

    v = variant
    return {
        "SGD": lambda p, lr: SGD(p, lr=lr, variant=v),
        "Momentum": lambda p, lr: SGD(p, lr=lr, momentum=0.9, variant=v),
        "Nesterov": lambda p, lr: SGD(p, lr=lr, momentum=0.9, nesterov=True, variant=v),
        "AdaGrad": lambda p, lr: Adagrad(p, lr=lr, variant=v),
        "RMSProp": lambda p, lr: RMSprop(p, lr=lr, variant=v),
        "Adam": lambda p, lr: Adam(p, lr=lr, variant=v),
    }


OPTIMIZERS = ("SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam")
COLORS = {"SGD": "C3", "Momentum": "C0", "Nesterov": "C9", "AdaGrad": "C2", "RMSProp": "C4",
          "Adam": "C1"}


def optimize_2d(f: Callable[[Any, Any], Any], start: tuple[float, float], optimizer: str,
                lr: float, steps: int, variant: str = "pytorch") -> np.ndarray:
    """Minimise f(x, y) from ``start`` with one of :data:`OPTIMIZERS`; the path, (steps + 1, 2).

    The parameter is one float64 descend tensor of shape (2,); each update evaluates f,
    backpropagates and calls the optimizer's ``step()``. A diverging run stops early (its
    path is then shorter).
    """
    from ..tensor import Tensor

    theta = Tensor(np.array(start, dtype=np.float64), requires_grad=True)
    opt = _make_optimizers(variant)[optimizer]([theta], lr)
    path = np.empty((steps + 1, 2))
    path[0] = theta.data
    for t in range(steps):
        opt.zero_grad()
        f(theta[0], theta[1]).backward()
        opt.step()
        path[t + 1] = theta.data
        if not np.all(np.isfinite(theta.data)) or np.abs(theta.data).max() > 1e3:
            return path[: t + 2]
    return path


def _contours(ax: Any, fn: TestFunction) -> None:
    xs = np.linspace(*fn.xlim, 300)
    ys = np.linspace(*fn.ylim, 300)
    X, Y = np.meshgrid(xs, ys)
    Z = fn.f(X, Y)
    zmin = float(Z.min())
    shifted = Z - zmin + 1e-3
    levels = np.logspace(np.log10(shifted.min() * 10), np.log10(shifted.max()), 18)
    ax.contour(X, Y, shifted, levels=levels, cmap="Greys_r", linewidths=0.6, alpha=0.7)
    ax.plot(*fn.start, "ko", ms=4)
    ax.plot(*fn.minimum, "k*", ms=10)
    ax.set_xlim(*fn.xlim)
    ax.set_ylim(*fn.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


@experiment
def trajectories(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    gif: bool = True,
    frames: int | None = None,
    variant: str = "pytorch",
    verbose: bool = True,
) -> Result:
    """Run every optimizer on every test function; draw the paths and animate them.

    Args:
        seed: unused (the runs are deterministic: fixed starts, full gradients).
        gif: also write ``trajectories.gif``.
        frames: frames of the animation (default 60; quick 8).
        variant: ``"pytorch"`` or ``"lecture"``: the optimizers' formulas.

    Returns:
        a :class:`Result` with each path (subsampled), final points and distances to the
        minimum; checks that Adam and momentum reach the Rosenbrock minimum's neighbourhood
        (distance < 0.05) while plain SGD at momentum's learning rate does not.
    """
    run = RunDir("trajectories", out_dir, quick, verbose)
    say = run.progress
    if frames is None:
        frames = by_mode(None, quick, 8, 60)
    paths: dict[str, dict[str, np.ndarray]] = {}
    final: dict[str, dict[str, float]] = {}
    steps = {n: (fn.quick_steps or fn.steps) if quick else fn.steps
             for n, fn in TEST_FUNCTIONS.items()}
    for name, fn in TEST_FUNCTIONS.items():
        paths[name], final[name] = {}, {}
        for opt in OPTIMIZERS:
            path = optimize_2d(fn.f, fn.start, opt, fn.lr[opt], steps[name], variant)
            paths[name][opt] = path
            dist = float(np.linalg.norm(path[-1] - np.array(fn.minimum)))
            final[name][opt] = dist if len(path) == steps[name] + 1 else float("inf")
        say(f"{name}: distance to the minimum after {steps[name]} updates: "
            + ", ".join(f"{o} {fmt(final[name][o], 2)}" for o in OPTIMIZERS))

    _figures(paths, steps, variant, run)
    if gif:
        path = _animate(run, paths, steps, frames, dpi=by_mode(None, quick, 45, 80))
        run.add_figure_file(path)

    rosen = final["rosenbrock"]
    checks = {
        "Adam reaches the Rosenbrock minimum's neighbourhood": rosen["Adam"] < 0.05,
        "momentum reaches the Rosenbrock minimum's neighbourhood": rosen["Momentum"] < 0.05,
        "plain SGD at momentum's rate does not": rosen["SGD"] > 0.1,
    }
    data = _data(steps, variant, final, paths)
    run.save_csv("final_distance.csv", ["function"] + list(OPTIMIZERS),
                 [[n] + [final[n][o] for o in OPTIMIZERS] for n in TEST_FUNCTIONS])
    summary = _summary(variant, steps, final)
    return run.finish(data, summary, checks)


def _data(steps, variant, final, paths) -> dict[str, Any]:
    """The numbers written to data.json."""
    keep = {n: np.unique(np.linspace(0, steps[n], 201).astype(int)) for n in TEST_FUNCTIONS}
    data: dict[str, Any] = {
        "variant": variant,
        "functions": {n: {"formula": fn.formula, "start": fn.start, "minimum": fn.minimum,
                          "steps": steps[n], "lr": fn.lr} for n, fn in TEST_FUNCTIONS.items()},
        "final_distance": final,
        "final_point": {n: {o: paths[n][o][-1] for o in OPTIMIZERS} for n in TEST_FUNCTIONS},
        "paths_every": {n: int(keep[n][1]) for n in TEST_FUNCTIONS},
        "paths": {n: {o: paths[n][o][keep[n][keep[n] < len(paths[n][o])]] for o in OPTIMIZERS}
                  for n in TEST_FUNCTIONS},
    }
    return data


def _summary(variant, steps, final) -> str:
    """The markdown summary of the run."""
    summary = f"""
Each optimizer of `descend.optim` ({variant} formulas, momentum 0.9, default betas) minimises
four 2-D test functions from a fixed start. On the quadratic valley SGD's rate makes it zig-zag
across the valley, and momentum (rate x (1 - beta), the same terminal step) travels along it;
elsewhere SGD, momentum and Nesterov share one learning rate. Distance to the minimum after the
last update:

{md_table(["function", "updates"] + list(OPTIMIZERS),
          [[n, steps[n]] + [final[n][o] for o in OPTIMIZERS] for n in TEST_FUNCTIONS])}

Learning rates:

{md_table(["function"] + list(OPTIMIZERS),
          [[n] + [TEST_FUNCTIONS[n].lr[o] for o in OPTIMIZERS] for n in TEST_FUNCTIONS])}

On Rosenbrock's curved valley plain SGD at lr 1e-3 crawls, while momentum at the same rate
and Adam reach (1, 1); on the saddle, the adaptive methods escape the ridge fastest.
"""
    return summary


def _figures(paths, steps, variant, run) -> None:
    """Draw and save this experiment's figures."""
    # ------------------------------------------------------------------------- figures
    names = list(TEST_FUNCTIONS)
    fig, axes = figure(2, 2, figsize=(11, 9.2))
    for ax, name in zip(axes.flat, names):
        fn = TEST_FUNCTIONS[name]
        _contours(ax, fn)
        for opt in OPTIMIZERS:
            p = paths[name][opt]
            ax.plot(p[:, 0], p[:, 1], color=COLORS[opt], lw=1.3, alpha=0.9, label=opt)
            ax.plot(p[-1, 0], p[-1, 1], "o", color=COLORS[opt], ms=3.5)
        rates = ", ".join(f"{o} {fn.lr[o]:g}" for o in OPTIMIZERS[3:])
        if fn.lr["SGD"] == fn.lr["Momentum"] == fn.lr["Nesterov"]:
            rates = f"SGD, Momentum, Nesterov {fn.lr['SGD']:g}; " + rates
        else:
            rates = (f"SGD {fn.lr['SGD']:g}, Momentum {fn.lr['Momentum']:g}, "
                     f"Nesterov {fn.lr['Nesterov']:g}; " + rates)
        ax.set_title(f"{name}: {fn.formula}, {steps[name]} updates\nlr: {rates}", fontsize=8.5)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(OPTIMIZERS), fontsize=9,
               title=f"o start, * minimum, dot: last point ({variant} formulas)", title_fontsize=8)
    run.save_figure(fig, "trajectories.png", dpi=110)

    fig, axes = figure(1, len(names), figsize=(3.3 * len(names), 3.0))
    for ax, name in zip(axes, names):
        fn = TEST_FUNCTIONS[name]
        for opt in OPTIMIZERS:
            p = paths[name][opt]
            vals = fn.f(p[:, 0], p[:, 1]) - fn.f(*fn.minimum) + 1e-12
            ax.semilogy(np.arange(len(p)), vals, color=COLORS[opt], lw=1.1, label=opt)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("update")
    axes[0].set_ylabel("f(theta_t) - f(minimum)")
    axes[0].legend(fontsize=7)
    run.save_figure(fig, "loss_curves.png", dpi=90)


def _animate(run: RunDir, paths: dict[str, dict[str, np.ndarray]], steps: dict[str, int],
             frames: int, dpi: int) -> Any:
    """An animated GIF of the paths growing, one panel per function.

    The contours are drawn once; each frame restores that background and draws only the
    paths (blitting), and the frames are written by Pillow (as matplotlib's PillowWriter
    does), with one shared palette (:func:`gif_palette`) built from every line colour, so that
    no optimizer's colour is lost to quantisation.
    """
    from PIL import Image

    names = list(paths)
    fig, axes = figure(2, 2, figsize=(8.5, 6.8), dpi=dpi)
    lines: list[tuple[Any, Any, Any, np.ndarray, int]] = []
    for ax, name in zip(axes.flat, names):
        fn = TEST_FUNCTIONS[name]
        _contours(ax, fn)
        ax.set_title(name, fontsize=9)
        for opt in OPTIMIZERS:
            (line,) = ax.plot([], [], color=COLORS[opt], lw=1.4, label=opt, animated=True)
            (head,) = ax.plot([], [], "o", color=COLORS[opt], ms=4, animated=True)
            lines.append((ax, line, head, paths[name][opt], steps[name]))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(OPTIMIZERS), fontsize=8)
    canvas = fig.canvas
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    # frames spaced so that the early, fast part of each path is not a single jump
    fractions = np.linspace(0.0, 1.0, frames) ** 2
    images = []
    for k in range(frames):
        canvas.restore_region(background)
        for ax, line, head, p, total in lines:
            upto = min(int(round(fractions[k] * total)), len(p) - 1)
            line.set_data(p[: upto + 1, 0], p[: upto + 1, 1])
            head.set_data([p[upto, 0]], [p[upto, 1]])
            ax.draw_artist(line)
            ax.draw_artist(head)
        rgba = np.asarray(canvas.buffer_rgba())
        images.append(Image.fromarray(rgba[..., :3].copy()))
    palette = Image.new("P", (1, 1))
    palette.putpalette(gif_palette())
    frames_p = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    path = run.path / "trajectories.gif"
    durations = [100] * (frames - 1) + [2000]  # hold the last frame
    from ..fileio import atomic_writer

    with atomic_writer(path, "wb") as f:
        frames_p[0].save(f, format="GIF", save_all=True, append_images=frames_p[1:],
                         duration=durations, loop=0, optimize=True)
    return path


def gif_palette() -> list[int]:
    """The GIF's 256-colour palette: each line colour and its blends with white (the
    anti-aliased edges), 64 greys for the contours and text, padded with white.

    A palette quantised from one frame can drop a colour that covers few pixels there (two
    optimizers then share a colour, or one turns grey); building it from the line colours
    keeps every optimizer's colour exactly.
    """
    from matplotlib.colors import to_rgb

    colours: list[tuple[int, int, int]] = []
    for name in OPTIMIZERS:
        rgb = np.array(to_rgb(COLORS[name]))
        for w in (0.0, 0.2, 0.4, 0.6, 0.8):  # the colour, then lighter towards white
            colours.append(tuple(int(round(255 * c)) for c in (1 - w) * rgb + w))
    colours += [(g, g, g) for g in np.linspace(0, 255, 64).round().astype(int)]
    colours += [(255, 255, 255)] * (256 - len(colours))
    return [c for rgb in colours for c in rgb]
