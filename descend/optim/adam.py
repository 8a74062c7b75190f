"""Adam (Kingma & Ba, 2014) and AdamW (Loshchilov & Hutter, 2019).

PyTorch form (default; ``eps`` outside the square root, default 1e-8), update number ``t``::

    Adam:  g <- g + weight_decay * theta          AdamW: theta <- theta (1 - lr weight_decay)
    s <- beta1 s + (1 - beta1) g                   (PyTorch's lerp)
    r <- beta2 r + (1 - beta2) g^2
    r_max <- max(r_max, r); use r_max for r        (amsgrad only)
    theta <- theta - (lr / (1 - beta1^t)) s / (sqrt(r) / sqrt(1 - beta2^t) + eps)

Lecture form (``variant="lecture"``; ``eps`` inside the square root, default 1e-7)::

    s <- beta1 s + (1 - beta1) g;   r <- beta2 r + (1 - beta2) g^2
    s_hat <- s / (1 - beta1^t);      r_hat <- r / (1 - beta2^t)
    theta <- theta - alpha / sqrt(r_hat + eps) * s_hat
"""

from __future__ import annotations

from typing import Any, Iterable

from .optimizer import Optimizer, Run, check_bool, check_lr, check_real
from .transforms import (
    adam_scalars, add_decayed_weights, apply_updates, chain, decay_weights, scale_by_adam,
    scale_by_learning_rate,
)

__all__ = ["Adam", "AdamW"]

EPS = {"pytorch": 1e-8, "lecture": 1e-7}


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=None, weight_decay=0, amsgrad=False)``.

    ``weight_decay`` is L2 regularisation added to the gradient (PyTorch's Adam); see
    ``AdamW`` for decoupled weight decay. ``eps=None`` means the variant's default: 1e-8
    (PyTorch) or 1e-7 (lecture).
    """

    _decoupled = False
    _default_weight_decay = 0.0

    def __init__(
        self,
        params: Iterable[Any],
        lr: Any = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float | None = None,
        weight_decay: float | None = None,
        amsgrad: bool = False,
        *,
        clip_norm: float | None = None,
        variant: str = "pytorch",
    ) -> None:
        if eps is None:
            eps = EPS.get(variant, EPS["pytorch"])
        if weight_decay is None:
            weight_decay = self._default_weight_decay
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults, clip_norm=clip_norm, variant=variant)

    def _validate(self, hp: dict[str, Any], where: str) -> None:
        name = f"{type(self).__name__}{where}"
        check_lr(name, hp["lr"])
        betas = hp["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        check_real(name, "betas[0]", betas[0], 0.0, 1.0)
        check_real(name, "betas[1]", betas[1], 0.0, 1.0)
        check_real(name, "eps", hp["eps"])
        check_real(name, "weight_decay", hp["weight_decay"])
        check_bool(name, "amsgrad", hp["amsgrad"])

    def _update(self, hp: dict[str, Any], lr: float, t: int, run: Run) -> None:
        beta1, beta2 = hp["betas"]
        eps, wd, amsgrad = hp["eps"], hp["weight_decay"], hp["amsgrad"]
        lecture = self.variant == "lecture"
        run.lr, run.t = lr, t
        kernels = run.kernels()
        if kernels is None:
            chain(
                decay_weights(wd) if self._decoupled else add_decayed_weights(wd),
                scale_by_adam(beta1, beta2, eps, amsgrad, lecture),
                scale_by_learning_rate(),
                apply_updates(),
            )(run.g, run)
            return
        # The same chain as one pass (descend/kernels/_fused.c), with the same scalars.
        bc2, den_eps, run.factor = adam_scalars(beta1, beta2, eps, t, lecture)
        w = 1 - beta1
        kernels.adam(
            run.p, run.g, run.state("exp_avg"), run.state("exp_avg_sq"),
            run.state("max_exp_avg_sq") if amsgrad else None,
            run.is64, lecture, amsgrad, wd != 0.0 and not self._decoupled,
            wd != 0.0 and self._decoupled, abs(w) >= 0.5,
            wd, 1 - lr * wd, w, 1 - w, beta1, 1 - beta1, beta2, 1 - beta2, bc2, den_eps,
            run.step_size(),
        )


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=None, weight_decay=1e-2, amsgrad=False)``.

    Adam with decoupled weight decay: ``theta <- theta (1 - lr weight_decay)`` before the Adam
    update (PyTorch's AdamW; the lecture variant decays the same way, then takes the lecture's
    Adam step).
    """

    _decoupled = True
    _default_weight_decay = 1e-2
