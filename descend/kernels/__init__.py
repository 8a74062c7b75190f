"""Fused compiled kernels, with their NumPy reference as the automatic fallback.

descend's arithmetic is specified by readable NumPy code: the optimizers as composed
transforms over flat buffers (``descend.optim.transforms``), the network's elementwise
pieces in ``descend.kernels.reference``. The C extension ``descend.kernels._fused`` (source
``_fused.c`` beside this file, built by ``pip install`` when a C compiler is present) does
the same IEEE operations in the same order, one pass over memory per kernel instead of one
NumPy call per operation, so both paths give bit-identical results
(``tests/test_kernels.py``).

>>> import descend.kernels
>>> descend.kernels.backend() in ("c", "numpy")
True

Which path is used:

* ``"c"`` when the extension imported;
* ``"numpy"`` when it is missing (no compiler at install time) or when the environment
  variable ``DESCEND_KERNELS=numpy`` was set when descend was imported (CI runs the kernel
  tests both ways).

``use("numpy")`` / ``use("c")`` switch at run time (tests and benchmarks do); ``fused()``
returns the extension module or None, and is what the library's hot paths call.
"""

from __future__ import annotations

import contextlib
import os
from types import ModuleType
from typing import Iterator

__all__ = ["backend", "available", "use", "using", "fused", "set_flush_denormal", "flush_denormal",
           "ENV", "BACKENDS"]

ENV = "DESCEND_KERNELS"
BACKENDS = ("c", "numpy")

def _load() -> tuple[ModuleType | None, str | None]:
    """The extension module and None, or None and why it is missing."""
    import importlib.util

    try:
        from . import _fused
    except ImportError as error:  # no compiler at install time, or a broken build
        if importlib.util.find_spec(f"{__name__}._fused") is None:
            return None, "no compiled _fused module; there was no C compiler when descend was installed"
        return None, str(error)
    return _fused, None


_extension, _import_error = _load()


def _initial() -> ModuleType | None:
    wanted = os.environ.get(ENV, "").strip().lower()
    if wanted in ("", "auto", "c"):
        if wanted == "c" and _extension is None:
            raise ImportError(
                f"{ENV}=c, but descend's C extension is not built ({_import_error}); reinstall "
                "descend with a C compiler present (pip install -e .), or unset the variable "
                "to use the NumPy kernels"
            )
        return _extension
    if wanted == "numpy":
        return None
    raise ValueError(
        f"{ENV}={os.environ[ENV]!r}: must be 'c', 'numpy' or 'auto' (unset means auto: C when "
        "built, else NumPy)"
    )


_active: ModuleType | None = _initial()


def fused() -> ModuleType | None:
    """The compiled kernels module when the C path is active, else None."""
    return _active


def backend() -> str:
    """``"c"`` (compiled fused kernels) or ``"numpy"`` (the NumPy reference)."""
    return "c" if _active is not None else "numpy"


def available() -> bool:
    """Whether the C extension is built and importable (whichever path is active)."""
    return _extension is not None


def use(name: str) -> None:
    """Switch the active path to ``"c"`` or ``"numpy"`` for the rest of the process."""
    global _active
    if name not in BACKENDS:
        raise ValueError(f"unknown kernel backend {name!r}: choose 'c' or 'numpy'")
    if name == "c" and _extension is None:
        raise RuntimeError(
            f"descend's C extension is not built ({_import_error}); reinstall descend with a C "
            "compiler present (pip install -e .)"
        )
    _active = _extension if name == "c" else None


@contextlib.contextmanager
def using(name: str) -> Iterator[None]:
    """Context manager: ``use(name)`` inside, the previous path after."""
    global _active
    previous = _active
    use(name)
    try:
        yield
    finally:
        _active = previous


def set_flush_denormal(enabled: bool) -> bool:
    """Flush subnormal floats to zero in the calling thread (``True``), or compute with them
    exactly again (``False``, the default); return whether the mode could be set, as
    ``torch.set_flush_denormal`` does (True on x86-64 with the C extension built, else False
    and nothing changes).

    Subnormal numbers (magnitude below 1.18e-38 in float32) are handled in microcode by x86
    CPUs, tens of times slower than other floats. Training makes them: Adam's first moment of a
    weight whose gradient is zero for many steps (e.g. of an MNIST border pixel that is rarely
    nonzero) decays geometrically into the subnormal range, and on W1 about 3 % of them are
    subnormal after an epoch, which makes the Adam pass about twice as long (docs/performance.md).

    Flushing sets the thread's FTZ and DAZ modes: subnormal inputs read as zero, subnormal
    results become zero. Every float operation of the thread follows it - descend's kernels,
    NumPy's own, a single-threaded BLAS - so the compiled and NumPy kernels still agree bit for
    bit, but the arithmetic is no longer strict IEEE: values below 1.18e-38 (float32) or
    2.2e-308 (float64) become 0. Other threads keep their own mode.
    """
    if not isinstance(enabled, bool):
        raise TypeError(f"set_flush_denormal takes True or False, got {enabled!r}")
    if _extension is None:
        return False
    return bool(_extension.set_flush_denormal(enabled))


def flush_denormal() -> bool:
    """Whether the calling thread flushes subnormal floats to zero (``set_flush_denormal``)."""
    return _extension is not None and bool(_extension.flush_denormal())


def describe() -> str:
    """One line for ``descend --version`` and ``descend bench``: the path and why."""
    if _active is not None:
        return f"kernels: c (compiled, {_extension.__file__.rsplit(os.sep, 1)[-1]})"
    if _extension is None:
        return f"kernels: numpy (C extension not built: {_import_error})"
    if os.environ.get(ENV, "").strip().lower() == "numpy":
        return f"kernels: numpy ({ENV}=numpy; the C extension is built)"
    return "kernels: numpy (chosen with descend.kernels.use; the C extension is built)"
