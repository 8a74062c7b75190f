"""``descend tune`` takes every option of ``descend train``, each fixed or a search space.

The options are not re-declared here: they are the fields of the run configuration
(:mod:`descend.run.config`), so a new training option is tunable the day it is added. For each of them ``descend tune`` accepts the value as text and decides:

* a search space (``loguniform:1e-4:1e-1``, ``choice:SGD,Adam``, see
  :mod:`descend.tune.space`) is checked against the option's type and accepted values now and
  sampled per trial;
* anything else is a fixed value, passed to every trial exactly as ``descend train`` would
  get it (and checked by ``descend train``'s parser before the first trial).

Every trial's options are parsed by ``descend train``'s parser from a command line, so a
trial is, to the letter, the ``descend train`` command that ``best.json`` prints.

Values of list options (``--hidden_layers 128 128``) in a choice are written with spaces
inside one value: ``--hidden_layers "choice:128,256,128 128"`` (three choices: one layer of
128, one of 256, two of 128). Flags (``--save_best``) take ``choice:true,false``.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass, field
from typing import Any, Sequence

from ..run.arguments import add_config_arguments, given_options
from ..run.config import FieldInfo, field_infos
from ..run.kinds import ConfigError
from .errors import TuneError
from .space import KINDS, SearchSpace, SearchSpaceError, looks_like_space, parse_space

__all__ = [
    "TrainOption",
    "train_options",
    "TrainOptions",
    "split_train_options",
    "trial_argv",
    "parse_train_argv",
    "EXCLUDED",
]

#: Options of ``descend train`` that ``descend tune`` manages itself (each trial gets its own
#: run directory inside the tune directory; ``--resume`` continues the whole study; a trial
#: runs in one process, never data-parallel).
EXCLUDED = ("logdir", "resume", "overwrite", "distributed")

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


class _RaisingParser(argparse.ArgumentParser):
    """``descend train``'s options in a parser whose errors raise :class:`TuneError`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise TuneError(" ".join(message.split()))

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise TuneError((message or f"exit {status}").strip())


@dataclass
class TrainOption:
    """One option of ``descend train`` (a run-configuration field) as ``descend tune`` sees it."""

    dest: str
    flags: list[str]  # every spelling (--batch_size, --batch-size)
    info: FieldInfo

    @property
    def flag(self) -> str:
        return self.flags[0]

    @property
    def is_flag(self) -> bool:
        return self.info.kind.is_flag

    @property
    def is_list(self) -> bool:
        return self.info.kind.nargs in ("*", "+")

    @property
    def help(self) -> str:
        return self.info.help

    @property
    def metavar(self) -> str | None:
        return self.info.metavar

    def convert(self, text: str) -> Any:
        """``text`` as the option's value (raises ValueError if the option rejects it)."""
        if self.is_flag:
            lowered = text.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(f"a flag takes true or false, got {text!r}")
        try:
            value = self.info.kind.parse(text)
        except ConfigError as error:
            raise ValueError(str(error)) from None
        if self.is_list:
            if not value and self.info.kind.nargs == "+":
                raise ValueError("needs at least one value")
            return list(value)
        return value

    def tokens(self, value: Any) -> list[str]:
        """The command-line tokens giving this option ``value`` (a sampled or fixed value)."""
        if self.is_flag:
            if isinstance(value, str):
                value = self.convert(value)
            return [self.flag] if value else []
        if self.is_list:
            if isinstance(value, (list, tuple)):
                items = [_text(v) for v in value]
            else:
                items = str(value).split() if isinstance(value, str) else [_text(value)]
            return [self.flag, *items]
        return [self.flag, _text(value)]


def _rejects_fraction(option: TrainOption) -> bool:
    try:
        option.convert("1.5")
    except (ValueError, TypeError):
        return True
    return False


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _train_parser() -> _RaisingParser:
    parser = _RaisingParser(prog="descend train", add_help=False)
    add_config_arguments(parser)
    return parser


def train_options() -> dict[str, TrainOption]:
    """``name -> TrainOption`` for every run-configuration option that tune passes on."""
    found: dict[str, TrainOption] = {}
    for name, info in field_infos().items():
        if name in EXCLUDED:
            continue
        dashed = "--" + info.flag[2:].replace("_", "-")
        flags = [info.flag] + ([dashed] if dashed != info.flag else [])
        found[name] = TrainOption(name, flags, info)
    return found


