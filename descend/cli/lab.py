"""Registers ``descend lab``: the lecture's experiments from the command line.

    descend lab list                         the experiments, with the lecture's slide of each
    descend lab capacity --quick             one experiment (seconds)
    descend lab trajectories --variant lecture   the lecture's optimizer formulas
    descend lab landscape --data_dir DIR     MNIST from DIR (else the data layer's lookup order)
    descend lab all --quick                  every experiment + report.html with the figures inline

Each run writes into its run directory (``--logdir``, default
``logs/lab-<name>-<timestamp>-...``): PNG figures, ``data.json`` and CSV files with the numbers,
and ``summary.md``; ``all`` puts each experiment in a subdirectory and adds ``report.html``.
``all`` runs every experiment even when one fails (raises), shows the failure in the report and
exits with status 1 at the end. Progress goes to stderr; the run directory and each
experiment's checks to stdout.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import CommandError, add_option, default_logdir, nonnegative_int, register

#: the experiments in the lecture's order (as ``descend.lab.EXPERIMENTS``, without importing it).
NAMES = ("capacity", "weight-decay", "estimator-bias", "mle-properties", "mle", "curvature",
         "gd-variants", "robbins-monro", "landscape", "residual-landscape", "trajectories",
         "optimizer-internals", "schedules", "schedule-training", "double-descent")

DESCRIPTION = """\
Run the lecture's experiments. Each trains its models with descend and writes PNG figures, the
numbers behind them (data.json, CSV) and a markdown summary into its run directory.

experiments (in the lecture's order):
  capacity             underfitting and overfitting: polynomial degree and training-set size
  weight-decay         L2 regularisation of a degree-12 polynomial, a sweep of lambda
  estimator-bias       the biased sample variance against (1 - 1/N) sigma^2
  mle-properties       the MLE is consistent and efficient (mean vs median vs Cramer-Rao)
  mle                  Normal (fixed / predicted variance), Bernoulli, Categorical: loss = NLL
  curvature            top Hessian eigenvalue by Hessian-vector products; GD past 2/lambda_max
  gd-variants          batch, online and minibatch SGD: gradient variance against m, loss/epoch
  robbins-monro        constant vs 1/t vs 1/t^2 step sizes on a convex problem
  landscape            loss along init->solution and on a filter-normalised plane (MNIST MLP)
  residual-landscape   loss surfaces of a deep MLP with and without skip connections (MNIST)
  trajectories         SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam on 2-D functions (+ GIF)
  optimizer-internals  AdaGrad's 1/sqrt(t), RMSProp's bias, Adam's bias correction, Nesterov
  schedules            every learning-rate schedule over one horizon
  schedule-training    Adam on MNIST with constant, linear, exponential, cosine, 1/sqrt(t) decay
  double-descent       test error against width, training time and label noise (MNIST)
  all                  every experiment, and report.html with every figure inline
  list                 list the experiments with the lecture's slide each reproduces

--quick runs in seconds (as the tests do); the full mode makes the figures of docs/lab.md.
--variant lecture uses the lecture's optimizer formulas (eps inside the square root, RMSProp's
beta 0.9, the lecture's Nesterov); the default is PyTorch's.

exit status: 1 when an experiment fails to run (with all, after running the others), or, with
--strict, when a check fails.

examples:
  descend lab capacity --quick
  descend lab trajectories --variant lecture
  descend lab all --quick --data_dir /path/to/mnist --logdir runs/lab"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", metavar="EXPERIMENT", help="an experiment's name, 'all' or 'list'")
    add_option(parser, "--quick", action="store_true", help="the quick mode: seconds instead of minutes")
    add_option(parser, "--seed", type=nonnegative_int, default=0, metavar="N", help="random seed")
    add_option(parser, "--variant", choices=("pytorch", "lecture"), default="pytorch",
               help="the optimizers' formulas: PyTorch's, or the lecture's (eps inside the square "
                    "root, RMSProp's beta 0.9, the lecture's Nesterov)")
    add_option(parser, "--logdir", metavar="DIR",
               help="the run directory (default: logs/lab-<experiment>-<timestamp>-<options>)")
    add_option(parser, "--data_dir", metavar="DIR",
               help="where to look first for MNIST (landscape, residual-landscape, "
                    "schedule-training, double-descent); then the data layer's lookup order "
                    "($DESCEND_DATA, the user cache, the system directory, the copy shipped with "
                    "descend; see docs/data.md)")
    add_option(parser, "--no_download", action="store_true",
               help="fail instead of downloading MNIST when it is found nowhere")
    add_option(parser, "--threads", type=nonnegative_int, default=1, metavar="N",
               help="BLAS threads; the lab's matrices are small, where more threads mostly add "
                    "overhead (0: the library's default)")
    add_option(parser, "--strict", action="store_true",
               help="exit with status 1 when a qualitative check of an experiment fails")
    add_option(parser, "--quiet", action="store_true", help="no progress messages on stderr")


def _print_result(result: object) -> None:
    error = getattr(result, "error", None)
    if error is not None:
        status = f"FAILED to run: {error}"
    else:
        failed = [k for k, ok in result.checks.items() if not ok]
        status = "ok" if not failed else f"{len(failed)} check(s) FAILED: " + "; ".join(failed)
    print(f"{result.name:20s} {result.seconds:7.1f} s  {status}  ({result.out_dir})")


def _list() -> int:
    from ..lab import EXPERIMENTS, LECTURE

    for name, fn in EXPERIMENTS.items():
        print(f"{name:20s} descend.lab.{fn.__name__}")
        print(f"{'':20s} lecture: {LECTURE[name].slide}")
        print(f"{'':20s} checks:  {LECTURE[name].claim}")
    return 0


def run(args: argparse.Namespace) -> int:
    name = args.experiment.strip().lower().replace("_", "-")
    if name == "list":
        return _list()
    if name != "all" and name not in NAMES:
        raise CommandError(f"unknown experiment {args.experiment!r}; choose from {', '.join(NAMES)}, "
                           "all or list")
    from ..lab import run as run_one
    from ..lab import run_all

    config = {"quick": args.quick, "seed": args.seed}
    if args.variant != "pytorch":
        config["variant"] = args.variant
    logdir = Path(args.logdir) if args.logdir else default_logdir(f"lab-{name}", config)
    common = dict(quick=args.quick, seed=args.seed, data_dir=args.data_dir,
                  download=not args.no_download, verbose=not args.quiet, threads=args.threads,
                  variant=args.variant)
    if name == "all":
        results, report = run_all(logdir, **common)
    else:
        results, report = [run_one(name, logdir, **common)], None
    for result in results:
        _print_result(result)
    if report is not None:
        print(f"report: {report}")
    else:
        print(f"run directory: {logdir}")
    if any(r.error is not None for r in results):
        return 1
    if args.strict and not all(r.passed for r in results):
        return 1
    return 0


register("lab", add_arguments, run, help="Run the lecture's experiments (figures, data, summary).",
         description=DESCRIPTION)
