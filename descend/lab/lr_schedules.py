"""``schedules``: every learning-rate schedule of ``descend.optim.schedules`` over one horizon.

Each schedule is built for the same horizon T (and initial rate 0.1), plotted against the
update number, and also *driven through an optimizer*: ``descend.optim.SGD`` with the schedule
as its ``lr`` takes T updates, and the rate it reports before each update (``optimizer.lr``)
must be the schedule's value at that update number.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ._common import Result, RunDir, current_variant, experiment, figure, md_table

__all__ = ["example_schedules", "schedules"]


def example_schedules(total: int, lr: float = 0.1) -> dict[str, tuple[Any, str]]:
    """One instance of every schedule over ``total`` updates: name -> (schedule, formula)."""
    from ..optim import schedules as S

    third = max(total // 3, 1)
    return {
        "constant": (S.constant(lr), f"constant({lr})"),
        "linear": (S.linear(lr, 0.0, total), f"linear({lr}, 0, T)"),
        "polynomial": (S.polynomial(lr, 0.0, total, power=2.0), f"polynomial({lr}, 0, T, power=2)"),
        "exponential": (S.exponential(lr, final=lr / 100, total_steps=total),
                        f"exponential({lr}, final={lr / 100:g}, total_steps=T)"),
        "inverse_sqrt": (S.inverse_sqrt(lr), f"inverse_sqrt({lr})"),
        "step": (S.step(lr, third, 0.3), f"step({lr}, step_size=T/3, gamma=0.3)"),
        "multistep": (S.multistep(lr, [total // 2, (3 * total) // 4], 0.1),
                      f"multistep({lr}, [T/2, 3T/4], 0.1)"),
        "cosine": (S.cosine(lr, total), f"cosine({lr}, T)"),
        "cosine_restarts": (S.cosine_restarts(lr, max(total // 7, 1), T_mult=2),
                            f"cosine_restarts({lr}, T_0=T/7, T_mult=2)"),
        "one_cycle": (S.one_cycle(lr, total), f"one_cycle({lr}, T)"),
        "warmup + cosine": (S.warmup(total // 10, S.cosine(lr, total - total // 10)),
                            f"warmup(T/10, cosine({lr}, 0.9T))"),
        "join (constant, linear)": (S.join([S.constant(lr), S.linear(lr, lr / 10, total // 2)],
                                           [total // 2]),
                                    f"join([constant({lr}), linear({lr}, {lr / 10:g}, T/2)], [T/2])"),
    }


def _through_optimizer(schedule: Any, total: int) -> np.ndarray:
    """The learning rate ``descend.optim.SGD`` uses for each of ``total`` updates."""
    from ..optim import SGD
    from ..tensor import Tensor

    w = Tensor(np.zeros(1), requires_grad=True)
    opt = SGD([w], lr=schedule, variant=current_variant())
    seen = np.empty(total)
    w.grad = np.zeros(1)
    for t in range(total):
        seen[t] = opt.lr
        opt.step()
    return seen


@experiment
def schedules(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    total_steps: int | None = None,
    lr: float = 0.1,
    verbose: bool = True,
) -> Result:
    """Plot every learning-rate schedule over ``total_steps`` updates (default 1000; quick 200).

    Returns:
        a :class:`Result` with each schedule's values at updates 0..T (``data["values"]``) and
        the check that an optimizer driven by each schedule uses exactly those rates.
    """
    run = RunDir("schedules", out_dir, quick, verbose)
    say = run.progress
    total = int(total_steps) if total_steps is not None else (200 if quick else 1000)
    steps = np.arange(total + 1)
    built = example_schedules(total, lr)
    values: dict[str, np.ndarray] = {}
    agree: dict[str, bool] = {}
    for name, (schedule, formula) in built.items():
        values[name] = np.array([float(schedule(int(t))) for t in steps])
        seen = _through_optimizer(schedule, total)
        agree[name] = bool(np.array_equal(seen, values[name][:total]))
        say(f"{formula}: lr(0) = {values[name][0]:.4g}, lr(T) = {values[name][-1]:.4g}, "
            f"optimizer agrees: {agree[name]}")

    _figures(built, steps, values, total, run)
    names = list(built)
    run.save_csv("schedules.csv", ["step"] + names,
                 [[int(t)] + [values[n][t] for n in names] for t in steps])
    decays = ["linear", "polynomial", "exponential", "cosine", "step", "multistep"]
    checks = {
        "descend.optim.SGD uses each schedule's value at every update": all(agree.values()),
        "decaying schedules start at lr and never increase":
            all(values[n][0] == lr and np.all(np.diff(values[n]) <= 1e-15) for n in decays),
        "linear and cosine reach 0 exactly at T":
            bool(values["linear"][-1] == 0.0 and abs(values["cosine"][-1]) < 1e-15),
    }
    data: dict[str, Any] = {
        "total_steps": total, "lr": lr,
        "formulas": {n: built[n][1] for n in names},
        "values": values, "optimizer_agrees": agree,
    }
    summary = _summary(total, lr, built, values, agree)
    return run.finish(data, summary, checks)


def _summary(total, lr, built, values, agree) -> str:
    """The markdown summary of the run."""
    names = list(built)
    summary = f"""
Every schedule of `descend.optim.schedules`, built for T = {total} updates with initial rate
{lr}, evaluated at updates 0..T. Each was also given to `descend.optim.SGD` as its `lr`, and
the rate the optimizer reports before each of its T updates was compared with the schedule.

{md_table(["schedule", "call", "lr(0)", "lr(T/2)", "lr(T)", "optimizer agrees"],
          [(n, f"`{built[n][1]}`", values[n][0], values[n][total // 2], values[n][-1],
            "yes" if agree[n] else "NO") for n in names])}
"""
    return summary


def _figures(built, steps, values, total, run) -> None:
    """Draw and save this experiment's figures."""
    # ------------------------------------------------------------------------- figures
    names = list(built)
    cols = 4
    rows = (len(names) + cols - 1) // cols
    fig, axes = figure(rows, cols, figsize=(3.3 * cols, 2.6 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        if name.startswith("inverse_sqrt"):
            # alpha_0 / sqrt(t + 1) falls by 10x in 100 updates: on a linear axis it looks
            # like a step to 0, on log-log axes it is the straight line of slope -1/2 it is
            ax.loglog(steps + 1, values[name], color="C0", lw=1.5)
            ax.set_xlabel("update t + 1 (log scale)")
            ax.xaxis.label.set_fontsize(7)
        else:
            ax.plot(steps, values[name], color="C0", lw=1.5)
            ax.set_ylim(bottom=0)
        ax.set_title(f"{name}\n{built[name][1]}", fontsize=7.5)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("learning rate")
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    for ax in axes.flat:
        if not ax.get_xlabel():
            ax.set_xlabel("update t", fontsize=8)
    fig.suptitle(f"Learning-rate schedules over T = {total} updates (descend.optim.schedules)")
    run.save_figure(fig, "schedules.png")

    fig, ax = figure(figsize=(7, 4))
    for i, name in enumerate(names):
        ax.plot(steps, values[name], lw=1.2, label=name, color=f"C{i % 10}",
                ls="-" if i < 10 else "--")
    ax.set_xlabel("update t")
    ax.set_ylabel("learning rate (log scale)")
    ax.set_yscale("log")
    ax.set_ylim(1e-4, None)  # the schedules that reach 0 drop off the axis there
    ax.set_title("All schedules on one axis")
    ax.legend(fontsize=7, ncol=2)
    run.save_figure(fig, "schedules_overlay.png")
