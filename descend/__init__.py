"""descend: the lecture "Training Neural Networks" as a small, fast NumPy library.

>>> import descend as ds
>>> x = ds.tensor([[1.0, -2.0]], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward(); x.grad
array([[ 2., -4.]], dtype=float32)
"""

from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck
from .ops import (
    abs, add, broadcast_to, clip, concatenate, div, exp, expand_dims, linear, log, log_softmax,
    logsumexp, matmul, max, maximum, mean, min, minimum, mul, neg, power, relu, reshape, sigmoid,
    softmax, sqrt, squeeze, stack, sub, sum, swapaxes, tanh, transpose, where,
)
from .tensor import Function, Tensor, ones, ones_like, tensor, zeros, zeros_like
from .tracing import Trace, trace
from . import functional, losses, nn, optim, random  # noqa: E402  (they build on the above)
from .random import manual_seed  # noqa: E402

__version__ = "0.1.0"
