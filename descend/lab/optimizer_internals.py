"""``optimizer-internals``: the adaptive optimizers' derivations of the lecture, measured.

Each panel runs descend's optimizers -- the lecture's formulas (``variant="lecture"``: eps
inside the square root, RMSProp's beta = 0.9) and PyTorch's (``variant="pytorch"``) side by
side -- on a parameter whose gradient we choose, and reads their state (``optimizer.state``):

* **AdaGrad** with a constant gradient g0: r = t g0^2, so the step is alpha/sqrt(t) whatever
  g0 is ("behaves as if decreasing the learning rate by 1/sqrt(t)");
* **RMSProp**: after the first step r = (1 - beta) g^2 (0.1 g^2 for the lecture's beta = 0.9),
  a biased estimate of E[g^2]; E[r_t] = (1 - beta^t) E[g^2]; dividing by 1 - beta^t removes
  the bias, and that bias-corrected RMSProp is Adam with beta1 = 0;
* **Adam**: s_t = (1 - beta1) sum_i beta1^(t-i) g_i, the weights summing to 1 - beta1^t, so
  s_t is biased towards 0 early and s_hat = s / (1 - beta1^t) is not;
* **Nesterov**: the look-ahead theta - alpha beta v, the gradient evaluated there, and the
  step, drawn from a real run of ``SGD(nesterov=True)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import Result, RunDir, by_mode, experiment, figure, fmt, md_table

__all__ = ["optimizer_internals"]

VARIANTS = ("lecture", "pytorch")
STYLE = {"lecture": dict(color="C0", ls="-"), "pytorch": dict(color="C1", ls="--")}


def _run(make: Callable[[list], Any], gradients: Callable[[int], np.ndarray], steps: int,
         size: int, record: Callable[[Any, Any], Any]) -> list[Any]:
    """Run an optimizer on a parameter of ``size`` zeros whose gradient at update t is
    ``gradients(t)`` (the loss sum(g_t * theta) has exactly that gradient), recording
    ``record(theta, optimizer)`` after every update."""
    from ..tensor import Tensor

    theta = Tensor(np.zeros(size), requires_grad=True)
    opt = make([theta])
    out = []
    for t in range(1, steps + 1):
        opt.zero_grad()
        (theta * Tensor(gradients(t))).sum().backward()
        opt.step()
        out.append(record(theta, opt))
    return out


def _adagrad(steps: int, lr: float, g0: np.ndarray) -> dict[str, np.ndarray]:
    from ..optim import Adagrad

    out = {}
    for v in VARIANTS:
        thetas = _run(lambda p: Adagrad(p, lr=lr, variant=v), lambda t: g0, steps, len(g0),
                      lambda th, o: th.data.copy())
        path = np.vstack([np.zeros(len(g0))] + thetas)
        out[v] = np.abs(np.diff(path, axis=0))  # |step_t| per coordinate
    return out


def _rmsprop(steps: int, coords: int, rng: np.random.Generator) -> dict[str, Any]:
    """r_t / E[g^2] of RMSProp (both variants) and of Adam(beta1=0) bias-corrected."""
    from ..optim import Adam, RMSprop
    from ..optim.rmsprop import ALPHA

    mean, sd = 1.0, 0.5
    grads = mean + sd * rng.standard_normal((steps + 1, coords))
    second = mean**2 + sd**2
    out: dict[str, Any] = {"second_moment": second}
    for v in VARIANTS:
        beta = ALPHA[v]
        r = _run(lambda p: RMSprop(p, lr=1e-3, variant=v), lambda t: grads[t], steps, coords,
                 lambda th, o: next(iter(o.state.values()))["square_avg"].copy())
        out[f"r_{v}"] = np.array([x.mean() for x in r]) / second
        out[f"first_r_{v}"] = r[0]
        out[f"beta_{v}"] = beta
        # Adam with beta1 = 0 is RMSProp with bias correction: check its update step by step.
        lr, eps = 1e-3, (1e-7 if v == "lecture" else 1e-8)
        rec = _run(lambda p: Adam(p, lr=lr, betas=(0.0, beta), eps=eps, variant=v),
                   lambda t: grads[t], steps, coords,
                   lambda th, o: (th.data.copy(), next(iter(o.state.values()))["exp_avg_sq"].copy()))
        theta, r_np, worst = np.zeros(coords), np.zeros(coords), 0.0
        for t, (theta_adam, r_adam) in enumerate(rec, start=1):
            g = grads[t]
            r_np = beta * r_np + (1 - beta) * g * g
            r_hat = r_np / (1 - beta**t)
            step = g / np.sqrt(r_hat + eps) if v == "lecture" else g / (np.sqrt(r_hat) + eps)
            theta = theta - lr * step
            worst = max(worst, float(np.max(np.abs(theta_adam - theta)) / (lr * t)))
        out[f"rhat_{v}"] = np.array([rr.mean() for _, rr in rec]) / second / (
            1 - beta ** np.arange(1, steps + 1))
        out[f"adam0_vs_bias_corrected_rmsprop_{v}"] = worst
        out["first_grad"] = grads[1]
    return out


def _adam_weights(steps: int, beta1: float) -> dict[str, Any]:
    """s_t after gradients g_i = e_i (unit vectors): s_t[i] is the weight of g_i."""
    from ..optim import Adam

    out = {}
    for v in VARIANTS:
        s = _run(lambda p: Adam(p, lr=1e-3, betas=(beta1, 0.999), variant=v),
                 lambda t: np.eye(steps)[t - 1], steps, steps,
                 lambda th, o: next(iter(o.state.values()))["exp_avg"].copy())
        out[v] = np.array(s)  # row t-1: the weights after t updates
    return out


def _adam_mean(steps: int, coords: int, beta1: float, rng: np.random.Generator) -> dict[str, Any]:
    from ..optim import Adam

    grads = 1.0 + rng.standard_normal((steps + 1, coords))
    out = {}
    for v in VARIANTS:
        s = _run(lambda p: Adam(p, lr=1e-3, betas=(beta1, 0.999), variant=v), lambda t: grads[t],
                 steps, coords, lambda th, o: next(iter(o.state.values()))["exp_avg"].copy())
        s = np.array(s)
        out[f"s_{v}"] = s.mean(axis=1)
        shat = s / (1 - beta1 ** np.arange(1, steps + 1))[:, None]
        out[f"shat_{v}"] = shat.mean(axis=1)
        out[f"shat_se_{v}"] = shat.std(axis=1) / np.sqrt(coords)
    return out


def _nesterov(steps: int, lr: float, beta: float) -> dict[str, Any]:
    """A Nesterov run on f = 0.5 (x^2 + 10 y^2): look-ahead points and iterates."""
    from ..optim import SGD
    from ..tensor import Tensor

    curv = np.array([1.0, 10.0])
    out = {}
    for v in VARIANTS:
        theta = Tensor(np.array([-4.0, 1.5]), requires_grad=True)
        opt = SGD([theta], lr=lr, momentum=beta, nesterov=True, variant=v)
        looks, grads, moms = [], [], []
        for _ in range(steps):
            looks.append(theta.data.copy())  # where the gradient is evaluated
            opt.zero_grad()
            (0.5 * (theta * theta * Tensor(curv)).sum()).backward()
            grads.append(theta.grad.copy())
            opt.step()
            moms.append(next(iter(opt.state.values()))["momentum_buffer"].copy())
        out[v] = {"lookahead": np.array(looks), "grad": np.array(grads), "v": np.array(moms),
                  "final": theta.data.copy()}
    return out


@experiment
def optimizer_internals(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    steps: int | None = None,
    coords: int | None = None,
    verbose: bool = True,
) -> Result:
    """The lecture's derivations for AdaGrad, RMSProp, Adam and Nesterov, on descend's optimizers.

    Args:
        steps: updates of the AdaGrad/RMSProp/Adam runs (default 200; quick 60).
        coords: independent coordinates averaged in the noisy-gradient runs (default 20000;
            quick 2000).

    Returns:
        a :class:`Result`; its checks are the lecture's formulas, for both variants.
    """
    run = RunDir("optimizer-internals", out_dir, quick, verbose)
    say = run.progress
    steps = int(by_mode(steps, quick, 60, 200))
    coords = int(by_mode(coords, quick, 2000, 20000))
    rng = np.random.default_rng(seed)
    alpha = 0.1
    g0 = np.array([0.1, 1.0, 10.0])

    ada = _adagrad(steps, alpha, g0)
    t = np.arange(1, steps + 1)
    ada_dev = {v: float(np.max(np.abs(ada[v] / (alpha / np.sqrt(t))[:, None] - 1))) for v in VARIANTS}
    say("AdaGrad, constant gradients " + ", ".join(f"{x:g}" for x in g0) + ": step / (alpha/sqrt(t)) - 1 "
        "at most " + ", ".join(f"{v} {fmt(ada_dev[v], 2)}" for v in VARIANTS))
    rms = _rmsprop(steps, coords, rng)
    g1 = rms["first_grad"]
    first_r_err = {v: float(np.max(np.abs(rms[f"first_r_{v}"] - (1 - rms[f"beta_{v}"]) * g1 * g1)
                                   / (g1 * g1))) for v in VARIANTS}
    say("RMSProp: r after the first step / g^2 = " + ", ".join(
        f"{v} {rms[f'r_{v}'][0] * rms['second_moment'] / np.mean(g1 * g1):.4f}" for v in VARIANTS))
    weights_steps = 30
    beta1 = 0.9
    w = _adam_weights(weights_steps, beta1)
    i = np.arange(1, weights_steps + 1)
    w_theory = (1 - beta1) * beta1 ** (weights_steps - i)
    w_err = {v: float(np.max(np.abs(w[v][-1] - w_theory))) for v in VARIANTS}
    sums = {v: w[v].sum(axis=1) for v in VARIANTS}
    sum_err = {v: float(np.max(np.abs(sums[v] - (1 - beta1 ** i)))) for v in VARIANTS}
    mean = _adam_mean(min(steps, 60), coords, beta1, rng)
    nest = _nesterov(by_mode(None, quick, 12, 25), 0.05, 0.9)
    lk, lp = nest["lecture"], nest["pytorch"]
    nest_diff = float(np.max(np.abs(lk["lookahead"] - lp["lookahead"])))
    say(f"Nesterov: look-ahead points of the two variants differ by at most {fmt(nest_diff, 2)}")

    _figure(g0, t, ada, alpha, rms, i, w, weights_steps, w_theory, beta1, sums, mean, coords, lk, run)
    _tables(run, i, w, w_theory, t, rms)
    first_r_ratio = {v: float(np.mean(rms[f"first_r_{v}"] / (g1 * g1))) for v in VARIANTS}
    shat_ok = {v: bool(np.all(np.abs(mean[f"shat_{v}"] - 1) < 5 * mean[f"shat_se_{v}"] + 1e-12))
               for v in VARIANTS}
    checks = _checks(ada_dev, first_r_err, first_r_ratio, rms, w_err, sum_err, shat_ok, mean, nest_diff)
    data = _data(steps, coords, seed, alpha, g0, ada, ada_dev, rms, first_r_ratio, beta1, w, w_theory, sums, mean, nest,
                 nest_diff)
    summary = _summary(ada_dev, first_r_ratio, rms, w_err, sum_err, mean, nest_diff)
    return run.finish(data, summary, checks)


def _tables(run, i, w, w_theory, t, rms) -> None:
    """Write the CSV tables behind the figures."""
    run.save_csv("adam_weights.csv", ["i", "weight_lecture", "weight_pytorch", "theory"],
                 zip(i, w["lecture"][-1], w["pytorch"][-1], w_theory))
    run.save_csv("rmsprop_bias.csv", ["t"] + [f"{k}_{v}" for k in ("r", "rhat") for v in VARIANTS],
                 zip(t, *[rms[f"{k}_{v}"] for k in ("r", "rhat") for v in VARIANTS]))


def _data(steps, coords, seed, alpha, g0, ada, ada_dev, rms, first_r_ratio, beta1, w, w_theory, sums, mean, nest,
          nest_diff) -> dict[str, Any]:
    """The numbers written to data.json."""
    data: dict[str, Any] = {
        "steps": steps, "coords": coords, "seed": seed, "alpha": alpha, "g0": g0,
        "adagrad_step": {v: ada[v] for v in VARIANTS}, "adagrad_max_rel_dev": ada_dev,
        "rmsprop_r_over_Eg2": {v: rms[f"r_{v}"] for v in VARIANTS},
        "rmsprop_rhat_over_Eg2": {v: rms[f"rhat_{v}"] for v in VARIANTS},
        "rmsprop_beta": {v: rms[f"beta_{v}"] for v in VARIANTS},
        "rmsprop_first_r_over_g2": first_r_ratio,
        "adam0_vs_bias_corrected_rmsprop": {v: rms[f"adam0_vs_bias_corrected_rmsprop_{v}"] for v in VARIANTS},
        "adam_beta1": beta1, "adam_weights": {v: w[v][-1] for v in VARIANTS},
        "adam_weights_theory": w_theory, "adam_weight_sums": sums,
        "adam_s": {v: mean[f"s_{v}"] for v in VARIANTS}, "adam_shat": {v: mean[f"shat_{v}"] for v in VARIANTS},
        "nesterov": {v: {k: nest[v][k] for k in ("lookahead", "grad", "v")} for v in VARIANTS},
        "nesterov_max_difference": nest_diff,
    }
    return data


def _checks(ada_dev, first_r_err, first_r_ratio, rms, w_err, sum_err, shat_ok, mean, nest_diff) -> dict[str, bool]:
    """The claims checked on this run, name -> holds."""
    checks = {
        "AdaGrad's step is alpha/sqrt(t) for every constant gradient (within 1e-5), both variants":
            max(ada_dev.values()) < 1e-5,
        "RMSProp's r after the first step is (1 - beta) g^2 (0.1 g^2 in the lecture), both variants":
            max(first_r_err.values()) < 1e-12 and abs(first_r_ratio["lecture"] - 0.1) < 1e-12,
        "Adam with beta1 = 0 takes the bias-corrected RMSProp step, both variants":
            max(rms[f"adam0_vs_bias_corrected_rmsprop_{v}"] for v in VARIANTS) < 1e-9,
        "Adam's s_t weights g_i by (1 - beta1) beta1^(t-i), summing to 1 - beta1^t":
            max(w_err.values()) < 1e-12 and max(sum_err.values()) < 1e-12,
        "s_hat is unbiased at every t (within 5 standard errors), s_1 = 0.1 E[g]":
            all(shat_ok.values()) and abs(mean["s_lecture"][0] - 0.1) < 0.01,
        "Nesterov: the lecture's look-ahead points equal PyTorch's iterates (to 1e-12)": nest_diff < 1e-12,
    }
    return checks


def _summary(ada_dev, first_r_ratio, rms, w_err, sum_err, mean, nest_diff) -> str:
    """The markdown summary of the run."""
    summary = f"""
