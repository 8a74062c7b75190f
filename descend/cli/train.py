"""``descend train``, ``descend evaluate`` and ``descend predict``: thin commands over
:mod:`descend.run`.

Parsing turns the command line into a :class:`descend.run.RunConfig` (or the overrides of a
resumed run); everything else — validation, data, training, evaluation, prediction — is the
library's.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

from ..run.config import DATASETS
from . import CommandError, add_option, register
from ..run.arguments import add_config_arguments, given_options

__all__ = ["run_train", "run_evaluate", "run_predict"]


# ------------------------------------------------------------------------------ train
def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)


def run_train(args: argparse.Namespace) -> int:
    """Train an MLP; print one line per epoch and the test evaluation."""
    from ..run import RunConfig
    from ..run.training import resume, train

    given = given_options(args)
    try:
        if given.get("resume") is not None:
            resume(given.pop("resume"), given)
        else:
            train(RunConfig.from_flat(given))
    except _write_errors() as error:
        raise CommandError(_with_resume_hint(error)) from None
    return 0


def _write_errors() -> tuple[type, ...]:
    from ..fileio import WriteError
    from ..train.errors import RunWriteError

    return (WriteError, RunWriteError)


def _with_resume_hint(error: BaseException) -> str:
    """The message of a failed write, with the command that continues the run."""
    import errno

    text = str(error).rstrip()
    checkpoint = getattr(error, "checkpoint", None)
    path = checkpoint or getattr(error, "path", None) or getattr(error, "filename", None)
    if path:
        full = getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT)
        text += f"{'' if text.endswith('.') else '.'} {'Free some space, then c' if full else 'C'}ontinue with: " \
                f"descend train --resume {Path(path).parent}"
    return text


# ------------------------------------------------------------------------------ evaluate / predict
def _dataset_name(text: str) -> str:
    key = text.strip().lower().replace("-", "_")
    if key not in DATASETS:
        raise argparse.ArgumentTypeError(f"invalid choice {text!r}; choose from {', '.join(DATASETS)}")
    return key


def _eval_common(parser: argparse.ArgumentParser) -> None:
    from . import nonnegative_int, positive_int

    parser.add_argument("checkpoint", metavar="RUN", help="a run directory or its checkpoint (.safetensors)")
    add_option(parser, "--dataset", type=_dataset_name, metavar="{mnist,fashion_mnist}",
               help="a named dataset (default: the run's)")
    add_option(parser, "--data", metavar="FILE",
               help="a table with the training data's columns (transformed with the stored preprocessing), "
                    "or an MNIST-style .npz")
    add_option(parser, "--split", choices=("train", "dev", "test"), default="test",
               help="which split of a named dataset (or of the run's own table) to use")
    add_option(parser, "--data_dir", metavar="DIR",
               help="where to look first for the dataset files (default: where the run found them)")
    add_option(parser, "--batch_size", type=positive_int, default=1000, metavar="N", help="batch size")
    add_option(parser, "--threads", type=nonnegative_int, default=1, metavar="N",
               help="BLAS threads (0: the library's default)")


def _check_sources(args: argparse.Namespace) -> None:
    if args.data is not None and args.dataset is not None:
        raise CommandError("give either --dataset or --data, not both")


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a run on a dataset: one ``Evaluation`` line."""
    from ..run.runs import evaluate, load_run
    from ..train.callbacks import ConsoleLog
    from . import blas_threads

    _check_sources(args)
    run = load_run(args.checkpoint)
    name = "test" if args.data is not None and run.schema is not None else args.split
    with blas_threads(args.threads):
        evaluate(run, args.data, split=args.split, name=name, batch_size=args.batch_size, dataset=args.dataset,
                 data_dir=args.data_dir, callbacks=[ConsoleLog()])
    return 0


def _check_output(output: Path, args: argparse.Namespace, run: Any) -> None:
    """Refuse an --output that would replace an input of this command."""
    from ..fileio import same_file

    if output.exists() and output.is_dir():
        raise CommandError(f"--output {output} is a directory; give a file name")
    if not output.parent.exists():
        raise CommandError(f"the directory of --output {output} does not exist")
    inputs = [run.path, run.path.parent / "best.safetensors", run.path.parent / "options.json"]
    if args.data is not None:
        inputs.append(Path(args.data))
    if run.data.get("path"):
        inputs.append(Path(run.data["path"]))
    for source in inputs:
        if same_file(output, source) or output.resolve() == Path(source).resolve():
            raise CommandError(f"--output {output} is an input of this command ({source}); choose another file")


def _write_csv(file: Any, columns: list[str], rows: list[list[Any]]) -> None:
    writer = csv.writer(file, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)


def run_predict(args: argparse.Namespace) -> int:
    """Predict with a run: a CSV with the predicted class (and class probabilities) or value."""
    from ..fileio import WriteError, atomic_writer
    from ..run.runs import load_run, predict
    from . import blas_threads

    _check_sources(args)
    run = load_run(args.checkpoint)
    output = Path(args.output).expanduser() if args.output else None
    if output is not None:
        _check_output(output, args, run)
    with blas_threads(args.threads):
        result = predict(run, args.data, split=args.split, batch_size=args.batch_size, dataset=args.dataset,
                         data_dir=args.data_dir)
    if output is None:
        _write_csv(sys.stdout, result.columns, result.rows)
        sys.stdout.flush()
        return 0
    try:
        with atomic_writer(output, "w", newline="") as file:
            _write_csv(file, result.columns, result.rows)
    except WriteError as error:
        raise CommandError(str(error)) from None
    print(f"Wrote {len(result.rows)} predictions to {output}", file=sys.stderr)
    return 0


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    _eval_common(parser)


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    _eval_common(parser)
    add_option(parser, "--output", "-o", metavar="FILE", help="write the predictions CSV here instead of stdout")


register(
    "train", add_train_arguments, run_train,
    help="train a network (MNIST, Fashion-MNIST or your own table)",
    description=(
        "Train a multilayer perceptron with minibatch SGD or an adaptive optimizer.\n\n"
        "Prints the run directory, one line per epoch, e.g.\n"
        "  Epoch 1/10 1.4s loss=0.8300 accuracy=0.7960 dev:loss=0.3780 dev:accuracy=0.9060\n"
        "and finally an 'Evaluation' line with the test metrics. The run directory gets logs.txt,\n"
        "options.json, metrics.csv, TensorBoard event files, PNG plots and checkpoint.safetensors\n"
        "(written at every epoch end, atomically); --resume continues a run from it exactly.\n"
        "Every option may be written with underscores or dashes (--batch_size, --batch-size)."
    ),
)
register(
    "evaluate", add_evaluate_arguments, run_evaluate,
    help="evaluate a run on a dataset",
    description=(
        "Rebuild the model stored in a run's checkpoint and evaluate it; prints\n"
        "  Evaluation 0.3s test:loss=... test:accuracy=...\n"
        "By default on the test split of the data it was trained on, found where the run found it."
    ),
)
register(
    "predict", add_predict_arguments, run_predict,
    help="predict with a run (CSV to stdout or --output)",
    description=(
        "Rebuild the model stored in a run's checkpoint and write its predictions as CSV: for\n"
        "classification the predicted class and one probability column per class, for\n"
        "regression the predicted value (in the target's units). Tables are preprocessed exactly as\n"
        "the training data (same feature columns and standardisation); a target column, if present,\n"
        "is ignored. --output is written atomically (a kill or a full disk leaves the old file)."
    ),
)
