"""Search spaces written as option values: ``--learning_rate loguniform:1e-4:1e-1``.

Any option of ``descend train`` given to ``descend tune`` either has a fixed value (passed to
every trial as is) or one of these forms, which Optuna samples per trial:

=============================  =================================================================
``uniform:LOW:HIGH``           a float uniformly in [LOW, HIGH]
``uniform:LOW:HIGH:STEP``      a float in {LOW, LOW+STEP, ...} (HIGH - LOW a multiple of STEP)
``loguniform:LOW:HIGH``        a float whose logarithm is uniform (0 < LOW <= HIGH)
``int:LOW:HIGH``               an integer in LOW..HIGH (both included)
``int:LOW:HIGH:STEP``          an integer in LOW, LOW+STEP, ..., <= HIGH
``logint:LOW:HIGH``            an integer, log-uniformly (0 < LOW <= HIGH)
``choice:A,B,C``               one of the listed values (categorical)
=============================  =================================================================

A choice's values are checked against the option's type and accepted values before the study
starts, so a typo fails at once, naming the option and the accepted forms, not in trial 17.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

__all__ = ["SearchSpace", "SearchSpaceError", "KINDS", "FORMS", "looks_like_space", "parse_space"]

KINDS = ("uniform", "loguniform", "int", "logint", "choice")

FORMS = (
    "uniform:LOW:HIGH[:STEP], loguniform:LOW:HIGH, int:LOW:HIGH[:STEP], logint:LOW:HIGH, "
    "choice:A,B,..."
)

_SPACE = re.compile(r"^\s*([A-Za-z_][A-Za-z_]*)\s*:(.*)$", re.S)


class SearchSpaceError(ValueError):
    """A search space (or a fixed value of ``descend tune``) that cannot be used."""


def looks_like_space(text: str) -> str | None:
    """The kind named by ``text`` (``"loguniform"`` for ``loguniform:1e-4:1e-1``), or None when
    ``text`` does not start with ``WORD:``. The kind is returned lower-cased and may be unknown."""
    match = _SPACE.match(text)
    return match.group(1).lower() if match else None


def _number(option: str, text: str, what: str, spec: str, integer: bool) -> float | int:
    text = text.strip()
    try:
        if integer:
            value = float(text)
            if not value.is_integer():
                raise ValueError
            return int(value)
        value = float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise SearchSpaceError(
            f"{option} {spec}: {what} {text!r} is not {kind}; accepted forms: {FORMS}"
        ) from None
    if not math.isfinite(value):
        raise SearchSpaceError(f"{option} {spec}: {what} must be finite, got {text!r}")
    return value


@dataclass
class SearchSpace:
    """One option's search space.

    Attributes:
        option: the option as written (``--learning_rate``), for messages.
        name: the parameter's name in the study (the option's ``dest``: ``learning_rate``).
        kind: one of :data:`KINDS`.
        low, high, step: the bounds of numeric kinds (``step`` None for continuous ones).
        choices: the values of a ``choice`` (already converted by the option's type).
        spec: the text it was parsed from.
    """

    option: str
    name: str
    kind: str
    spec: str
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    choices: list[Any] = field(default_factory=list)

    @property
    def log(self) -> bool:
        return self.kind in ("loguniform", "logint")

    def suggest(self, trial: Any) -> Any:
        """Sample a value with an ``optuna.Trial``."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.name, self.choices)
        if self.kind in ("int", "logint"):
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), step=self.step, log=self.log)

    def distribution(self) -> Any:
        """The equivalent ``optuna.distributions`` object."""
        from optuna import distributions as d

        if self.kind == "choice":
            return d.CategoricalDistribution(self.choices)
        if self.kind in ("int", "logint"):
            return d.IntDistribution(int(self.low), int(self.high), log=self.log, step=int(self.step or 1))
        return d.FloatDistribution(float(self.low), float(self.high), log=self.log, step=self.step)

    def describe(self) -> str:
        return f"{self.option} {self.spec}"


def parse_space(
    option: str,
    name: str,
    spec: str,
    convert: Callable[[str], Any] | None = None,
    integer: bool = False,
    allowed: Sequence[Any] | None = None,
) -> SearchSpace:
    """Parse ``spec`` (e.g. ``loguniform:1e-4:1e-1``) given for ``option``.

    Args:
        option: the option as written (for messages).
        name: the study's parameter name.
        spec: the text.
        convert: the option's type conversion, applied to each choice (and used to check
            numeric bounds); raising ``ValueError``/``TypeError`` marks a value invalid.
        integer: the option takes integers (so ``uniform``/``loguniform`` are refused).
        allowed: the option's accepted values (argparse ``choices``), if restricted.

    Raises:
        SearchSpaceError: naming the option, the problem and the accepted forms.
    """
    match = _SPACE.match(spec)
    if not match:
        raise SearchSpaceError(f"{option} {spec!r} is not a search space; accepted forms: {FORMS}")
    kind = match.group(1).lower()
    rest = match.group(2)
    if kind not in KINDS:
        raise SearchSpaceError(
            f"{option} {spec}: unknown search space kind {kind!r}; accepted forms: {FORMS}"
        )
    space = SearchSpace(option=option, name=name, kind=kind, spec=spec.strip())
    if kind == "choice":
        space.choices = _parse_choices(option, spec, rest, convert, allowed)
        return space
    space.low, space.high, space.step = _parse_range(space, rest, integer, convert, allowed)
    return space