descend's optimizers, the lecture's formulas (`variant="lecture"`) and PyTorch's side by side,
on parameters whose gradients are chosen; the state is read from `optimizer.state`.

{md_table(["derivation in the lecture", "lecture variant", "PyTorch variant"], [
    ["AdaGrad, constant g0: max rel. deviation of the step from alpha/sqrt(t)", ada_dev["lecture"], ada_dev["pytorch"]],
    ["RMSProp: r after step 1, divided by g^2 (= 1 - beta)", first_r_ratio["lecture"], first_r_ratio["pytorch"]],
    ["Adam(beta1 = 0) vs bias-corrected RMSProp: max difference / (lr t)",
     rms["adam0_vs_bias_corrected_rmsprop_lecture"], rms["adam0_vs_bias_corrected_rmsprop_pytorch"]],
    ["Adam: max error of the weights (1 - beta1) beta1^(t-i)", w_err["lecture"], w_err["pytorch"]],
    ["Adam: max error of sum of weights vs 1 - beta1^t", sum_err["lecture"], sum_err["pytorch"]],
    ["Adam: s_1 / E[g] (mean over coordinates)", mean["s_lecture"][0], mean["s_pytorch"][0]],
])}

The two variants differ in where eps goes (inside the square root in the lecture) and in
RMSProp's default beta (0.9 in the lecture, 0.99 in PyTorch, so PyTorch's r starts at 0.01 g^2
and stays biased for longer). The Nesterov panel draws the first updates of
`SGD(momentum=0.9, nesterov=True, variant="lecture")` on 0.5 (x^2 + 10 y^2): from each iterate
theta_t a momentum step -alpha beta v to the look-ahead point, the gradient evaluated there, and
the gradient step -alpha g to theta_(t+1). The parameters descend stores are the look-ahead
points, which are exactly PyTorch's iterates (largest difference {fmt(nest_diff, 2)}).
"""
    return summary


def _figure(g0, t, ada, alpha, rms, i, w, weights_steps, w_theory, beta1, sums, mean, coords, lk, run) -> None:
    """Draw and save this experiment's figure."""
    # ------------------------------------------------------------------------- figures
    fig, axes = figure(2, 3, figsize=(15, 8.6))
    ax = axes[0, 0]
    for v in VARIANTS:
        for k, g in enumerate(g0):
            ax.loglog(t, ada[v][:, k], lw=1.4 if v == "lecture" else 2.2, alpha=0.85,
                      color=f"C{k}", ls=STYLE[v]["ls"],
                      label=f"|g0| = {g:g}, {v}")
    ax.loglog(t, alpha / np.sqrt(t), color="k", lw=0.8, ls=":", label="alpha / sqrt(t)")
    ax.set_xlabel("update t")
    ax.set_ylabel("size of AdaGrad's step |theta_t - theta_(t-1)|")
    ax.set_title(f"AdaGrad, constant gradient g0 (alpha = {alpha:g}):\nthe step is alpha/sqrt(t) "
                 "whatever |g0|", fontsize=10)
    ax.text(0.03, 0.05, "all six curves coincide", transform=ax.transAxes, fontsize=9)
    ax.legend(fontsize=7, ncol=2)

    ax = axes[0, 1]
    for v in VARIANTS:
        b = rms[f"beta_{v}"]
        ax.plot(t, rms[f"r_{v}"], **STYLE[v], lw=1.6, label=f"RMSProp r_t, {v} (beta {b:g})")
        ax.plot(t, 1 - b**t, color="k", lw=0.7, ls=":")
        ax.plot(t, rms[f"rhat_{v}"], color=STYLE[v]["color"], lw=1, alpha=0.6, ls="-.",
                label=f"r_t / (1 - beta^t) of Adam(beta1 = 0), {v}")
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("update t")
    ax.set_ylabel("mean of r_t / E[g^2]")
    ax.set_title("RMSProp's r is biased low: E[r_t] = (1 - beta^t) E[g^2] (dotted);\n"
                 "bias-corrected (Adam with beta1 = 0) it is unbiased", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")

    ax = axes[0, 2]
    ax.bar(i, w["lecture"][-1], color="C0", alpha=0.7, label=f"weights of g_i in s_{weights_steps} (measured)")
    ax.plot(i, w_theory, "k.", ms=5, label="(1 - beta1) beta1^(t - i)")
    ax.set_xlabel(f"gradient index i (t = {weights_steps})")
    ax.set_ylabel("weight of g_i in s_t")
    ax.set_title(f"Adam's s_t (beta1 = {beta1:g}): the weight of each past gradient",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper left")

    ax = axes[1, 0]
    for v in VARIANTS:
        ax.plot(i, sums[v], "o" if v == "lecture" else "x", color=STYLE[v]["color"], ms=4,
                label=f"sum of the weights in s_t, {v}")
    ax.plot(i, 1 - beta1**i, "k-", lw=0.8, label="1 - beta1^t")
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.set_xlabel("update t")
    ax.set_ylabel("sum of the weights")
    ax.set_title("The weights sum to 1 - beta1^t, not 1", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")

    ax = axes[1, 1]
    tm = np.arange(1, len(mean["s_lecture"]) + 1)
    for v in VARIANTS:
        ax.plot(tm, mean[f"s_{v}"], **STYLE[v], lw=1.5, label=f"s_t, {v}")
        ax.plot(tm, mean[f"shat_{v}"], color=STYLE[v]["color"], lw=1.5, ls="-." if v == "lecture" else ":",
                label=f"s_hat_t = s_t / (1 - beta1^t), {v}")
    ax.axhline(1.0, color="k", lw=0.8, label="E[g] = 1")
    ax.set_xlabel("update t")
    ax.set_ylabel(f"mean over {coords} coordinates")
    ax.set_title("Adam's s_t starts biased towards 0; s_hat_t is unbiased from t = 1", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")

    ax = axes[1, 2]
    _draw_nesterov(ax, lk, 0.05, 0.9)
    run.save_figure(fig, "optimizer_internals.png")


def _draw_nesterov(ax: Any, rec: dict[str, np.ndarray], lr: float, beta: float) -> None:
    """Iterates theta_t = lookahead_t + alpha beta v_(t-1), arrows for both half-steps."""
    xs = np.linspace(-4.5, 1.0, 200)
    ys = np.linspace(-1.8, 1.8, 200)
    X, Y = np.meshgrid(xs, ys)
    ax.contour(X, Y, 0.5 * (X**2 + 10 * Y**2), levels=np.geomspace(0.05, 30, 12), colors="0.75",
               linewidths=0.6)
    looks, grads, vs = rec["lookahead"], rec["grad"], rec["v"]
    n = min(8, len(looks) - 1)
    v_prev = np.vstack([np.zeros(2), vs[:-1]])
    iterates = looks + lr * beta * v_prev  # theta_t, before its look-ahead
    ax.plot(iterates[: n + 1, 0], iterates[: n + 1, 1], "ko", ms=4, label="iterates theta_t")
    ax.plot(looks[1: n + 1, 0], looks[1: n + 1, 1], "o", mfc="none", mec="C0", ms=6,
            label="look-ahead theta_t - alpha beta v")
    kw = dict(angles="xy", scale_units="xy", scale=1, width=0.004)
    mom = looks[1: n + 1] - iterates[1: n + 1]
    ax.quiver(iterates[1: n + 1, 0], iterates[1: n + 1, 1], mom[:, 0], mom[:, 1], color="C0",
              label="momentum step -alpha beta v", **kw)
    g = -lr * grads[: n + 1]
    ax.quiver(looks[: n + 1, 0], looks[: n + 1, 1], g[:, 0], g[:, 1], color="C3",
              label="gradient step -alpha g (g at the look-ahead)", **kw)
    ax.set_xlim(-4.5, 1.0)
    ax.set_ylim(-1.8, 1.8)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"Nesterov momentum from a real run (alpha = {lr:g}, beta = {beta:g}),\n"
                 "f = 0.5 (x^2 + 10 y^2)", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
