"""Polynomial regression trained by descend: shared by ``capacity`` and ``weight-decay``.

The data are noisy samples y = sin(pi x) + eps, eps ~ N(0, noise^2), x ~ U(-1, 1) (PRML's
sin(2 pi x) on [0, 1], moved to [-1, 1]). A polynomial model of degree D is the linear model
f(x) = sum_k w_k phi_k(x) on the features phi_k(x) = sqrt(2k + 1) P_k(x), the Legendre
polynomials normalised to unit mean square on [-1, 1] -- the same functions as the monomials
x^k, k <= D, but a far better-conditioned least-squares problem, so gradient descent gets close
to the least-squares fit in a few thousand steps.

The model is trained with descend: the coefficients are a ``Parameter``, the loss is
``descend.functional.mse_loss`` (plus an L2 penalty through the optimizer's ``weight_decay``,
which adds ``lambda * w`` to the gradient: the penalty (lambda / 2) ||w||^2), optimised by
full-batch Nesterov momentum (``descend.optim.SGD``) with the step size 1 / L, L the largest
curvature of the objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import functional as F
from ..nn import Module, Parameter
from ..optim import SGD
from ..tensor import Tensor
from ._common import current_variant

__all__ = ["Fit", "PolynomialModel", "features", "fit_polynomial", "sample", "true_function"]


def true_function(x: np.ndarray) -> np.ndarray:
    return np.sin(np.pi * x)


def sample(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n noisy samples of the true function, x uniform on [-1, 1]."""
    x = rng.uniform(-1.0, 1.0, n)
    return x, true_function(x) + noise * rng.standard_normal(n)


def features(x: np.ndarray, degree: int) -> np.ndarray:
    """phi_k(x) = sqrt(2k + 1) P_k(x), k = 0..degree, as an (N, degree + 1) float64 array.

    Built with Bonnet's recursion (k + 1) P_{k+1} = (2k + 1) x P_k - k P_{k-1}.
    """
    x = np.asarray(x, dtype=np.float64)
    P = np.empty((x.size, degree + 1))
    P[:, 0] = 1.0
    if degree >= 1:
        P[:, 1] = x
    for k in range(1, degree):
        P[:, k + 1] = ((2 * k + 1) * x * P[:, k] - k * P[:, k - 1]) / (k + 1)
    return P * np.sqrt(2 * np.arange(degree + 1) + 1.0)


class PolynomialModel(Module):
    """f(x) = Phi(x) w with one coefficient per Legendre feature (the constant one included)."""

    def __init__(self, degree: int) -> None:
        super().__init__()
        self.degree = degree
        self.coef = Parameter(np.zeros(degree + 1))

    def forward(self, phi: Tensor) -> Tensor:
        return phi @ self.coef

    def predict(self, x: np.ndarray) -> np.ndarray:
        return features(x, self.degree) @ self.coef.data


@dataclass
class Fit:
    model: PolynomialModel
    train_mse: float
    test_mse: float
    lstsq_train_mse: float  # the exact (regularised) least-squares optimum, for reference only


def fit_polynomial(
    x: np.ndarray,
    y: np.ndarray,
    degree: int,
    x_test: np.ndarray,
    y_test: np.ndarray,
    steps: int,
    weight_decay: float = 0.0,
    momentum: float = 0.99,
) -> Fit:
    """Train a degree-``degree`` polynomial by full-batch Nesterov SGD on the MSE (+ L2)."""
    phi = features(x, degree)
    n = len(x)
    # The objective (1/n)||Phi w - y||^2 + (lambda/2)||w||^2 has Hessian 2 Phi^T Phi / n + lambda.
    gram = phi.T @ phi / n
    curvature = 2.0 * float(np.linalg.eigvalsh(gram)[-1]) + weight_decay
    model = PolynomialModel(degree)
    opt = SGD(model.parameters(), lr=1.0 / curvature, momentum=momentum, nesterov=True,
              variant=current_variant(),
              weight_decay=weight_decay)
    inputs = Tensor(phi)
    targets = Tensor(np.asarray(y, dtype=np.float64))
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(model(inputs), targets)
        loss.backward()
        opt.step()
    w = model.coef.data
    train_mse = float(np.mean((phi @ w - y) ** 2))
    test_mse = float(np.mean((model.predict(x_test) - y_test) ** 2))
    # reference: the exact minimiser of the same objective (not used for training)
    w_ref = np.linalg.lstsq(gram + 0.5 * weight_decay * np.eye(degree + 1), phi.T @ y / n, rcond=None)[0]
    ref_train = float(np.mean((phi @ w_ref - y) ** 2))
    return Fit(model, train_mse, test_mse, ref_train)
