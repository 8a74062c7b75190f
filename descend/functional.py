"""Stateless functions: the activations, the softmax family, the fused linear map, dropout,
and every loss (see ``descend.losses`` for their derivations).

>>> import numpy as np
>>> from descend import functional as F, tensor
>>> logits = tensor([[2.0, 0.0, -1.0]], requires_grad=True)
>>> loss = F.cross_entropy(logits, np.array([0]))
>>> loss.backward()
>>> np.round(logits.grad, 3)
array([[-0.156,  0.114,  0.042]], dtype=float32)
"""

from __future__ import annotations

from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    gaussian_nll_loss,
    kl_div,
    mse_loss,
    nll_loss,
)
from .nn.dropout import dropout
from .ops import linear, log_softmax, logsumexp, relu, sigmoid, softmax, tanh

__all__ = [
    "relu", "tanh", "sigmoid", "softmax", "log_softmax", "logsumexp", "linear", "dropout",
    "mse_loss", "gaussian_nll_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy",
    "cross_entropy", "nll_loss", "kl_div",
]
