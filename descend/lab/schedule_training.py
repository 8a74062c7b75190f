"""``schedule-training``: learning-rate schedules during training -- Adam on MNIST.

The lecture ("Learning Rate Schedules"): even adaptive methods such as Adam "still usually
require carefully tuned decreasing learning rate for top-notch performance"; linear decay "has
theoretical guarantees of convergence, but is usually too fast for deep neural networks";
inverse square root decay alpha_initial / sqrt(t); exponential decay alpha_initial c^t; cosine
decay alpha_initial (1 + cos(pi t / T)) / 2. This experiment trains the same MLP from the same
initialisation with the same minibatches five times -- the constant rate and the lecture's four
decays, all from the same initial rate -- and records, per update, the learning rate Adam used
and the training loss, and the dev accuracy at regular intervals.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import Result, RunDir, by_mode, experiment, figure, fmt, md_table
from ._mnist import load_flat_mnist, subset

__all__ = ["SCHEDULES", "schedule_training"]


def _schedules(lr: float, total: int) -> dict[str, Callable[[], Any]]:
    from ..optim import schedules as S

    return {
        "constant": lambda: S.constant(lr),
        "linear": lambda: S.linear(lr, 0.0, total),
        "exponential": lambda: S.exponential(lr, final=lr / 100, total_steps=total),
        "cosine": lambda: S.cosine(lr, total),
        "inverse_sqrt": lambda: S.inverse_sqrt(lr),
    }


#: the schedules compared, as on the lecture's slides (constructors of descend.optim.schedules).
SCHEDULES = ("constant", "linear", "exponential", "cosine", "inverse_sqrt")
FORMULAS = {
    "constant": "alpha_0",
    "linear": "alpha_0 (1 - t/T)",
    "exponential": "alpha_0 c^t, c = 0.01^(1/T)",
    "cosine": "alpha_0 (1 + cos(pi t/T)) / 2",
    "inverse_sqrt": "alpha_0 / sqrt(t + 1)",
}


def _train_one(model: Any, schedule: Any, variant: str, x: np.ndarray, y: np.ndarray, batch: int,
               total: int, eval_at: set[int], batch_rng: np.random.Generator,
               evaluate: Callable[..., tuple[float, float]]) -> dict[str, Any]:
    """Adam with ``schedule`` for ``total`` updates; the rate and loss of every update, the dev
    accuracy at ``eval_at`` and at the end, and whether the rates were the schedule's."""
    from .. import functional as F
    from ..optim import Adam
    from ..tensor import Tensor

    opt = Adam(model.parameters(), lr=schedule, variant=variant)
    per_epoch = len(x) // batch
    lrs, losses, dev = [], [], []
    for step in range(total):
        if step % per_epoch == 0:
            perm = batch_rng.permutation(len(x))
        if step in eval_at:
            dev.append((step, evaluate(model, fit=False)[0]))
        b = step % per_epoch
        idx = perm[b * batch:(b + 1) * batch]
        lrs.append(opt.lr)  # the rate this update uses
        opt.zero_grad()
        loss = F.cross_entropy(model(Tensor(x[idx])), y[idx])
        loss.backward()
        opt.step()
        losses.append(float(loss.item()))
    acc, fit = evaluate(model, fit=True)
    dev.append((total, acc))
    expected = np.array([schedule(t) for t in range(total)])
    return {"lr": np.array(lrs), "loss": np.array(losses), "dev": dev, "final_training_loss": fit,
            "lr_matches": bool(np.allclose(lrs, expected, rtol=1e-12, atol=0))}


