"""What every experiment shares: its run directory, its result, progress messages, plotting.

An experiment is a function ``name(out_dir=None, *, quick=False, seed=0, ...) -> Result`` that

* trains its models with descend's own engine (tensors, ``backward()``, ``descend.optim``),
* writes into its run directory: PNG figures, the numbers behind them (``data.json`` and, for
  tables, ``.csv`` files) and a short ``summary.md``,
* reports progress on stderr, and
* returns a :class:`Result` holding the same numbers, the paths and the qualitative checks
  the experiment is about (``result.checks``: name -> bool).

matplotlib is imported lazily (``figure()``), with the non-interactive Agg backend, so that
``import descend`` and ``import descend.lab`` do not import it.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import functools
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..fileio import atomic_write, atomic_writer

__all__ = [
    "VARIANTS",
    "Progress",
    "Result",
    "RunDir",
    "blas_threads",
    "by_mode",
    "current_variant",
    "default_out_dir",
    "experiment",
    "figure",
    "to_jsonable",
]

#: the optimizer formulas an experiment can use: PyTorch's, or the lecture's (``variant=``
#: of ``descend.optim``: eps inside the square root, RMSProp's beta 0.9, the lecture's Nesterov).
VARIANTS = ("pytorch", "lecture")
_VARIANT: contextvars.ContextVar[str] = contextvars.ContextVar("descend_lab_variant", default="pytorch")


def current_variant() -> str:
    """The optimizer variant of the experiment running now (``"pytorch"`` or ``"lecture"``):
    every optimizer an experiment builds is given ``variant=current_variant()``."""
    return _VARIANT.get()

F = TypeVar("F", bound=Callable[..., Any])


@contextlib.contextmanager
def blas_threads(threads: int | None) -> Iterator[None]:
    """Limit the BLAS threads to ``threads`` (None or 0: leave them) with threadpoolctl, when
    it is installed (otherwise do nothing)."""
    if not threads:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=int(threads), user_api="blas"):
        yield


def experiment(fn: F) -> F:
    """Give an experiment function the keywords ``threads`` (default 1), its BLAS threads, and
    ``variant`` (``"pytorch"``, the default, or ``"lecture"``), the formulas of the optimizers it
    builds (see :func:`current_variant`; passed on to the function too when it takes it).

    The lab's matrices are small or skinny (a 10-column output layer, 2-D parameters), and
    there a multi-threaded BLAS mostly adds synchronisation: on a busy two-core machine,
    OpenBLAS with 2 threads ran these products 2 to 20 times slower than with 1. ``threads=None``
    (or 0) leaves the library's setting.
    """

    takes_variant = "variant" in inspect.signature(fn).parameters

    @functools.wraps(fn)
    def wrapper(*args: Any, threads: int | None = 1, variant: str | None = None, **kwargs: Any) -> Any:
        variant = variant or "pytorch"
        if variant not in VARIANTS:
            raise ValueError(f"{fn.__name__}: unknown optimizer variant {variant!r}; use 'pytorch' "
                             "(PyTorch's formulas) or 'lecture' (the lecture's)")
        if takes_variant:
            kwargs["variant"] = variant
        token = _VARIANT.set(variant)
        try:
            with blas_threads(threads):
                return fn(*args, **kwargs)
        finally:
            _VARIANT.reset(token)

    return wrapper  # type: ignore[return-value]


def by_mode(value: Any, quick: bool, quick_value: Any, full_value: Any) -> Any:
    """``value`` when given (not None/0), else the quick or the full mode's default."""
    return value if value else (quick_value if quick else full_value)


def default_out_dir(name: str) -> Path:
    """Where an experiment writes when no ``out_dir`` is given: ``./runs/lab/<name>``."""
    return Path("runs") / "lab" / name


