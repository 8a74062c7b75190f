"""The value kinds of the run configuration's fields: parse from text, check, and print back.

A kind is the one place that knows what values a field accepts, so the command line, the
JSON round trip (``options.json``) and ``descend tune``'s search spaces all agree. Each kind
has ``parse(text)`` (command-line text -> value), ``check(value)`` (raises
:class:`ConfigError` naming the accepted values), ``to_text(value)`` (the inverse of
``parse``, for printing a command line) and ``describe()`` (what the help calls it).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Sequence

__all__ = [
    "ConfigError", "Kind", "Integer", "Real", "Choice", "Text", "Flag", "IntList", "TextList",
    "suggest",
]


class ConfigError(ValueError):
    """An invalid run configuration: the message names the option and the fix."""


def suggest(word: str, candidates: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` when ``word`` is close to one of ``candidates``, else ``""``."""
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class Kind:
    """Base class: a kind of value."""

    nargs: str | None = None  # argparse's nargs for the command line
    is_flag = False

    def parse(self, text: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def check(self, value: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_text(self, value: Any) -> list[str]:
        return [str(value)]

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Integer(Kind):
    """An integer ``>= minimum``."""

    minimum: int = 0

    def parse(self, text: str) -> int:
        try:
            return self.check(int(str(text).strip()))
        except (ValueError, ConfigError):
            raise ConfigError(f"must be {self.describe()}, got {text!r}") from None

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < self.minimum:
            raise ConfigError(f"must be {self.describe()}, got {value!r}")
        return int(value)

    def describe(self) -> str:
        return "a positive integer" if self.minimum == 1 else f"an integer >= {self.minimum}"


@dataclass(frozen=True)
class Real(Kind):
    """A finite real number in an interval (``low``/``high`` None: unbounded)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def parse(self, text: str) -> float:
        try:
            return self.check(float(str(text).strip()))
        except (ValueError, ConfigError):
            raise ConfigError(f"must be {self.describe()}, got {text!r}") from None

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"must be {self.describe()}, got {value!r}")
        value = float(value)
        ok = math.isfinite(value)
        if ok and self.low is not None:
            ok = value > self.low if self.low_open else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.high_open else value <= self.high
        if not ok:
            raise ConfigError(f"must be {self.describe()}, got {value!r}")
        return value

    def to_text(self, value: Any) -> list[str]:
        return [repr(float(value))]

    def describe(self) -> str:
        if self.low == 0 and self.high is None:
            return "a positive number" if self.low_open else "a number >= 0"
        if self.low is not None and self.high is not None:
            left = "(" if self.low_open else "["
            right = ")" if self.high_open else "]"
            return f"a number in {left}{self.low:g}, {self.high:g}{right}"
        return "a finite number"


@dataclass(frozen=True)
class Choice(Kind):
    """One of ``options``; text matches case-insensitively, with ``-`` and ``_`` alike."""

    options: tuple[str, ...]

    @staticmethod
    def _key(text: str) -> str:
        return str(text).strip().lower().replace("-", "_")

    def parse(self, text: str) -> str:
        return self.check(text)

    def check(self, value: Any) -> str:
        if isinstance(value, str):
            for option in self.options:
                if self._key(option) == self._key(value):
                    return option
        close = difflib.get_close_matches(str(value).lower(), [o.lower() for o in self.options], n=1, cutoff=0.6)
        hint = f"; did you mean {self.options[[o.lower() for o in self.options].index(close[0])]!r}?" if close else ""
        raise ConfigError(f"invalid choice {value!r} (choose from {', '.join(self.options)}{hint})")

    def describe(self) -> str:
        return "{" + ",".join(self.options) + "}"


@dataclass(frozen=True)
class Text(Kind):
    """Any non-empty text (a path, a column name, a metric name)."""

    what: str = "text"

    def parse(self, text: str) -> str:
        return self.check(text)

    def check(self, value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"must be a non-empty {self.what}, got {value!r}")
        return value

    def describe(self) -> str:
        return self.what


@dataclass(frozen=True)
class Flag(Kind):
    """A boolean; on the command line ``--name`` sets it (``--no_name`` for a default-on one)."""

    is_flag = True

    def parse(self, text: str) -> bool:
        key = str(text).strip().lower()
        if key in ("true", "yes", "on", "1"):
            return True
        if key in ("false", "no", "off", "0"):
            return False
        raise ConfigError(f"must be true or false, got {text!r}")

    def check(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ConfigError(f"must be true or false, got {value!r}")
        return value

    def to_text(self, value: Any) -> list[str]:
        return ["true" if value else "false"]

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class IntList(Kind):
    """A (possibly empty) list of integers ``>= minimum`` (``--hidden_layers 128 64``)."""

    minimum: int = 1
    nargs = "*"

    def parse(self, text: str) -> tuple[int, ...]:
        item = Integer(self.minimum)
        return tuple(item.parse(t) for t in str(text).replace(",", " ").split())

    def check(self, value: Any) -> tuple[int, ...]:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"must be a list of {Integer(self.minimum).describe()}s, got {value!r}")
        item = Integer(self.minimum)
        return tuple(item.check(v) for v in value)

    def to_text(self, value: Any) -> list[str]:
        return [str(v) for v in value]

    def describe(self) -> str:
        return f"a list of {Integer(self.minimum).describe()}s"


@dataclass(frozen=True)
class TextList(Kind):
    """A list of names (``--features age income``)."""

    what: str = "name"
    nargs = "+"

    def parse(self, text: str) -> tuple[str, ...]:
        return tuple(t for t in str(text).replace(",", " ").split())

    def check(self, value: Any) -> tuple[str, ...]:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"must be a list of {self.what}s, got {value!r}")
        return tuple(Text(self.what).check(v) for v in value)

    def to_text(self, value: Any) -> list[str]:
        return [str(v) for v in value]

    def describe(self) -> str:
        return f"a list of {self.what}s"