def _parse_choices(option: str, spec: str, rest: str, convert: Callable[[str], Any] | None,
                   allowed: Sequence[Any] | None) -> list[Any]:
    values = [v.strip() for v in rest.split(",")]
    if not rest.strip() or any(v == "" for v in values):
        raise SearchSpaceError(
            f"{option} {spec}: a choice needs one or more non-empty values separated by commas, "
            f"e.g. choice:64,128,256; accepted forms: {FORMS}"
        )
    if len(set(values)) != len(values):
        duplicates = sorted({v for v in values if values.count(v) > 1})
        raise SearchSpaceError(f"{option} {spec}: the value {duplicates[0]!r} is listed twice")
    converted = [_check_value(option, spec, value, convert, allowed) for value in values]
    return [_categorical(v, c) for v, c in zip(values, converted)]


_RANGE_FORMS = {"uniform": "uniform:LOW:HIGH[:STEP]", "loguniform": "loguniform:LOW:HIGH",
                "int": "int:LOW:HIGH[:STEP]", "logint": "logint:LOW:HIGH"}


def _range_parts(option: str, spec: str, kind: str, rest: str, integer: bool) -> list[str]:
    parts = rest.split(":")
    if integer and kind not in ("int", "logint"):
        raise SearchSpaceError(
            f"{option} takes integers, so {kind}:... cannot sample it; use int:LOW:HIGH[:STEP], "
            f"logint:LOW:HIGH or choice:A,B,..."
        )
    allowed_parts = (2, 3) if kind in ("uniform", "int") else (2,)
    if len(parts) not in allowed_parts:
        raise SearchSpaceError(
            f"{option} {spec}: {kind} takes {_RANGE_FORMS[kind]} (got {len(parts)} value{'s' if len(parts) != 1 else ''} "
            f"after {kind}:); accepted forms: {FORMS}"
        )
    return parts


def _check_step(option: str, spec: str, kind: str, low: float, high: float, step: float, text: str) -> None:
    if step <= 0:
        raise SearchSpaceError(f"{option} {spec}: STEP must be positive, got {text.strip()}")
    if kind == "uniform":
        count = (high - low) / step
        if abs(count - round(count)) > 1e-8 * max(1.0, abs(count)):
            raise SearchSpaceError(
                f"{option} {spec}: HIGH - LOW ({high - low:g}) must be a multiple of STEP ({step:g})"
            )


def _parse_range(space: SearchSpace, rest: str, integer: bool, convert: Callable[[str], Any] | None,
                 allowed: Sequence[Any] | None) -> tuple[Any, Any, Any]:
    option, spec, kind = space.option, space.spec, space.kind
    parts = _range_parts(option, spec, kind, rest, integer)
    numeric_integer = kind in ("int", "logint")
    low = _number(option, parts[0], "LOW", spec, numeric_integer)
    high = _number(option, parts[1], "HIGH", spec, numeric_integer)
    step = _number(option, parts[2], "STEP", spec, numeric_integer) if len(parts) == 3 else None
    if low > high:
        raise SearchSpaceError(f"{option} {spec}: LOW ({parts[0].strip()}) is greater than HIGH ({parts[1].strip()})")
    if space.log and low <= 0:
        raise SearchSpaceError(f"{option} {spec}: {kind} needs LOW > 0 (a logarithmic scale), got {parts[0].strip()}")
    if step is not None:
        _check_step(option, spec, kind, low, high, step, parts[2])
    for text in (parts[0], parts[1]):
        _check_value(option, spec, text.strip(), convert, allowed)
    return low, high, step


def _check_value(option: str, spec: str, text: str, convert: Callable[[str], Any] | None, allowed: Sequence[Any] | None) -> Any:
    value: Any = text
    if convert is not None:
        try:
            value = convert(text)
        except (ValueError, TypeError) as error:
            detail = str(error).strip()
            raise SearchSpaceError(
                f"{option} {spec}: {text!r} is not a valid value of {option}"
                + (f" ({detail})" if detail else "")
            ) from None
    if allowed is not None and value not in allowed:
        raise SearchSpaceError(
            f"{option} {spec}: {text!r} is not one of the values {option} accepts "
            f"({', '.join(str(a) for a in allowed)})"
        )
    return value


def _categorical(text: str, converted: Any) -> Any:
    """The value Optuna records for a choice: a number when it was written as one (so the
    trials table and importances show numbers), else the text as written (a list option's
    value of several items: its items separated by single spaces)."""
    if isinstance(converted, list):
        if len(converted) == 1:
            return _categorical(text.strip(), converted[0])
        return " ".join(text.split())
    if isinstance(converted, bool):
        return text
    if isinstance(converted, int):
        return converted
    if isinstance(converted, float):
        return int(converted) if converted.is_integer() and re.fullmatch(r"[+-]?\d+", text.strip()) else converted
    return text
