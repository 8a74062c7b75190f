"""The ``descend`` command line: the command registry, parsing, and the error messages.

Subcommands are registered, not hard-wired: a subcommand is a name, a function that adds its
arguments to an :class:`argparse.ArgumentParser`, and a function that runs it with the parsed
arguments. Each command group is one module here, ``descend/cli/<name>.py`` (``train.py``:
train, evaluate, predict; ``lab.py``; ``bench.py``; ``tune.py``), which calls :func:`register`
(or uses :func:`command`); ``main`` imports every such module when it starts, so nothing here
needs editing::

    # descend/cli/lab.py
    from . import add_option, register

    def add_arguments(parser):
        add_option(parser, "--epochs", type=int, default=10, help="Epochs per run.")

    def run(args):
        from ..lab import experiments   # heavy imports inside run()
        ...
        return 0

    register("lab", add_arguments, run, help="Run the lecture's experiments.")

The command modules are the top layer of descend: they use the library's public API and
nothing imports them. Third-party packages can register through the entry-point group
``descend.commands`` (each entry point names a module to import, or a callable to call). See
docs/cli.md.

Errors: bad arguments or data end the program with exit status 2 (usage) or 1 (anything
else) and one error on stderr, ``descend train: error: ...`` (a message written on several
lines by design keeps them); ``--debug`` shows the traceback. Heavy optional packages
(matplotlib, tqdm, tensorboardX, safetensors, threadpoolctl) are imported only when a command
needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
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
    """Import the command modules (``descend/cli/<name>.py``; ``train`` first, so that train,
    evaluate and predict lead ``descend --help``), ``descend/<package>/commands.py`` of any
    subpackage that has one, and the modules of the ``descend.commands`` entry points; each
    registers its subcommands."""
    here = Path(__file__).resolve().parent
    modules = ["train"] + sorted(
        p.stem for p in here.glob("*.py") if p.stem not in ("__init__", "__main__", "train")
    )
    for module in modules:
        importlib.import_module(f"descend.cli.{module}")
    for child in sorted(here.parent.iterdir()):
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
    """An ArgumentParser whose errors are one line: ``descend train: error: ... (see --help)``,
    with a "did you mean" for a mistyped option. ``commands``: the subcommands' parsers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}

    def error(self, message: str) -> None:  # type: ignore[override]
        message = " ".join(message.split()) + self._suggestion(message)
        # "argument --batch_size/--batch-size: ..." -> "argument --batch_size: ..."
        message = re.sub(r"argument (-[^/:\s]+)(/-[^/:\s]+)+:", r"argument \1:", message)
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


    def _suggestion(self, message: str) -> str:
        """`` (did you mean --learning_rate?)`` for a mistyped option."""
        match = re.search(r"unrecognized arguments: (\S+)", message)
        if match is None or not match.group(1).startswith("-"):
            return ""
        word = match.group(1).split("=")[0]
        options = [o for action in self._get_optional_actions() for o in action.option_strings]
        close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
        return f" (did you mean {close[0]}?)" if close else ""


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
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="show descend's version, its kernel path and NumPy's BLAS, and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_ArgumentParser)
    for cmd in COMMANDS.values():
        p = parser.commands[cmd.name] = sub.add_parser(
            cmd.name, help=cmd.help, description=cmd.description, aliases=list(cmd.aliases),
            formatter_class=_HelpFormatter,
        )
        cmd.add_arguments(p)
        with contextlib.suppress(argparse.ArgumentError):  # the command may declare its own --debug
            p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                           help="show the full traceback of an error")
    return parser


def _known_error(error: BaseException) -> bool:
    from ..run.kinds import ConfigError

    known: tuple[type, ...] = (CommandError, ConfigError, ValueError, TypeError, OSError, LookupError,
                               FloatingPointError)
    with contextlib.suppress(ImportError):
        from ..train.errors import TrainingError

        known += (TrainingError,)
    with contextlib.suppress(ImportError):
        from ..data.errors import DatasetError

        known += (DatasetError,)
    with contextlib.suppress(ImportError):
        from ..distributed import DistributedError

        known += (DistributedError,)
    return isinstance(error, known)


