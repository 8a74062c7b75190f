"""The ``descend`` command line: ``descend train | evaluate | predict`` and registered commands.

Subcommands are registered, not hard-wired: a subcommand is a name, a function that adds its
arguments to an :class:`argparse.ArgumentParser`, and a function that runs it with the parsed
arguments. Other parts of descend (``lab``, ``bench``, ``tune``) add theirs in a module
``descend/<package>/commands.py`` that calls :func:`register` (or uses :func:`command`);
``main`` imports every such module when it starts, so nothing here needs editing::

    # descend/lab/commands.py
    from descend.cli import add_option, register

    def add_arguments(parser):
        add_option(parser, "--epochs", type=int, default=10, help="Epochs per run.")

    def run(args):
        from descend.lab import experiments   # heavy imports inside run()
        ...
        return 0

    register("lab", add_arguments, run, help="Run the lecture's experiments.")

Third-party packages can register through the entry-point group ``descend.commands`` (each
entry point names a module to import, or a callable to call). See docs/cli.md.

Errors: bad arguments or data end the program with exit status 2 (usage) or 1 (anything
else) and ONE line on stderr, ``descend train: error: ...``; ``--debug`` shows the traceback.
Heavy optional packages (matplotlib, tqdm, tensorboardX, safetensors, threadpoolctl) are
imported only when a command needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import importlib
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

__all__ = [
    "Command", "COMMANDS", "register", "command", "add_option", "build_parser", "main",
    "CommandError", "positive_int", "nonnegative_int", "positive_float", "nonnegative_float",
    "probability", "default_logdir",
]

PROG = "descend"


class CommandError(Exception):
    """An error a command reports as one line (``descend <command>: error: <message>``)."""


# =========================================================================== registry


@dataclass
class Command:
    """A subcommand: ``add_arguments(parser)`` declares its options, ``run(args)`` executes
    it and returns the exit status (None means 0)."""

    name: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int | None]
    help: str = ""
    description: str = ""
    aliases: tuple[str, ...] = ()


#: name -> Command, in registration order (the order of ``descend --help``).
COMMANDS: dict[str, Command] = {}


def register(
    name: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int | None],
    help: str = "",  # noqa: A002 (argparse's name)
    description: str = "",
    aliases: Sequence[str] = (),
    replace: bool = False,
) -> Command:
    """Register the subcommand ``descend <name>``.

    ``help`` is its one-line summary in ``descend --help``; ``description`` the longer text
    of ``descend <name> --help`` (default: ``help``). Registering an existing name is an error
    unless ``replace``.
    """
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise ValueError(f"a command name must be lowercase letters, digits, '-' or '_', got {name!r}")
    if name in COMMANDS and not replace:
        raise ValueError(f"the command {name!r} is already registered")
    cmd = Command(name, add_arguments, run, help, description or help, tuple(aliases))
    COMMANDS[name] = cmd
    return cmd


def command(
    name: str, add_arguments: Callable[[argparse.ArgumentParser], None] | None = None, help: str = "",  # noqa: A002
    description: str = "",
) -> Callable[[Callable[[argparse.Namespace], int | None]], Callable[[argparse.Namespace], int | None]]:
    """Decorator form of :func:`register` for the ``run`` function."""

    def decorate(run: Callable[[argparse.Namespace], int | None]) -> Callable[[argparse.Namespace], int | None]:
        register(name, add_arguments or (lambda parser: None), run, help=help,
                 description=description or (run.__doc__ or "").strip())
        return run

    return decorate


def _discover_commands() -> None:
    """Import ``descend/<package>/commands.py`` of every subpackage, and the modules of the
    ``descend.commands`` entry points; each registers its subcommands."""
    root = Path(__file__).resolve().parent
    for child in sorted(root.iterdir()):
        if child.is_dir() and (child / "__init__.py").is_file() and (child / "commands.py").is_file():
            importlib.import_module(f"descend.{child.name}.commands")
    try:
        from importlib.metadata import entry_points

        eps = entry_points(group="descend.commands")
    except Exception:  # noqa: BLE001 (broken metadata must not break the CLI)
        eps = ()
    for ep in eps:
        loaded = ep.load()
        if callable(loaded) and not isinstance(loaded, type(sys)):
            loaded()


# =========================================================================== parser helpers


class _ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: ``descend train: error: ... (see --help)``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = " ".join(message.split())
        # "argument --batch_size/--batch-size: ..." -> "argument --batch_size: ..."
        message = re.sub(r"argument (-[^/:\s]+)(/-[^/:\s]+)+:", r"argument \1:", message)
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=34, width=min(100, max(60, _terminal_width())))


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns - 2
    except OSError:
        return 98


def add_option(parser: argparse.ArgumentParser | Any, name: str, *names: str, **kwargs: Any) -> argparse.Action:
    """``parser.add_argument`` that accepts the option with underscores AND with dashes
    (``--hidden_layers`` and ``--hidden-layers``), and appends ``(default: X)`` to its help."""
    flags = [name, *names]
    for flag in list(flags):
        if flag.startswith("--") and "_" in flag[2:]:
            alternative = "--" + flag[2:].replace("_", "-")
            if alternative not in flags:
                flags.append(alternative)
    default = kwargs.get("default")
    help_text = kwargs.get("help")
    if (
        help_text and help_text is not argparse.SUPPRESS and default not in (None, False, argparse.SUPPRESS)
        and "(default" not in help_text.lower()
    ):
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        kwargs["help"] = f"{help_text} (default: {shown})"
    return parser.add_argument(*flags, **kwargs)


def _number(text: str, kind: type, what: str, check: Callable[[float], bool]) -> Any:
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    if not check(value):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    return _number(text, int, "a positive integer", lambda v: v > 0)


def nonnegative_int(text: str) -> int:
    return _number(text, int, "an integer >= 0", lambda v: v >= 0)


def positive_float(text: str) -> float:
    return _number(text, float, "a positive number", lambda v: v > 0)


def nonnegative_float(text: str) -> float:
    return _number(text, float, "a number >= 0", lambda v: v >= 0)


def probability(text: str) -> float:
    return _number(text, float, "a number in [0, 1)", lambda v: 0 <= v < 1)


def momentum_value(text: str) -> float:
    return _number(text, float, "a number in [0, 1)", lambda v: 0 <= v < 1)


def _choice(options: Sequence[str], normalise: Callable[[str], str] = str.lower) -> Callable[[str], str]:
    table = {normalise(o): o for o in options}

    def parse(text: str) -> str:
        key = normalise(text)
        if key not in table:
            raise argparse.ArgumentTypeError(f"invalid choice {text!r} (choose from {', '.join(options)})")
        return table[key]

    parse.__name__ = "choice"
    return parse


def _dataset_key(text: str) -> str:
    return text.strip().lower().replace("-", "_")


# =========================================================================== main


def build_parser() -> argparse.ArgumentParser:
    """The ``descend`` parser with one subparser per registered command."""
    parser = _ArgumentParser(
        prog=PROG,
        description=(
            "descend: the lecture 'Training Neural Networks' as a NumPy library and trainer.\n"
            "Run 'descend COMMAND --help' for the options of a command."
        ),
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    from . import __version__

    from .kernels import describe as kernels_path

    parser.add_argument("--version", action="version",
                        version=f"descend {__version__} ({kernels_path()})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgumentParser)
    for cmd in COMMANDS.values():
        p = sub.add_parser(
            cmd.name, help=cmd.help, description=cmd.description, aliases=list(cmd.aliases),
            formatter_class=_HelpFormatter,
        )
        cmd.add_arguments(p)
        if not any("--debug" in a.option_strings for a in p._actions):
            p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                           help="show the full traceback of an error")
    return parser


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    known = (CommandError, ValueError, TypeError, OSError, LookupError, FloatingPointError)
    from .train.errors import TrainingError

    try:
        from .data.errors import DatasetError
    except ImportError:  # pragma: no cover
        DatasetError = TrainingError  # type: ignore[misc,assignment]
    if isinstance(error, OSError) and getattr(error, "filename", None) and error.strerror:
        text = f"{error.filename}: {error.strerror}"
    if not isinstance(error, (TrainingError, DatasetError, *known)) or not text:
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
        text += " (run with --debug for the traceback)"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the ``descend`` script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    name = PROG
    import warnings

    format_warning = warnings.formatwarning
    if not debug:  # warnings too are one line: "descend: warning: ..."
        warnings.formatwarning = lambda message, *args, **kwargs: f"{PROG}: warning: {' '.join(str(message).split())}\n"
    try:
        _discover_commands()
        parser = build_parser()
        if not argv:
            parser.print_help()
            return 2
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        cmd = COMMANDS.get(args.command) or next(c for c in COMMANDS.values() if args.command in c.aliases)
        name = f"{PROG} {cmd.name}"
        result = cmd.run(args)
        return int(result or 0)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 1
    except Exception as error:  # noqa: BLE001 (turned into one line; --debug shows it)
        if debug:
            raise
        print(f"{name}: error: {_one_line(error)}", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = format_warning


# =========================================================================== shared pieces


@contextlib.contextmanager
def blas_threads(threads: int | None, note: Callable[[str], None] | None = None) -> Iterator[None]:
    """Limit the BLAS threads (threadpoolctl, imported here) to ``threads``; 0/None: leave them."""
    if not threads:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if note is not None:
            note("Note: --threads is ignored because threadpoolctl is not installed (pip install threadpoolctl).")
        yield
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield


def _abbreviate(key: str) -> str:
    """The course's run-name abbreviation: the first letter of every ``_``-separated word."""
    return re.sub(r"(.)[^_]*_?", r"\1", key)


