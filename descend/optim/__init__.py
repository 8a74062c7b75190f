"""Optimizers (PyTorch's names, defaults and formulas; the lecture's own as ``variant="lecture"``)
and learning-rate schedules.

>>> import numpy as np, descend as ds, descend.optim
>>> w = ds.tensor(np.array([1.0, -2.0]), requires_grad=True)
>>> opt = ds.optim.Adam([w], lr=0.1)
>>> (w * w).sum().backward(); opt.step(); opt.zero_grad()
>>> w.data
array([ 0.9, -1.9])

Every optimizer keeps the parameters, gradients and state of a group in flat buffers (the
parameters' ``.data`` and ``.grad`` become views of them), so an update is a few vectorised
NumPy calls; see docs/optimizers.md.
"""

from . import schedules
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, global_norm
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "clip_grad_norm_", "global_norm",
    "schedules",
]
