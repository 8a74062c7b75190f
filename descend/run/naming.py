"""Default run-directory names: ``logs/train-<timestamp>-<abbreviated options>``.

The course's convention: every option that names the run is abbreviated to the first
letter of each ``_``-separated word (``batch_size`` -> ``bs``). Where two options would get
the same abbreviation (``dataset`` and ``decay``), the later one (in the configuration's
order) takes more letters of its last word (``de``), so abbreviations never collide.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = ["abbreviations", "run_name", "create_unique_directory"]


def _candidates(name: str) -> Iterable[str]:
    words = [w for w in name.split("_") if w]
    head = "".join(w[0] for w in words[:-1])
    last = words[-1]
    for n in range(1, len(last) + 1):
        yield head + last[:n]
    for n in range(2, 100):  # pragma: no cover - only for names that are prefixes of others
        yield f"{head}{last}{n}"


def abbreviations(names: Iterable[str]) -> dict[str, str]:
    """A unique abbreviation for each option name, in the given order."""
    taken: dict[str, str] = {}
    out: dict[str, str] = {}
    for name in names:
        for candidate in _candidates(name):
            if candidate not in taken:
                taken[candidate] = name
                out[name] = candidate
                break
    return out


def _short_value(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "-".join(_short_value(v) for v in value) or "none"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    if "/" in text or os.sep in text:
        text = Path(text).name
        text = text.split(".")[0] or text
    return re.sub(r"[^A-Za-z0-9.+=-]", "", text)


def run_name(command: str, options: Mapping[str, Any], order: Iterable[str], now: datetime.datetime | None = None) -> str:
    """``<command>-<YYYY-mm-dd_HHMMSS>-<abbr>=<value>,...`` (options sorted by abbreviation;
    None, False and empty values left out; at most 200 characters)."""
    table = abbreviations(order)
    stamp = (now or datetime.datetime.now()).strftime("%Y-%m-%d_%H%M%S")
    parts = sorted(
        f"{table[k]}={_short_value(v)}" for k, v in options.items()
        if k in table and v is not None and v is not False and v != "" and v != ()
    )
    return f"{command}-{stamp}-{','.join(parts)}"[:200].rstrip(",")


def create_unique_directory(root: str | os.PathLike[str], name: str) -> Path:
    """Create ``root/name`` (or ``root/name.2``, ``.3``, ... if taken) and return it.

    ``os.mkdir`` is atomic, so two runs started in the same second get different
    directories.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    n = 1
    while True:
        path = root / (name if n == 1 else f"{name}.{n}")
        try:
            path.mkdir(mode=0o755)
        except FileExistsError:
            n += 1
            continue
        return path
