"""Errors of ``descend tune``."""

from __future__ import annotations

from .space import SearchSpaceError

__all__ = ["TuneError", "SearchSpaceError"]


class TuneError(ValueError):
    """A tuning run that cannot start or continue (bad options, storage, study)."""
