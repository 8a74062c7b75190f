"""Hyperparameter search with Optuna: ``descend tune`` (see docs/tune.md).

Every option of ``descend train`` can be fixed or given a search space
(``--learning_rate loguniform:1e-4:1e-1``, ``--optimizer choice:SGD,Adam``); each trial is a
``descend train`` run whose best dev metric is the objective, reported after every epoch so
that Optuna's pruner stops poor trials early. Studies live in a journal file in the tune
directory (no server) or in any Optuna storage (``--storage URL --study NAME``) that workers on
several machines share.

Optuna is an optional extra (``pip install 'descend[tune]'``); it is imported only when a
study runs, so ``import descend.tune`` needs only the search-space parser.
"""

from .errors import SearchSpaceError, TuneError
from .space import FORMS, KINDS, SearchSpace, looks_like_space, parse_space

__all__ = ["SearchSpace", "SearchSpaceError", "TuneError", "parse_space", "looks_like_space", "KINDS", "FORMS"]