def parse_train_argv(argv: Sequence[str]) -> dict[str, Any]:
    """``descend train``'s options given by ``argv`` (only those given), as its parser makes
    them. Raises :class:`TuneError` with the parser's message."""
    namespace = _train_parser().parse_args(list(argv))
    return given_options(namespace)


@dataclass
class TrainOptions:
    """The train options of a ``descend tune`` command, split into fixed ones and spaces."""

    fixed: list[str] = field(default_factory=list)  # argv tokens passed to every trial
    spaces: list[SearchSpace] = field(default_factory=list)
    options: dict[str, TrainOption] = field(default_factory=dict)
    given: dict[str, str] = field(default_factory=dict)  # dest -> the text as given (for records)

    def space_names(self) -> list[str]:
        return [s.name for s in self.spaces]


def split_train_options(args: argparse.Namespace, options: dict[str, TrainOption] | None = None) -> TrainOptions:
    """Sort the train options given to ``descend tune`` into fixed values and search spaces.

    Raises :class:`SearchSpaceError` / :class:`TuneError` naming the option and what it
    accepts.
    """
    options = options if options is not None else train_options()
    result = TrainOptions(options=options)
    for dest, option in options.items():
        raw = getattr(args, dest, None)
        if raw is None:
            continue
        text = _given_text(option, raw)
        result.given[dest] = text
        kind = looks_like_space(text)
        if kind is not None and (kind in KINDS or _numeric(option)):
            result.spaces.append(_space(option, raw, text))
        else:
            result.fixed += _fixed_tokens(option, raw, text)
    return result


def _given_text(option: TrainOption, raw: Any) -> str:
    if option.is_flag:
        return "true" if raw is True else str(raw)
    if isinstance(raw, list):
        return " ".join(str(r) for r in raw)
    return str(raw)


def _space(option: TrainOption, raw: Any, text: str) -> SearchSpace:
    if option.is_list and len(raw if isinstance(raw, list) else [raw]) > 1:
        raise SearchSpaceError(
            f"{option.flag}: give a search space as ONE value (quote it if it contains spaces), "
            f"e.g. {option.flag} \"choice:128,256,128 128\""
        )
    return parse_space(option.flag, option.dest, text, convert=option.convert, integer=_integer_option(option))


def _fixed_tokens(option: TrainOption, raw: Any, text: str) -> list[str]:
    """The tokens of a fixed (not searched) value, checked."""
    if option.is_flag:
        if raw is True or text.lower() in _TRUE:
            return [option.flag]
        if text.lower() in _FALSE:
            return []
        raise TuneError(f"{option.flag} is a flag: give it alone, or choice:true,false to search it")
    try:
        option.convert(text)
    except ValueError as error:
        raise TuneError(
            f"{option.flag} {text!r} is neither a valid value ({error}) nor a search space; "
            f"accepted forms: a value, or {', '.join(k + ':...' for k in KINDS)}"
        ) from None
    return option.tokens(raw if isinstance(raw, list) else text)


def _numeric(option: TrainOption) -> bool:
    """Whether the option takes numbers (then ``WORD:...`` can only be a mistyped space)."""
    if option.is_flag:
        return False
    try:
        value = option.convert("1")
    except (ValueError, TypeError):
        return False
    if isinstance(value, list):
        value = value[0] if value else None
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer_option(option: TrainOption) -> bool:
    if option.is_flag:
        return False
    try:
        option.convert("1")
    except (ValueError, TypeError):
        return False
    return _rejects_fraction(option)


def trial_argv(fixed: Sequence[str], spaces: Sequence[SearchSpace], options: dict[str, TrainOption], params: dict[str, Any]) -> list[str]:
    """The ``descend train`` arguments of a trial with sampled ``params``."""
    argv = list(fixed)
    for space in spaces:
        if space.name in params:
            argv += options[space.name].tokens(params[space.name])
    return argv


def quote(argv: Sequence[str]) -> str:
    return " ".join(shlex.quote(a) for a in argv)
