"""Where descend's randomness comes from: one default ``numpy.random.Generator``.

Every random layer and initialiser takes an optional ``rng`` (a ``numpy.random.Generator``) and
falls back to the generator returned by ``default_rng()``. ``manual_seed(seed)`` replaces that
generator by a freshly seeded one, so

>>> from descend import nn, random
>>> _ = random.manual_seed(0); a = nn.Linear(3, 2).weight.data.copy()
>>> _ = random.manual_seed(0); b = nn.Linear(3, 2).weight.data.copy()
>>> bool((a == b).all())
True

Before any ``manual_seed`` the default generator is seeded from the operating system's entropy,
as NumPy's own ``default_rng()`` is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["manual_seed", "default_rng", "initial_seed", "as_rng"]

# The default generator is made on first use: creating it at import would import
# numpy.random, about a third of the time of ``import descend``.
_state: dict[str, Any] = {"rng": None, "seed": None}


def manual_seed(seed: int) -> np.random.Generator:
    """Reset the default generator to ``numpy.random.default_rng(seed)`` and return it."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed needs an integer seed, got {seed!r}")
    if seed < 0:
        raise ValueError(f"manual_seed needs a non-negative seed, got {seed}")
    _state["rng"] = np.random.default_rng(int(seed))
    _state["seed"] = int(seed)
    return _state["rng"]


def default_rng() -> np.random.Generator:
    """The generator used wherever no explicit ``rng`` is given."""
    rng = _state["rng"]
    if rng is None:
        rng = _state["rng"] = np.random.default_rng()
    return rng


def initial_seed() -> int | None:
    """The seed given to the last ``manual_seed`` call (None if it was never called)."""
    return _state["seed"]


def as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Resolve an ``rng`` argument: None -> the default generator, an int -> a new generator
    seeded with it, a ``numpy.random.Generator`` -> itself."""
    if rng is None:
        return default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be a numpy.random.Generator, an integer seed or None, got {type(rng).__name__}"
    )
