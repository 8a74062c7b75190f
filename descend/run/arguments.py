"""Command-line arguments of a run, generated from the run configuration's fields.

``descend train`` parses its options with these, and ``descend tune`` parses every trial's.

Nothing about an option is written here: its spelling, kind, default, accepted values and
help come from :mod:`descend.run.config`. Every option's argparse default is None, so the
options a user gave can be told apart from the defaults (:func:`given_options`); the real
defaults live in the configuration (and are shown in the help).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from .config import FieldInfo, field_infos
from .kinds import ConfigError, IntList, TextList

__all__ = ["add_config_arguments", "given_options", "GROUP_TITLES"]

GROUP_TITLES = {
    "data": "data", "model": "model", "optimizer": "optimizer", "schedule": "learning-rate schedule",
    "callbacks": "callbacks", "training": "training loop", "runtime": "run",
}


def _argparse_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = "value"  # argparse names the type in some messages
    return convert


def _spellings(flag: str, aliases: tuple[str, ...]) -> list[str]:
    """The flag, its aliases, and each with dashes for underscores (``--batch-size``)."""
    out: list[str] = []
    for name in (flag, *aliases):
        out.append(name)
        dashed = "--" + name[2:].replace("_", "-")
        if dashed not in out and dashed != name:
            out.append(dashed)
    return out


def _help(info: FieldInfo) -> str:
    text = info.help.replace("%%", "%").replace("%", "%%")
    shown = info.shown_default
    if shown is None and info.default is not None and not isinstance(info.default, bool) and info.default != ():
        shown = " ".join(map(str, info.default)) if isinstance(info.default, tuple) else str(info.default)
    return f"{text} (default: {shown})" if shown else text


def _add(group: Any, info: FieldInfo) -> None:
    kind = info.kind
    common: dict[str, Any] = {"dest": info.name, "default": None, "help": _help(info)}
    if kind.is_flag:
        if info.default is None:  # --progress / --no_progress
            group.add_argument(*_spellings(info.flag, ()), action="store_const", const=True, **common)
            negative = f"--no_{info.name}"
            group.add_argument(*_spellings(negative, ()), action="store_const", const=False, dest=info.name,
                               default=None, help=argparse.SUPPRESS)
            return
        const = not info.flag.startswith("--no_")
        group.add_argument(*_spellings(info.flag, info.aliases), action="store_const", const=const, **common)
        return
    if isinstance(kind, (IntList, TextList)):
        item = kind.parse
        group.add_argument(*_spellings(info.flag, info.aliases), nargs=kind.nargs, metavar=info.metavar,
                           type=_argparse_type(lambda text: item(text)[0] if item(text) else None), **common)
        return
    group.add_argument(*_spellings(info.flag, info.aliases), type=_argparse_type(kind.parse),
                       metavar=info.metavar or kind.describe(), **common)


def add_config_arguments(parser: argparse.ArgumentParser, *, exclude: tuple[str, ...] = ()) -> None:
    """Add every run-configuration option (but ``exclude``) to ``parser``, grouped by section."""
    groups: dict[str, Any] = {}
    for info in field_infos().values():
        if info.name in exclude:
            continue
        if info.section not in groups:
            groups[info.section] = parser.add_argument_group(GROUP_TITLES.get(info.section, info.section))
        _add(groups[info.section], info)


def given_options(args: argparse.Namespace) -> dict[str, Any]:
    """The configuration options the user gave on the command line (flat names)."""
    names = field_infos()
    out: dict[str, Any] = {}
    for key, value in vars(args).items():
        if key not in names or value is None:
            continue
        out[key] = tuple(v for v in value if v is not None) if isinstance(value, list) else value
    return out