def error_text(error: BaseException) -> str:
    """The message of ``error`` for the console: its own lines (a message written on several
    lines by design stays so; runs of spaces within a line are kept), the type name and a
    ``--debug`` hint for unexpected errors."""
    text = "\n".join(" ".join(line.split()) for line in str(error).strip().splitlines()).strip()
    if isinstance(error, OSError) and getattr(error, "filename", None) and error.strerror and not text.startswith(
            ("could not", "refusing", "cannot")):
        text = f"{error.filename}: {error.strerror}"
    if not _known_error(error) or not text:
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
        text += " (run with --debug for the traceback)"
    return text


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM ends a run as Ctrl-C does: checkpoint kept, resume hint


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str], name: list[str]) -> int:
    """Parse and run; ``name[0]`` becomes ``descend <command>`` for the error messages."""
    _discover_commands()
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 2
    args, extra = parser.parse_known_args(argv)
    if extra:  # reported by the command's own parser, which can suggest its options
        subparser = parser.commands.get(getattr(args, "command", None) or "", parser)
        subparser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    cmd = COMMANDS.get(args.command) or next(c for c in COMMANDS.values() if args.command in c.aliases)
    name[0] = f"{PROG} {cmd.name}"
    return int(cmd.run(args) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (the ``descend`` script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    name = [PROG]
    import warnings

    format_warning = warnings.formatwarning
    if not debug:  # warnings too are one line: "descend: warning: ..."
        warnings.formatwarning = lambda message, *args, **kwargs: f"{PROG}: warning: {' '.join(str(message).split())}\n"
    try:
        with _sigterm_as_interrupt():
            return _run(argv, name)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{name[0]}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 1
    except Exception as error:  # noqa: BLE001 (turned into a message; --debug shows the traceback)
        if debug:
            raise
        print(f"{name[0]}: error: {error_text(error)}", file=sys.stderr)
        return 1
    finally:
        warnings.formatwarning = format_warning


# =========================================================================== shared pieces


class _VersionAction(argparse.Action):
    """``--version``: what a performance question needs first, worked out only when asked."""

    def __call__(self, parser, namespace, values, option_string=None):
        from .. import __version__
        from ..kernels import describe as kernels_path

        print(f"descend {__version__} ({kernels_path()}; BLAS: {blas_description()})")
        parser.exit()


def blas_description() -> str:
    """NumPy's BLAS library, version, kernel family and threads (threadpoolctl), and the
    OPENBLAS_CORETYPE that pins its kernels, if set: e.g. ``openblas 0.3.31 Haswell, 2
    threads, kernels pinned by OPENBLAS_CORETYPE=Haswell``."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (pip install threadpoolctl to see it)"
    pools = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    parts = [" ".join(str(x) for x in (i.get("internal_api"), i.get("version"), i.get("architecture")) if x)
             + f", {i.get('num_threads')} thread{'s' if i.get('num_threads') != 1 else ''}" for i in pools]
    text = "; ".join(parts) or "none found"
    pinned = os.environ.get("OPENBLAS_CORETYPE")
    if pinned and any(i.get("internal_api") == "openblas" for i in pools):
        text += f", kernels pinned by OPENBLAS_CORETYPE={pinned}"
    return text


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


def default_logdir(command_name: str, config: dict[str, Any], root: str | os.PathLike[str] = "logs") -> Path:
    """A new directory ``<root>/<command>-<timestamp>-<abbreviated config>`` (created, unique)."""
    from ..run.naming import create_unique_directory, run_name

    return create_unique_directory(root, run_name(command_name, config, list(config)))


if __name__ == "__main__":  # pragma: no cover
    # Run as `python -m descend.cli`: delegate to the imported module, so that subcommands
    # registered by other packages land in the same registry as the parser reads.
    from descend.cli import main as _main

    raise SystemExit(_main())