def to_jsonable(value: Any) -> Any:
    """NumPy arrays and scalars -> lists and Python numbers (NaN/inf -> None), recursively."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value


class Progress:
    """Progress messages on stderr, prefixed by the experiment's name and elapsed seconds."""

    def __init__(self, name: str, enabled: bool = True) -> None:
        self.name = name
        self.enabled = enabled
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.start
            print(f"[lab {self.name} {elapsed:6.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class Result:
    """What an experiment returns (and what ``descend lab all`` puts into its report).

    Attributes:
        name: the experiment's name (``"capacity"``, ...).
        out_dir: its run directory.
        data: the numbers behind the figures (also written to ``data.json``).
        figures: the PNG (and GIF) files written, in the order the report shows them.
        files: every other file written (``data.json``, CSVs, ``summary.md``).
        summary: the markdown summary (also written to ``summary.md``).
        checks: the qualitative results the experiment demonstrates, name -> holds.
        seconds: wall-clock run time.
        quick: whether it ran in quick mode.
        variant: the optimizers' formulas, ``"pytorch"`` or ``"lecture"``.
        error: for an experiment that raised (``run_all`` goes on to the next), the error
            message; its checks are then empty and :attr:`passed` is False.
    """

    name: str
    out_dir: Path
    data: dict[str, Any] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    summary: str = ""
    checks: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0
    quick: bool = False
    variant: str = "pytorch"
    error: str | None = None

    @property
    def passed(self) -> bool:
        """True when the experiment ran and every qualitative check holds."""
        return self.error is None and all(self.checks.values())


class RunDir:
    """An experiment's output directory, and the :class:`Result` being filled in."""

    def __init__(self, name: str, out_dir: str | os.PathLike | None, quick: bool, verbose: bool = True):
        self.path = Path(out_dir) if out_dir is not None else default_out_dir(name)
        self.path.mkdir(parents=True, exist_ok=True)
        self.result = Result(name=name, out_dir=self.path, quick=quick, variant=current_variant())
        self.progress = Progress(name, verbose)
        self._start = time.perf_counter()

    # ------------------------------------------------------------------------- writing
    def save_figure(self, fig: Any, filename: str, dpi: int = 100) -> Path:
        """Save a matplotlib figure as PNG into the run directory and close it."""
        path = self.path / filename
        with atomic_writer(path, "wb") as f:
            fig.savefig(f, dpi=dpi, format=path.suffix.lstrip(".") or "png")
        self.result.figures.append(path)
        self.progress(f"wrote {path}")
        return path

    def add_figure_file(self, path: Path) -> Path:
        """Record a figure written by other means (an animated GIF)."""
        self.result.figures.append(path)
        self.progress(f"wrote {path}")
        return path

    def save_csv(self, filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
        path = self.path / filename
        with atomic_writer(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for row in rows:
                writer.writerow([_csv_cell(v) for v in row])
        self.result.files.append(path)
        return path

    def finish(self, data: dict[str, Any], summary: str, checks: dict[str, bool]) -> Result:
        """Write ``data.json`` and ``summary.md`` and complete the result."""
        result = self.result
        result.seconds = time.perf_counter() - self._start
        result.data = data
        result.checks = {k: bool(v) for k, v in checks.items()}
        mode = "quick" if result.quick else "full"
        lines = [f"# {result.name} ({mode} mode)", "", summary.strip(), "",
                 f"Optimizer formulas: {result.variant} (`--variant`).", ""]
        if checks:
            lines += ["## Checks", ""]
            lines += [f"- [{'x' if ok else ' '}] {name}" for name, ok in result.checks.items()]
            lines.append("")
        lines += [f"Run time: {result.seconds:.1f} s.", ""]
        if result.figures:
            lines += ["## Figures", ""]
            lines += [f"![{p.stem}]({p.name})" for p in result.figures]
            lines.append("")
        result.summary = "\n".join(lines)
        payload = {
            "name": result.name,
            "mode": mode,
            "seconds": result.seconds,
            "variant": result.variant,
            "checks": result.checks,
            "data": data,
        }
        json_path = self.path / "data.json"
        atomic_write(json_path, json.dumps(to_jsonable(payload), indent=1) + "\n")
        md_path = self.path / "summary.md"
        atomic_write(md_path, result.summary)
        result.files += [json_path, md_path]
        self.progress(f"done in {result.seconds:.1f} s; checks: "
                      + (", ".join(f"{k}={'ok' if v else 'FAILED'}" for k, v in result.checks.items()) or "none"))
        return result


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def figure(nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """Like ``matplotlib.pyplot.subplots``, but a stand-alone figure on an Agg canvas.

    matplotlib is imported here, on first use; pyplot and its global backend are not touched,
    so this works the same in scripts, tests and notebooks.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    subplot_kw = kwargs.pop("subplot_kw", None)
    squeeze = kwargs.pop("squeeze", True)
    sharex = kwargs.pop("sharex", False)
    sharey = kwargs.pop("sharey", False)
    gridspec_kw = dict(kwargs.pop("gridspec_kw", None) or {})
    for key in ("width_ratios", "height_ratios"):
        if key in kwargs:
            gridspec_kw[key] = kwargs.pop(key)
    kwargs.setdefault("layout", "constrained")
    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=squeeze, sharex=sharex, sharey=sharey,
                        subplot_kw=subplot_kw, gridspec_kw=gridspec_kw or None)
    return fig, axes


def fmt(x: float, digits: int = 4) -> str:
    """A number for summaries: fixed or scientific as fits."""
    if x is None or not np.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def _cell(value: Any) -> str:
    text = fmt(value) if isinstance(value, (float, np.floating)) else str(value)
    # a "|" inside a cell (||w||) would end the cell: GitHub-flavoured markdown escapes it
    return text.replace("|", "\\|")


def md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A (GitHub-flavoured) markdown table; ``|`` in a cell is escaped."""
    out = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        out.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(out)
