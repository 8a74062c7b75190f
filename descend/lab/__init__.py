"""descend.lab: the lecture's experiments, each a function that trains with descend and plots.

Every experiment is a function ``name(out_dir=None, *, quick=False, seed=0, ...) -> Result``
(plus ``threads=1``, its BLAS threads, see :func:`._common.experiment`) that writes PNG figures, the numbers behind them (``data.json``, CSV) and a ``summary.md`` into
its run directory, reports progress on stderr, and returns a :class:`Result` (its ``data``,
``figures``, ``summary`` and ``checks``: the qualitative results it demonstrates). ``quick=True``
finishes in seconds; the full mode makes the figures of docs/lab.md.

>>> from descend import lab
>>> result = lab.capacity("runs/capacity", quick=True)      # doctest: +SKIP
>>> result.checks
{'test error minimal at an intermediate degree': True, ...}
>>> results, report = lab.run_all("runs/lab", quick=True)  # doctest: +SKIP

=================  ======================================================================
``capacity``        underfitting/overfitting: polynomial degree sweep, train-set-size sweep
``weight-decay``    L2 regularisation of a degree-12 polynomial over a sweep of lambda
``estimator-bias``  the biased sample variance against (1 - 1/N) sigma^2
``mle``             Normal (fixed/predicted variance), Bernoulli, Categorical outputs: loss = NLL
``trajectories``    SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam on 2-D test functions
``schedules``       every learning-rate schedule over one horizon
``robbins-monro``   constant vs 1/t vs 1/t^2 step sizes for SGD on a convex problem
``landscape``       1-D interpolation and 2-D filter-normalised loss surface of an MNIST MLP
``double-descent``  test error against parameter count around the interpolation threshold
=================  ======================================================================

From the command line: ``descend lab NAME [--quick]``, ``descend lab all [--quick]`` (one HTML
report with every figure inline). matplotlib is imported only when a figure is drawn.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from ._common import Result
from .capacity import capacity
from .double_descent import double_descent
from .estimator_bias import estimator_bias
from .landscape import landscape
from .lr_schedules import schedules
from .mle import mle
from .robbins_monro import robbins_monro
from .trajectories import trajectories
from .weight_decay import weight_decay

__all__ = [
    "Result", "EXPERIMENTS", "NEEDS_MNIST", "run", "run_all", "write_report",
    "capacity", "weight_decay", "estimator_bias", "mle", "trajectories", "schedules",
    "robbins_monro", "landscape", "double_descent",
]

#: experiment name (as on the command line) -> function, in the lecture's order.
EXPERIMENTS: dict[str, Callable[..., Result]] = {
    "capacity": capacity,
    "weight-decay": weight_decay,
    "estimator-bias": estimator_bias,
    "mle": mle,
    "trajectories": trajectories,
    "schedules": schedules,
    "robbins-monro": robbins_monro,
    "landscape": landscape,
    "double-descent": double_descent,
}

#: the experiments that read MNIST (they take ``data_dir`` and ``download``).
NEEDS_MNIST = frozenset({"landscape", "double-descent"})


def _lookup(name: str) -> Callable[..., Result]:
    key = name.strip().lower().replace("_", "-")
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
    passed to the experiments that read MNIST, ``options`` to the experiment function."""
    fn = _lookup(name)
    key = name.strip().lower().replace("_", "-")
    if key in NEEDS_MNIST:
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
) -> tuple[list[Result], Path | None]:
    """Run several experiments (default: all) into ``out_dir/<name>`` and write
    ``out_dir/report.html`` with every figure inline. Returns the results and the report's path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    start = time.perf_counter()
    for name in names or list(EXPERIMENTS):
        results.append(run(name, out / name, quick=quick, seed=seed, data_dir=data_dir,
                           download=download, verbose=verbose, threads=threads))
    path = None
    if report:
        from .report import write_report

        path = write_report(results, out / "report.html", total_seconds=time.perf_counter() - start)
    return results, path


def write_report(results: Sequence[Result], path: str | os.PathLike, **kwargs: Any) -> Path:
    """Write one self-contained HTML page with every result's summary and figures inline."""
    from .report import write_report as _write

    return _write(results, path, **kwargs)