def _average(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Each schedule's curves averaged over the repetitions."""
    curves: dict[str, dict[str, Any]] = {}
    for name, rs in runs.items():
        curves[name] = {
            "lr": rs[0]["lr"], "loss": np.mean([x["loss"] for x in rs], axis=0),
            "dev": [(s_, float(np.mean([x["dev"][i][1] for x in rs])))
                    for i, (s_, _) in enumerate(rs[0]["dev"])],
            "final_dev_runs": [x["dev"][-1][1] for x in rs],
            "final_training_loss": float(np.mean([x["final_training_loss"] for x in rs])),
            "lr_matches": all(x["lr_matches"] for x in rs),
        }
    return curves


def _figure(run: RunDir, curves: dict[str, dict[str, Any]], total: int, per_epoch: int, lr: float,
            n_dev: int, hidden: int) -> None:
    colors = dict(zip(SCHEDULES, ("k", "C0", "C2", "C1", "C3")))
    fig, axes = figure(1, 3, figsize=(15.5, 4.5))
    steps = np.arange(total)
    k = max(1, per_epoch // 2)  # smoothing window: half an epoch
    for name in SCHEDULES:
        c = curves[name]
        axes[0].semilogy(steps, c["lr"], color=colors[name], label=f"{name}: {FORMULAS[name]}")
        smooth = np.convolve(c["loss"], np.ones(k) / k, mode="valid")
        axes[1].semilogy(steps[k - 1:], smooth, color=colors[name], label=name)
        s_, a_ = zip(*c["dev"])
        axes[2].plot(s_, a_, "o-", ms=3, color=colors[name], label=f"{name} ({a_[-1]:.4f})")
    axes[0].set_ylabel("learning rate (log scale)")
    axes[0].set_title(f"The schedules, from alpha_0 = {lr:g} over T = {total} updates", fontsize=10)
    axes[1].set_ylabel(f"training loss (mean of {k} minibatches)")
    axes[1].set_title("Training cross-entropy", fontsize=10)
    axes[2].set_ylabel(f"dev accuracy ({n_dev} images)")
    axes[2].set_title(f"Dev accuracy, Adam on MNIST (MLP 784-{hidden}-10)", fontsize=10)
    lo = min(a for c in curves.values() for _, a in c["dev"][1:])
    hi = max(a for c in curves.values() for _, a in c["dev"])
    axes[2].set_ylim(max(lo - 0.01, 0.0), min(hi + 0.005, 1.0))
    axes[0].set_ylim(lr * 1e-3, lr * 2)  # cosine and linear reach 0 at T: cut the plunge
    for ax in axes:
        ax.set_xlabel("update t")
        ax.legend(fontsize=8)
    run.save_figure(fig, "schedule_training.png")


@experiment
def schedule_training(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    n_train: int | None = None,
    epochs: int | None = None,
    hidden: int = 128,
    batch: int = 100,
    lr: float = 3e-3,
    evaluations: int | None = None,
    repeats: int | None = None,
    variant: str = "pytorch",
    verbose: bool = True,
) -> Result:
    """Adam with a constant rate and four decays on MNIST; dev accuracy and rate per update.

    Args:
        data_dir, download: where MNIST is (see :func:`descend.data.load_mnist`).
        n_train: training examples (default 55,000: all; quick 2,000); epochs: default 5 (quick 2).
        hidden: the MLP's hidden units; batch: minibatch size; lr: the initial learning rate.
        evaluations: dev evaluations per run (default 30; quick 6), on the 5,000 dev images
            (quick: 1,000).
        repeats: repetitions (initialisation and minibatch order) averaged (default 2; quick 1).
        variant: ``"pytorch"`` or ``"lecture"``: the formulas of ``descend.optim.Adam``.

    Returns:
        a :class:`Result`; checks that Adam's learning rate at every update is the schedule's
        value, that the best decayed schedule ends with a higher mean dev accuracy than the
        constant rate, and that the inverse square root, decaying fastest early on, ends below
        both the constant rate and cosine decay.

    Raises:
        descend.data.DatasetNotFoundError: MNIST is nowhere to be found.
    """
    from .. import functional as F
    from ..autograd import no_grad
    from ..nn import Linear, ReLU, Sequential
    from ..tensor import Tensor

    run = RunDir("schedule-training", out_dir, quick, verbose)
    say = run.progress
    n_train = int(by_mode(n_train, quick, 2000, 55_000))
    epochs = int(by_mode(epochs, quick, 2, 5))
    evaluations = int(by_mode(evaluations, quick, 6, 30))
    repeats = int(by_mode(repeats, quick, 1, 2))
    rng = np.random.default_rng(seed)
    splits = load_flat_mnist(data_dir, download)
    x_train, y_train = subset(splits.train.x, splits.train.y, n_train, rng)
    n_dev = by_mode(None, quick, 1000, 5000)
    x_dev, y_dev = splits.dev.x[:n_dev], splits.dev.y[:n_dev]
    t_dev = Tensor(x_dev)
    per_epoch = n_train // batch
    total = epochs * per_epoch
    eval_at = set(np.unique(np.linspace(0, total, evaluations + 1).astype(int)).tolist())
    say(f"MNIST: {n_train} training images, MLP 784-{hidden}-10, Adam ({variant}) from lr {lr:g}, "
        f"{epochs} epochs = {total} updates of {batch}, {repeats} repetition(s)")
    n_fit = min(n_train, 10_000)
    t_fit, y_fit = Tensor(x_train[:n_fit]), y_train[:n_fit]

    def evaluate(model: Any, fit: bool) -> tuple[float, float]:
        """Dev accuracy and (if ``fit``, else nan) the training loss on the first n_fit
        training images; the latter is only reported at the end, so only computed there."""
        with no_grad():
            acc = float(np.mean(model(t_dev).data.argmax(axis=1) == y_dev))
            return acc, (float(F.cross_entropy(model(t_fit), y_fit).item()) if fit else float("nan"))

    makers = _schedules(lr, total)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEDULES}
    for r in range(repeats):
        init_rng = np.random.default_rng([seed, 1, r])
        model = Sequential(Linear(784, hidden, rng=init_rng), ReLU(), Linear(hidden, 10, rng=init_rng))
        theta0 = [p.data.copy() for p in model.parameters()]
        for name in SCHEDULES:
            for p, v in zip(model.parameters(), theta0):
                p.data[...] = v
            schedule = makers[name]()
            # the same minibatches for every schedule (of this repetition)
            record = _train_one(model, schedule, variant, x_train, y_train, batch, total,
                                eval_at, np.random.default_rng([seed, 2, r]), evaluate)
            runs[name].append(record)
            acc, fit = record["dev"][-1][1], record["final_training_loss"]
            say(f"repetition {r + 1}/{repeats}, {name:13s} final dev accuracy {acc:.4f}, training "
                f"loss at the end {fit:.4f}")
    curves = _average(runs)

    _figure(run, curves, total, per_epoch, lr, n_dev, hidden)
    _save_tables(run, curves, total)
    setup = dict(n_train=n_train, epochs=epochs, hidden=hidden, batch=batch, lr=lr, total_updates=total,
                 variant=variant, seed=seed, n_dev=n_dev, repeats=repeats, n_training_loss=n_fit)
    data: dict[str, Any] = {**setup, **_data(curves), "formulas": FORMULAS}
    return run.finish(data, _summary(curves, setup), _checks(curves))


def _data(curves: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The curves as data.json stores them: one mapping schedule -> value per quantity."""
    keys = {"final_dev_accuracy_runs": "final_dev_runs", "final_training_loss": "final_training_loss",
            "dev_accuracy": "dev", "lr_per_update": "lr", "loss_per_update": "loss"}
    out = {k: {n: curves[n][v] for n in SCHEDULES} for k, v in keys.items()}
    out["final_dev_accuracy"] = {n: curves[n]["dev"][-1][1] for n in SCHEDULES}
    return out


def _save_tables(run: RunDir, curves: dict[str, dict[str, Any]], total: int) -> None:
    run.save_csv("per_update.csv", ["update"] + [f"{n}_{q}" for n in SCHEDULES for q in ("lr", "loss")],
                 [[t] + [curves[n][q][t] for n in SCHEDULES for q in ("lr", "loss")] for t in range(total)])
    dev = {n: curves[n]["dev"] for n in SCHEDULES}
    run.save_csv("dev_accuracy.csv", ["update"] + list(SCHEDULES),
                 [[step] + [dev[n][i][1] for n in SCHEDULES] for i, (step, _) in enumerate(dev[SCHEDULES[0]])])


def _best_decay(final: dict[str, float]) -> str:
    return max((n for n in SCHEDULES if n != "constant"), key=lambda n: final[n])


def _checks(curves: dict[str, dict[str, Any]]) -> dict[str, bool]:
    final = {n: curves[n]["dev"][-1][1] for n in SCHEDULES}
    return {
        "Adam's learning rate at every update is the schedule's value":
            all(c["lr_matches"] for c in curves.values()),
        "the best decayed schedule ends with a higher dev accuracy than the constant rate":
            final[_best_decay(final)] > final["constant"],
        "decaying too fast hurts: inverse_sqrt ends below the constant rate and cosine decay":
            final["inverse_sqrt"] < min(final["constant"], final["cosine"]),
    }


def _summary(curves: dict[str, dict[str, Any]], setup: dict[str, Any]) -> str:
    final = {n: curves[n]["dev"][-1][1] for n in SCHEDULES}
    best = _best_decay(final)
    table = md_table(["schedule", "formula", "dev accuracy at the end",
                      f"training loss at the end ({setup['n_training_loss']} images)"],
                     [[n, FORMULAS[n], final[n], curves[n]["final_training_loss"]] for n in SCHEDULES])
    runs = "; ".join(f"{n} " + ", ".join(f"{a:.4f}" for a in curves[n]["final_dev_runs"]) for n in SCHEDULES)
    return f"""
An MLP 784-{setup['hidden']}-10 trained by descend's Adam (variant `{setup['variant']}`, default
betas) on {setup['n_train']} MNIST images, {setup['epochs']} epochs = {setup['total_updates']}
updates of {setup['batch']}, five times from the same initialisation with the same minibatches
(and that {setup['repeats']} time(s) with other seeds; means shown), with the learning rate
given as a schedule from `descend.optim.schedules` (alpha_0 = {setup['lr']:g}); the rate Adam
used at each update was recorded (`opt.lr`) and equals the schedule's formula.

{table}

Final dev accuracy of each repetition: {runs}.

The best decay ({best}, {fmt(final[best])}) beats the constant rate ({fmt(final['constant'])}):
Adam adapts the step to each parameter, but the noise of the minibatch gradients still needs a
falling rate to average out (the constant rate fits the training set as well, but
generalises less). The inverse square root (alpha_0/sqrt(t+1) as on the slide, without
warm-up) falls to a tenth of alpha_0 after 100 updates and then learns slowly: decaying too
fast costs more than not decaying at all; the exponential decay to alpha_0/100 shows the same
in a milder form. Linear decay, which the lecture calls usually too fast for deep networks,
does not hurt in this short, shallow training run -- here it does as well as cosine.
"""