def _short_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "-".join(_short_value(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    if "/" in text or os.sep in text:
        text = Path(text).name
        text = text.split(".")[0] or text
    return re.sub(r"[^A-Za-z0-9.+=-]", "", text)


def default_logdir(command_name: str, config: dict[str, Any], root: str | os.PathLike[str] = "logs") -> Path:
    """``logs/<command>-<timestamp>-<abbreviated config>``, e.g.
    ``logs/train-2025-01-31_120000-bs=50,d=mnist,e=10,hl=128,lr=0.01,o=SGD,s=42``."""
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S")
    parts = [f"{_abbreviate(k)}={_short_value(v)}" for k, v in sorted(config.items()) if v not in (None, False, "")]
    name = f"{command_name}-{stamp}-{','.join(parts)}"[:200]
    path = Path(root) / name
    n = 1
    while path.exists():
        n += 1
        path = Path(root) / f"{name}.{n}"
    return path


# =========================================================================== train


TRAIN_DEFAULTS: dict[str, Any] = {
    "dataset": "mnist",
    "hidden_layers": [128],
    "activation": "relu",
    "dropout": 0.0,
    "optimizer": "SGD",
    "learning_rate": 0.01,
    "momentum": 0.0,
    "decay": "none",
    "warmup_steps": 0,
    "label_smoothing": 0.0,
    "epochs": 10,
    "batch_size": 50,
    "seed": 42,
    "threads": 1,
    "monitor": None,
    "reduce_lr_factor": 0.1,
    "task": "auto",
}
DATASETS = ("mnist", "fashion_mnist")
OPTIMIZERS = ("SGD", "Adam", "AdamW", "Adagrad", "RMSprop")
DECAYS = ("none", "linear", "exponential", "cosine", "polynomial")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
TASKS = ("auto", "multiclass", "binary", "regression")
# Options that only say where/how to run, not what to train: they do not name the run and
# may differ when resuming.
RUNTIME_OPTIONS = {
    "data_dir", "threads", "logdir", "resume", "debug", "checkpoint_every", "no_tensorboard",
    "no_plots", "command", "distributed",
}


def _opt(parser: Any, name: str, *aliases: str, default: Any = None, **kwargs: Any) -> None:
    """An option whose argparse default is None, so that given options can be told apart; the
    real default is in TRAIN_DEFAULTS and shown in the help."""
    dest = name.lstrip("-")
    if default is not None:
        TRAIN_DEFAULTS[dest] = default
    shown = TRAIN_DEFAULTS.get(dest)
    help_text = kwargs.pop("help")
    if shown is not None and shown is not False and shown != [] and "(default" not in help_text:
        shown_text = " ".join(map(str, shown)) if isinstance(shown, list) else shown
        help_text = f"{help_text} (default: {shown_text})"
    add_option(parser, name, *aliases, default=None, help=help_text, **kwargs)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    _opt(data, "--dataset", type=_choice(DATASETS, _dataset_key), metavar="{mnist,fashion_mnist}",
         help="a named image dataset, split 55,000/5,000/10,000 as in the course")
    _opt(data, "--data", metavar="FILE",
         help="your own table instead (.csv/.tsv with a header line, or .npz with one array per "
              "column); split into train/dev/test (80/10/10 %%, by --seed); features standardised "
              "with the training split's statistics")
    _opt(data, "--target", metavar="COLUMN", help="the target column of --data (required with --data)")
    _opt(data, "--task", type=_choice(TASKS), metavar="{auto,multiclass,binary,regression}",
         help="the task of --data: 'auto' infers it from the target column (0/1: binary, "
              "integers 0..K-1 or text: multiclass, other numbers: regression)")
    _opt(data, "--data_dir", metavar="DIR",
         help="where to look first for the dataset files (then $DESCEND_DATA, the user cache "
              "~/.cache/descend, /usr/share/datasets; otherwise it is downloaded)")

    model = parser.add_argument_group("model")
    _opt(model, "--hidden_layers", type=positive_int, nargs="*", metavar="N",
         help="sizes of the hidden layers, e.g. '--hidden_layers 128 128'; give none for a "
              "linear model")
    _opt(model, "--activation", type=_choice(ACTIVATIONS), metavar="{relu,tanh,sigmoid}",
         help="activation of the hidden layers")
    _opt(model, "--dropout", type=probability, metavar="P",
         help="dropout probability after each hidden layer")

    opt = parser.add_argument_group("optimisation")
    _opt(opt, "--optimizer", type=_choice(OPTIMIZERS), metavar="{SGD,Adam,AdamW,Adagrad,RMSprop}",
         help="the optimizer (PyTorch's formulas and hyperparameters)")
    _opt(opt, "--learning_rate", "--lr", type=positive_float, metavar="LR", help="the (initial) learning rate")
    _opt(opt, "--momentum", type=momentum_value, metavar="BETA",
         help="momentum: with SGD it is Nesterov momentum, as in the course (e.g. 0.9); with "
              "RMSprop, RMSprop's momentum; not used by the other optimizers")
    _opt(opt, "--decay", type=_choice(DECAYS), metavar="{none,linear,exponential,cosine,polynomial}",
         help="learning-rate decay over all updates (epochs * ceil(train size / batch size)), "
              "reaching --learning_rate_final just after training")
    _opt(opt, "--learning_rate_final", type=nonnegative_float, metavar="LR",
         help="the final learning rate of --decay (default 0; exponential needs one > 0)")
    _opt(opt, "--decay_power", type=positive_float, default=2.0, metavar="P",
         help="the power of --decay polynomial")
    _opt(opt, "--warmup_steps", type=nonnegative_int, metavar="N",
         help="linear warm-up from 0 over this many updates before the decay (or the constant rate)")
    _opt(opt, "--weight_decay", type=nonnegative_float, metavar="WD",
         help="weight decay (L2 penalty; decoupled for AdamW) (default: the optimizer's: 0, "
              "AdamW 0.01)")
    _opt(opt, "--label_smoothing", type=probability, metavar="EPS", help="label smoothing of the classification loss")
    _opt(opt, "--epochs", type=positive_int, metavar="N", help="number of epochs")
    _opt(opt, "--batch_size", type=positive_int, metavar="N", help="minibatch size")
    _opt(opt, "--seed", type=nonnegative_int, metavar="N",
         help="random seed (initialisation, shuffling, dropout, splitting --data)")

    cb = parser.add_argument_group("callbacks")
    _opt(cb, "--early_stopping", type=positive_int, metavar="PATIENCE",
         help="stop when --monitor has not improved for PATIENCE epochs, and restore the best "
              "weights however training ends")
    _opt(cb, "--monitor", metavar="METRIC",
         help="the metric of --early_stopping, --save_best and --reduce_lr_on_plateau (default: "
              "dev:accuracy for classification, dev:loss for regression)")
    _opt(cb, "--save_best", action="store_true", help="also keep best.safetensors, the checkpoint of the best epoch")
    _opt(cb, "--reduce_lr_on_plateau", type=positive_int, metavar="PATIENCE",
         help="multiply the learning rate by --reduce_lr_factor when --monitor has not improved "
              "for PATIENCE epochs")
    _opt(cb, "--reduce_lr_factor", type=_factor, metavar="F", help="the factor of --reduce_lr_on_plateau")

    run = parser.add_argument_group("run")
    _opt(run, "--logdir", metavar="DIR",
         help="the run directory (default: logs/train-<timestamp>-<abbreviated options>; when "
              "resuming, the checkpoint's directory)")
    _opt(run, "--resume", metavar="CHECKPOINT",
         help="continue an interrupted run from its checkpoint (a .safetensors file or a run "
              "directory); the options are the checkpoint's")
    _opt(run, "--checkpoint_every", type=positive_int, metavar="STEPS",
         help="also checkpoint every STEPS updates (a checkpoint is always written at every epoch end)")
    _opt(run, "--threads", type=nonnegative_int, metavar="N",
         help="BLAS threads (0: the library's default, usually all cores)")
    _opt(run, "--no_tensorboard", action="store_true", help="do not write TensorBoard event files")
    _opt(run, "--no_plots", action="store_true", help="do not draw the PNG plots")
    _opt(run, "--distributed", action="store_true",
         help="data-parallel training on the MPI processes this command was started on "
              "('mpiexec -n K descend train ...'; detected automatically under mpiexec): "
              "--batch_size is the global batch, split over the K ranks; rank 0 alone prints, "
              "logs and writes checkpoints (see docs/distributed.md; needs pip install 'descend[mpi]')")


def _factor(text: str) -> float:
    return _number(text, float, "a number in (0, 1)", lambda v: 0 < v < 1)


def _given(args: argparse.Namespace) -> dict[str, Any]:
    return {k: v for k, v in vars(args).items() if v is not None and v is not False and k not in ("command", "debug")}


def _complete(options: dict[str, Any]) -> dict[str, Any]:
    """Fill in defaults and check combinations; returns the full option dict."""
    o = {k: v for k, v in options.items()}
    if o.get("data") is not None and o.get("dataset") is not None:
        raise CommandError("give either --dataset or --data, not both")
    if o.get("data") is None and o.get("target") is not None:
        raise CommandError("--target needs --data FILE (a named dataset has its own targets)")
    if o.get("data") is not None and o.get("target") is None:
        raise CommandError("--data needs --target COLUMN, the name of the target column")
    if o.get("data") is None and o.get("task") not in (None, "auto"):
        raise CommandError("--task applies to --data; the named datasets are multiclass")
    for key, value in TRAIN_DEFAULTS.items():
        if o.get(key) is None:
            o[key] = list(value) if isinstance(value, list) else value
    if o.get("data") is not None:
        o["dataset"] = None
    if o["decay"] == "none" and o.get("learning_rate_final") is not None:
        raise CommandError("--learning_rate_final needs --decay (linear, exponential, cosine or polynomial)")
    if o["decay"] == "exponential":
        final = o.get("learning_rate_final")
        if not final:
            raise CommandError("--decay exponential needs --learning_rate_final > 0 (an exponential never reaches 0)")
    if o["decay"] != "none" and o.get("learning_rate_final") is None:
        o["learning_rate_final"] = 0.0
    if o["decay"] != "none" and o["learning_rate_final"] > o["learning_rate"]:
        raise CommandError(
            f"--learning_rate_final {o['learning_rate_final']} is above --learning_rate {o['learning_rate']}; a decay goes down"
        )
    if o.get("momentum") and o["optimizer"] not in ("SGD", "RMSprop"):
        raise CommandError(f"--momentum applies to SGD (Nesterov momentum) and RMSprop, not {o['optimizer']}")
    return o


def _load_training_data(o: dict[str, Any]) -> Any:
    from .data import load_dataset

    if o.get("data") is not None:
        task = None if o.get("task") in (None, "auto") else o["task"]
        return load_dataset(o["data"], target=o["target"], task=task, seed=o["seed"])
    name = {"mnist": "mnist", "fashion_mnist": "fashion-mnist"}[o["dataset"]]
    return load_dataset(name, data_dir=o.get("data_dir"))


def _make_schedule(o: dict[str, Any], total_steps: int) -> Any:
    from .optim import schedules

    lr = o["learning_rate"]
    warmup = o.get("warmup_steps") or 0
    if warmup >= total_steps and (warmup or o["decay"] != "none"):
        raise CommandError(
            f"--warmup_steps {warmup} must be below the number of updates ({total_steps} = epochs * "
            "batches per epoch)"
        )
    decay_steps = total_steps - warmup
    final = o.get("learning_rate_final")
    decay = o["decay"]
    if decay == "none":
        main: Any = lr
    elif decay == "linear":
        main = schedules.linear(lr, final, decay_steps)
    elif decay == "exponential":
        main = schedules.exponential(lr, final=final, total_steps=decay_steps)
    elif decay == "cosine":
        main = schedules.cosine(lr, decay_steps, final=final)
    elif decay == "polynomial":
        main = schedules.polynomial(lr, final, decay_steps, power=o.get("decay_power") or 2.0)
    else:  # pragma: no cover - argparse restricts the choices
        raise CommandError(f"unknown decay {decay!r}")
    if warmup:
        return schedules.warmup(warmup, main)
    return main


def _make_optimizer(o: dict[str, Any], params: Any, lr: Any) -> Any:
    from . import optim

    name = o["optimizer"]
    extra: dict[str, Any] = {}
    if o.get("weight_decay") is not None:
        extra["weight_decay"] = o["weight_decay"]
    if name == "SGD":
        momentum = o.get("momentum") or 0.0
        return optim.SGD(params, lr=lr, momentum=momentum, nesterov=momentum > 0, **extra)
    if name == "RMSprop":
        return optim.RMSprop(params, lr=lr, momentum=o.get("momentum") or 0.0, **extra)
    cls = {"Adam": optim.Adam, "AdamW": optim.AdamW, "Adagrad": optim.Adagrad}[name]
    return cls(params, lr=lr, **extra)


def _data_config(splits: Any, o: dict[str, Any]) -> dict[str, Any]:
    classes = None if splits.classes is None else [c if isinstance(c, (str, int, float)) else str(c) for c in splits.classes]
    config: dict[str, Any] = {
        "task": splits.task,
        "classes": classes,
        "input_shape": list(splits.input_shape),
        "name": splits.name,
    }
    if splits.schema is not None:
        config["kind"] = "tabular"
        config["path"] = str(Path(o["data"]).resolve())
        config["schema"] = splits.schema.to_dict()
    else:
        config["kind"] = "image"
        config["dataset"] = o["dataset"]
    return config


def _find_checkpoint(path_text: str) -> Path:
    path = Path(path_text).expanduser()
    if path.is_dir():
        candidate = path / "checkpoint.safetensors"
        if not candidate.is_file():
            raise CommandError(f"{path} is a directory without a checkpoint.safetensors")
        return candidate
    if not path.exists():
        raise CommandError(f"checkpoint {path} does not exist")
    return path


def _read_run_config(path: Path) -> dict[str, Any]:
    from .train.checkpoint import read_metadata

    state = read_metadata(path)
    config = state.get("config") or {}
    if state.get("kind") != "descend.train.Trainer" or "model" not in config:
        raise CommandError(f"{path} is a descend checkpoint without a model description; it was not written by 'descend train'")
    return state


def run_train(args: argparse.Namespace) -> int:
    """Train an MLP; print one line per epoch and the test evaluation."""
    from .train.checkpoint import read_metadata  # noqa: F401 (fail early without safetensors)

    given = _given(args)
    resume_path: Path | None = None
    if args.resume is not None:
        resume_path = _find_checkpoint(args.resume)
        state = _read_run_config(resume_path)
        stored = dict(state["config"].get("options") or {})
        conflicts = [
            k for k, v in given.items()
            if k not in RUNTIME_OPTIONS and stored.get(k) != v
        ]
        if conflicts:
            names = ", ".join("--" + k for k in sorted(conflicts))
            raise CommandError(
                f"{names} differ from the options of the run being resumed ({resume_path}); a resumed run "
                "keeps its options (only --logdir, --threads, --data_dir and --checkpoint_every may change)"
            )
        options = {k: v for k, v in stored.items() if k not in RUNTIME_OPTIONS}
        for key in RUNTIME_OPTIONS:
            if key in given:
                options[key] = given[key]
            elif key in stored and key not in ("logdir", "resume"):
                options[key] = stored[key]
        options["resume"] = str(resume_path)
    else:
        options = given
    o = _complete(options)
    if resume_path is not None and o.get("logdir") is None and (resume_path.parent / "logs.txt").exists():
        o["logdir"] = str(resume_path.parent)
    if o.get("logdir") is None:
        naming = {k: v for k, v in o.items() if k not in RUNTIME_OPTIONS and v is not None}
        for k in [k for k, v in naming.items() if v == TRAIN_DEFAULTS.get(k) and k not in ("dataset", "epochs", "optimizer", "learning_rate", "batch_size", "seed", "hidden_layers")]:
            del naming[k]
        o["logdir"] = str(default_logdir("train", naming))
    return _train(o, resume_path)


def _train(
    o: dict[str, Any], resume_path: Path | None, extra_callbacks: Sequence[Any] = (), communicator: Any = None,
) -> int:
    """Run ``descend train`` with the completed options ``o`` (see :func:`_complete`);
    ``extra_callbacks`` are added to the trainer's (e.g. by ``descend tune``).
    ``communicator`` defaults to the MPI job this process was started in by ``mpiexec`` (or
    a single process): data-parallel training, see docs/distributed.md."""
    import numpy as np

    from . import random as ds_random
    from .distributed import DistributedError, abort_on_error, check_global_batch_size, init_distributed, setup_phase
    from .train import EarlyStopping, ReduceLROnPlateau, RunLogger, SaveBest, Trainer
    from .train.models import build_model, mlp_config, output_units

    try:
        comm = communicator if communicator is not None else init_distributed(require=bool(o.get("distributed")))
    except DistributedError as error:
        raise CommandError(str(error)) from None
    try:
        check_global_batch_size(o["batch_size"], comm.size)
    except DistributedError as error:
        if not comm.is_root:  # the same error on every rank: rank 0 reports it
            raise SystemExit(1) from None
        raise CommandError(str(error)) from None
    o["logdir"] = comm.bcast(o["logdir"])  # rank 0's (the default name has a timestamp)
    logdir = Path(o["logdir"])
    logger = None
    try:
        with setup_phase(comm):  # a failure on any rank ends every rank here, reported once
            if not comm.is_root:  # rank 0 alone prints and logs
                logger = RunLogger(None, stdout=None, stderr=None, tensorboard=False, plots=False)
            else:
                if resume_path is None and (logdir / "checkpoint.safetensors").exists():
                    raise CommandError(
                        f"{logdir} already holds a run (checkpoint.safetensors); continue it with --resume {logdir}, "
                        "or choose another --logdir"
                    )
                logger = RunLogger(
                    logdir, options=o, tensorboard=not o.get("no_tensorboard"), plots=not o.get("no_plots"),
                    append=resume_path is not None,
                )
        with blas_threads(o.get("threads"), logger.note), setup_phase(comm):
            splits = _load_training_data(o)
            if len(splits.train) == 0:
                raise CommandError("the training split is empty")
            task = splits.task
            if o.get("label_smoothing") and task == "regression":
                raise CommandError("--label_smoothing applies to classification; the task is regression")
            outputs = output_units(task, splits.num_classes, 1 if splits.train.y.ndim == 1 else splits.train.y.shape[1])
            model_config = mlp_config(splits.input_shape, outputs, o["hidden_layers"], o["activation"], o["dropout"])
            seed = o["seed"]
            ds_random.manual_seed(seed)
            init_rng, shuffle_rng, dropout_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
            model = build_model(model_config, rng=init_rng, dropout_rng=dropout_rng)
            steps_per_epoch = math.ceil(len(splits.train) / o["batch_size"])
            lr = _make_schedule(o, o["epochs"] * steps_per_epoch)
            optimizer = _make_optimizer(o, model.parameters(), lr)
            monitor = o.get("monitor") or ("dev:loss" if task == "regression" else "dev:accuracy")
            callbacks: list[Any] = []
            if o.get("early_stopping"):
                callbacks.append(EarlyStopping(monitor, patience=o["early_stopping"]))
            if o.get("reduce_lr_on_plateau"):
                callbacks.append(ReduceLROnPlateau(monitor, factor=o["reduce_lr_factor"], patience=o["reduce_lr_on_plateau"]))
            if o.get("save_best"):
                callbacks.append(SaveBest(logdir / "best.safetensors", monitor=monitor))
            callbacks.extend(extra_callbacks)
            if callbacks and monitor.startswith("dev:") and splits.dev is None and len(callbacks) > len(extra_callbacks):
                raise CommandError(f"--monitor {monitor} needs a dev split, and this data has none")
            config = {
                "model": model_config,
                "data": _data_config(splits, o),
                "options": {k: v for k, v in o.items()},
            }
            trainer = Trainer(
                model, optimizer, task=task, callbacks=callbacks, rng=shuffle_rng, logger=logger,
                checkpoint_every=o.get("checkpoint_every"), config=config,
                label_smoothing=o.get("label_smoothing") or 0.0, communicator=comm,
            )
            if resume_path is not None:
                state = trainer.load_checkpoint(resume_path)
                where = (f"epoch {state['epochs_done'] + 1}, step {state['step_in_epoch']}" if state["step_in_epoch"]
                         else f"the end of epoch {state['epochs_done']}")
                logger.note(f"Resuming {resume_path} from {where}.")
                if state.get("finished"):
                    logger.note("That run had finished; evaluating it.")
            else:
                logger.record(
                    f"Training {model_config_text(model_config)} on {splits.name} ({task}, {len(splits.train)} "
                    f"training examples) with {o['optimizer']}; run directory {logdir}"
                )
            if comm.size > 1:
                logger.note(
                    f"Data-parallel on {comm.size} MPI processes: each rank takes {o['batch_size'] // comm.size} "
                    f"of the {o['batch_size']} examples of every global batch."
                )
        with blas_threads(o.get("threads")), abort_on_error(comm):  # a rank that fails ends them all
            if not (resume_path is not None and trainer.finished):
                try:
                    trainer.fit(splits.train, splits.dev, epochs=o["epochs"], batch_size=o["batch_size"])
                except KeyboardInterrupt:
                    if trainer.last_checkpoint is not None:
                        logger.note(f"Interrupted; continue with: descend train --resume {logdir}")
                    raise
            if splits.test is not None:
                trainer.evaluate(splits.test, name="test")
    except DistributedError as error:
        raise CommandError(str(error)) from None
    finally:
        if logger is not None:
            logger.close()
    return 0


def model_config_text(config: dict[str, Any]) -> str:
    from .train.models import describe

    return f"an MLP {describe(config)}"


# =========================================================================== evaluate / predict


def _load_model(path_text: str) -> tuple[Any, dict[str, Any], Path]:
    from .train.checkpoint import load_checkpoint
    from .train.errors import CheckpointError
    from .train.models import build_model

    path = _find_checkpoint(path_text)
    _read_run_config(path)
    state = load_checkpoint(path)
    config = state["config"]
    try:
        model = build_model(config["model"])
        model.load_state_dict(state["model"])
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path}: cannot rebuild its model: {error}") from None
    model.eval()
    return model, config, path


def _check_input_shape(config: dict[str, Any], data: Any, source: str) -> None:
    expected = tuple(config["model"]["input_shape"])
    got = tuple(data.x.shape[1:])
    if math.prod(got) != math.prod(expected):
        raise CommandError(
            f"the checkpoint's model takes inputs of shape {expected}, but {source} has examples of shape {got}"
        )


def _eval_data(args: argparse.Namespace, config: dict[str, Any], need_targets: bool) -> tuple[Any, str]:
    """(Dataset, description) for evaluate/predict."""
    from .data import load_dataset
    from .data.tabular import TabularSchema

    data_config = config["data"]
    split = args.split
    if args.data is not None and args.dataset is not None:
        raise CommandError("give either --dataset or --data, not both")
    if args.data is not None:
        path = Path(args.data).expanduser()
        if data_config.get("kind") == "tabular":
            if not path.exists():
                raise CommandError(f"data file {path} does not exist")
            schema = TabularSchema.from_dict(data_config["schema"])
            data = schema.load(path, require_target=need_targets)
            return data, str(path)
        if path.suffix.lower() != ".npz":
            raise CommandError(
                f"the checkpoint's model was trained on {data_config.get('name') or 'an image dataset'}; --data must be "
                "an MNIST-style .npz archive (or use --dataset)"
            )
        splits = load_dataset(str(path), data_dir=args.data_dir)  # an MNIST-style .npz
        data = getattr(splits, split)
        return data, f"{path} ({split})"
    if data_config.get("kind") == "tabular":
        if args.dataset is not None:
            raise CommandError("this checkpoint was trained on a table; give --data FILE")
        options = config.get("options") or {}
        path = data_config["path"]
        if not Path(path).exists():
            raise CommandError(f"the training file {path} no longer exists; give --data FILE")
        task = None if options.get("task") in (None, "auto") else options["task"]
        splits = load_dataset(path, target=data_config["schema"]["target"], task=task, seed=options.get("seed", 42))
        data = getattr(splits, split)
        if data is None:
            raise CommandError(f"{path} has no {split} split")
        return data, f"{path} ({split})"
    name = args.dataset or data_config.get("dataset") or "mnist"
    name = {"mnist": "mnist", "fashion_mnist": "fashion-mnist"}[name]
    splits = load_dataset(name, data_dir=args.data_dir)
    data = getattr(splits, split)
    return data, f"{splits.name} ({split})"


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint (.safetensors) or a run directory")
    _eval_common(parser)


def _eval_common(parser: argparse.ArgumentParser) -> None:
    add_option(parser, "--dataset", type=_choice(DATASETS, _dataset_key), metavar="{mnist,fashion_mnist}",
               help="a named dataset (default: the checkpoint's)")
    add_option(parser, "--data", metavar="FILE",
               help="a table with the training data's columns (transformed with the stored preprocessing), "
                    "or an MNIST-style .npz")
    add_option(parser, "--split", choices=("train", "dev", "test"), default="test",
               help="which split of a named dataset (or of the checkpoint's own table) to use")
    add_option(parser, "--data_dir", metavar="DIR", help="where to look first for the dataset files")
    add_option(parser, "--batch_size", type=positive_int, default=1000, metavar="N", help="batch size of the evaluation")
    add_option(parser, "--threads", type=nonnegative_int, default=1, metavar="N", help="BLAS threads (0: the library's default)")


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a checkpoint on a dataset: one ``Evaluation`` line."""
    model, config, path = _load_model(args.checkpoint)
    with blas_threads(args.threads):
        trainer, data = _checkpoint_trainer(args, model, config, need_targets=True)
        name = args.split if args.data is None or config["data"].get("kind") != "tabular" else "test"
        trainer.evaluate(data, name=name)
    return 0


class _NoOptimizer:
    """Stands in for an optimizer where only evaluation happens."""

    param_groups = [{"lr": 0.0}]
    lr = 0.0
    step_count = 0


def _checkpoint_trainer(args: argparse.Namespace, model: Any, config: dict, need_targets: bool):
    """The data of ``evaluate``/``predict`` (checked against the checkpoint's input shape) and a
    Trainer that only evaluates the checkpoint's model on it."""
    from .train import RunLogger, Trainer

    data, source = _eval_data(args, config, need_targets=need_targets)
    if data is None or len(data) == 0:
        raise CommandError(f"{source} has no examples")
    _check_input_shape(config, data, source)
    smoothing = (config.get("options") or {}).get("label_smoothing") or 0.0
    trainer = Trainer(model, _NoOptimizer(), task=config["data"]["task"], logger=RunLogger(None),
                      checkpoint=False, eval_batch_size=args.batch_size, label_smoothing=smoothing)
    return trainer, data


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint (.safetensors) or a run directory")
    _eval_common(parser)
    add_option(parser, "--output", "-o", metavar="FILE", help="write the predictions CSV here instead of stdout")


def run_predict(args: argparse.Namespace) -> int:
    """Predict with a checkpoint: a CSV with the predicted class (and class probabilities) or value."""
    from .train.tasks import decode_outputs

    model, config, path = _load_model(args.checkpoint)
    with blas_threads(args.threads):
        trainer, data = _checkpoint_trainer(args, model, config, need_targets=False)
        task = config["data"]["task"]
        outputs = trainer.predict(data)
        decoded = decode_outputs(task, outputs)
        classes = config["data"].get("classes")
        header: list[str]
        rows: list[list[Any]]
        if task == "regression":
            values = decoded["value"]
            if values.ndim == 1:
                header = ["prediction"]
                rows = [[f"{float(v):.7g}"] for v in values]
            else:
                header = [f"prediction_{j}" for j in range(values.shape[1])]
                rows = [[f"{float(v):.7g}" for v in row] for row in values]
        else:
            labels = classes if classes is not None else list(range(decoded["probabilities"].shape[1]))
            header = ["prediction"] + [f"probability_{label}" for label in labels]
            probabilities = decoded["probabilities"]
            rows = [
                [labels[int(c)]] + [f"{p:.6g}" for p in probs]
                for c, probs in zip(decoded["class"], probabilities)
            ]
    if args.output:
        out_path = Path(args.output)
        if out_path.parent and not out_path.parent.exists():
            raise CommandError(f"the directory of --output {out_path} does not exist")
        with open(out_path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        print(f"Wrote {len(rows)} predictions to {out_path}", file=sys.stderr)
    else:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        sys.stdout.flush()
    return 0


# =========================================================================== built-in commands

register(
    "train", add_train_arguments, run_train,
    help="train a network (MNIST, Fashion-MNIST or your own table)",
    description=(
        "Train a multilayer perceptron with minibatch SGD or an adaptive optimizer.\n\n"
        "Prints one line per epoch, e.g.\n"
        "  Epoch 1/10 1.4s loss=0.8300 accuracy=0.7960 dev:loss=0.3780 dev:accuracy=0.9060\n"
        "and finally an 'Evaluation' line with the test metrics. The run directory gets logs.txt,\n"
        "options.json, metrics.csv, TensorBoard event files, PNG plots and checkpoint.safetensors\n"
        "(written at every epoch end, atomically); --resume continues a run from it exactly.\n"
        "Every option may be written with underscores or dashes (--batch_size, --batch-size)."
    ),
)
register(
    "evaluate", add_evaluate_arguments, run_evaluate,
    help="evaluate a checkpoint on a dataset",
    description=(
        "Rebuild the model stored in a checkpoint and evaluate it; prints\n"
        "  Evaluation 0.3s test:loss=... test:accuracy=...\n"
        "By default on the test split of the dataset it was trained on."
    ),
)
register(
    "predict", add_predict_arguments, run_predict,
    help="predict with a checkpoint (CSV to stdout or --output)",
    description=(
        "Rebuild the model stored in a checkpoint and write its predictions as CSV: for\n"
        "classification the predicted class and one probability column per class, for\n"
        "regression the predicted value. Tables are preprocessed exactly as the training data\n"
        "(same feature columns and standardisation); a target column, if present, is ignored."
    ),
)


if __name__ == "__main__":  # pragma: no cover
    # Run as `python -m descend.cli`: delegate to the imported module, so that subcommands
    # registered by other packages land in the same registry as the parser reads.
    from descend.cli import main as _main

    raise SystemExit(_main())
