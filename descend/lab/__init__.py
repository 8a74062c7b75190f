"""descend.lab: the lecture's experiments, each a function that trains with descend and plots.

Every experiment is a function ``name(out_dir=None, *, quick=False, seed=0, ...) -> Result``
(plus ``threads=1``, its BLAS threads, and ``variant="pytorch"`` or ``"lecture"``, the formulas
of the optimizers it builds; see :func:`._common.experiment`) that writes PNG figures, the
numbers behind them (``data.json``, CSV) and a ``summary.md`` into its run directory, reports
progress on stderr, and returns a :class:`Result` (its ``data``, ``figures``, ``summary`` and
``checks``: the claims of the lecture it demonstrates, evaluated on this run). ``quick=True``
finishes in seconds; the full mode makes the figures of docs/lab.md.

>>> from descend import lab
>>> result = lab.capacity("runs/capacity", quick=True)      # doctest: +SKIP
>>> result.checks
{'test error minimal at an intermediate degree': True, ...}
>>> results, report = lab.run_all("runs/lab", quick=True)  # doctest: +SKIP

:data:`EXPERIMENTS` lists them in the lecture's order and :data:`LECTURE` says, for each, which
slide or figure of the lecture it reproduces and which claim it checks.

From the command line: ``descend lab NAME [--quick] [--variant lecture]``, ``descend lab all``
(every experiment, one HTML report with every figure inline; an experiment that fails is
reported and the others still run). matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from ._common import VARIANTS, Result, current_variant
from .capacity import capacity
from .curvature import curvature
from .double_descent import double_descent
from .estimator_bias import estimator_bias
from .gd_variants import gd_variants
from .landscape import landscape
from .lr_schedules import schedules
from .mle import mle
from .mle_properties import mle_properties
from .optimizer_internals import optimizer_internals
from .residual_landscape import residual_landscape
from .robbins_monro import robbins_monro
from .schedule_training import schedule_training
from .trajectories import trajectories
from .weight_decay import weight_decay

__all__ = [
    "EXPERIMENTS",
    "LECTURE",
    "NEEDS_MNIST",
    "VARIANTS",
    "Lecture",
    "Result",
    "capacity",
    "current_variant",
    "curvature",
    "double_descent",
    "estimator_bias",
    "gd_variants",
    "landscape",
    "mle",
    "mle_properties",
    "optimizer_internals",
    "residual_landscape",
    "robbins_monro",
    "run",
    "run_all",
    "schedule_training",
    "schedules",
    "trajectories",
    "weight_decay",
    "write_report",
]

#: experiment name (as on the command line) -> function, in the lecture's order.
EXPERIMENTS: dict[str, Callable[..., Result]] = {
    "capacity": capacity,
    "weight-decay": weight_decay,
    "estimator-bias": estimator_bias,
    "mle-properties": mle_properties,
    "mle": mle,
    "curvature": curvature,
    "gd-variants": gd_variants,
    "robbins-monro": robbins_monro,
    "landscape": landscape,
    "residual-landscape": residual_landscape,
    "trajectories": trajectories,
    "optimizer-internals": optimizer_internals,
    "schedules": schedules,
    "schedule-training": schedule_training,
    "double-descent": double_descent,
}

#: the experiments that read MNIST (they take ``data_dir`` and ``download``).
NEEDS_MNIST = frozenset({"landscape", "residual-landscape", "schedule-training", "double-descent"})


class Lecture(NamedTuple):
    """Where an experiment sits in the lecture (../shared/lecture.txt) and what it checks."""

    slide: str   #: the slide (its title) and the figure on it that the experiment reproduces
    claim: str   #: the lecture's claim, as the experiment's checks test it


#: experiment name -> :class:`Lecture`.
LECTURE: dict[str, Lecture] = {
    "capacity": Lecture(
        "Machine Learning Basics: DLB Figures 5.2 and 5.3 (under/overfitting, error against "
        "capacity), PRML Figure 1.6 (more data)",
        "test error is U-shaped in the capacity while training error falls; more data, less "
        "overfitting"),
    "weight-decay": Lecture(
        "Machine Learning Basics: DLB Figure 5.5 (weight decay on a high-degree polynomial)",
        "L2 regularisation lowers the generalisation error, not the training error"),
    "estimator-bias": Lecture(
        "Estimators and Bias",
        "E[(1/N) sum (x - mean)^2] = (1 - 1/N) sigma^2: biased, the bias vanishing as N grows"),
    "mle-properties": Lecture(
        "Properties of Maximum Likelihood Estimation",
        "the MLE is consistent (P(|theta_m - theta| > eps) -> 0) and efficient (reaches the "
        "Cramér-Rao bound; no consistent estimator has lower MSE)"),
    "mle": Lecture(
        "Maximum Likelihood Estimation; Mean Square Error as MLE; the output distributions "
        "(Normal, Bernoulli, categorical)",
        "each loss is the NLL of its output distribution; MSE is the NLL of a fixed-variance "
        "Normal"),
    "curvature": Lecture(
        "Gradient Descent: DLB Figure 4.1 (the learning rate is the length of a step)",
        "gradient descent is stable only for alpha < 2 / lambda_max of the Hessian"),
    "gd-variants": Lecture(
        "Gradient Descent Variants (batch, online, minibatch)",
        "the minibatch gradient is unbiased with variance tr(Sigma)/m; per epoch, SGD beats "
        "batch GD; per second, minibatches beat single examples"),
    "robbins-monro": Lecture(
        "Gradient Descent Variants: the Robbins-Monro conditions; Stochastic Gradient Descent "
        "Convergence",
        "sum alpha = inf and sum alpha^2 < inf make SGD converge on a strictly convex problem"),
    "landscape": Lecture(
        "Loss Function Visualization: Li et al. Figures 1 and 4 (filter-normalised plots)",
        "a trained network sits in a basin of the training loss"),
    "residual-landscape": Lecture(
        "Loss Function Visualization: Li et al. Figure 1 (ResNet-56 with and without skip "
        "connections)",
        "without skip connections a deep network's loss surface is chaotic and non-convex; "
        "with them it is smooth"),
    "trajectories": Lecture(
        "SGD With Momentum (DLB Figure 8.5), SGD With Nesterov Momentum, Adaptive Optimizers "
        "Animations (Radford's)",
        "momentum travels along a narrow valley where SGD zig-zags; adaptive methods escape "
        "saddles"),
    "optimizer-internals": Lecture(
        "AdaGrad, RMSProp, Adam and Adam Bias Correction (the derivations); SGD With Nesterov "
        "Momentum (the look-ahead)",
        "AdaGrad's step ~ alpha/sqrt(t); RMSProp's first r = (1 - beta) g^2; Adam's weights sum "
        "to 1 - beta1^t and s_hat removes the bias; the look-ahead equals PyTorch's iterate"),
    "schedules": Lecture(
        "Learning Rate Schedules (polynomial, linear, inverse square root, exponential, cosine, "
        "restarts, warm-up)",
        "each schedule is the formula on the slide, and the optimizer uses it update by update"),
    "schedule-training": Lecture(
        "Learning Rate Schedules: adaptive methods still need a decreasing rate",
        "Adam with a decaying rate beats a constant one; decaying too fast hurts"),
    "double-descent": Lecture(
        "Why do NNs Generalize so Well: Double Descent (Belkin et al. Figure 1; Nakkiran et al. "
        "Figures 1, 2 and 4)",
        "test error peaks at the interpolation threshold and descends again beyond it; the peak "
        "grows with label noise"),
}


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _lookup(name: str) -> Callable[..., Result]:
    key = _key(name)
    if key not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose from {', '.join(EXPERIMENTS)} (or 'all')")
    return EXPERIMENTS[key]


def run(
    name: str,
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    verbose: bool = True,
    **options: Any,
) -> Result:
    """Run the experiment ``name`` (e.g. ``"weight-decay"``); ``data_dir``/``download`` are
    passed to the experiments that read MNIST, ``options`` (``variant``, ``threads``, sizes...)
    to the experiment function."""
    fn = _lookup(name)
    if _key(name) in NEEDS_MNIST:
        options.update(data_dir=data_dir, download=download)
    return fn(out_dir, quick=quick, seed=seed, verbose=verbose, **options)


def run_all(
    out_dir: str | os.PathLike,
    *,
    quick: bool = False,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    names: Sequence[str] | None = None,
    verbose: bool = True,
    report: bool = True,
    threads: int | None = 1,
    variant: str = "pytorch",
) -> tuple[list[Result], Path | None]:
    """Run several experiments (default: all) into ``out_dir/<name>`` and write
    ``out_dir/report.html`` with every figure inline. Returns the results and the report's path.

    An experiment that raises does not stop the others: its result carries the error
    (``result.error``, ``result.passed`` is False) and the report shows it.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown optimizer variant {variant!r}; use 'pytorch' or 'lecture'")
    names = [_key(n) for n in (names or list(EXPERIMENTS))]
    for n in names:
        _lookup(n)  # every name is checked before anything runs
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    start = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        try:
            results.append(run(name, out / name, quick=quick, seed=seed, data_dir=data_dir,
                               download=download, verbose=verbose, threads=threads, variant=variant))
        except Exception as exc:  # noqa: BLE001 -- reported, and the next experiment runs
            message = f"{type(exc).__name__}: {exc}"
            if verbose:
                traceback.print_exc()
            results.append(Result(name=name, out_dir=out / name, quick=quick, variant=variant,
                                  seconds=time.perf_counter() - t0, error=message,
                                  summary=f"# {name} ({'quick' if quick else 'full'} mode)\n\n"
                                          f"**The experiment failed**: `{message}`\n"))
    path = None
    if report:
        from .report import write_report

        path = write_report(results, out / "report.html", total_seconds=time.perf_counter() - start)
    return results, path


def write_report(results: Sequence[Result], path: str | os.PathLike, **kwargs: Any) -> Path:
    """Write one self-contained HTML page with every result's summary and figures inline."""
    from .report import write_report as _write

    return _write(results, path, **kwargs)
