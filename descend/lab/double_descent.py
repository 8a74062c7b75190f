"""``double-descent``: model-wise double descent (Belkin et al. 2019; Nakkiran et al. 2019).

One-hidden-layer ReLU networks of increasing width p are fitted to a small MNIST training
subset (n examples) with label noise, by the squared loss on one-hot targets. As in Belkin et
al.'s MNIST experiments with random features, the hidden layer keeps its random
initialisation (weights N(0, 2/784), the inputs centred); only the output layer, p x 10
weights and 10 biases, is trained -- by descend, full-batch Nesterov SGD from zero, which
converges towards the minimum-norm fit -- until the training set is (nearly) interpolated.

The interpolation threshold is where the trained parameters, (p + 1) x 10, equal the
n x 10 targets: p + 1 = n. Below it the test error is U-shaped (the classical regime); at the
threshold the only interpolating solution is wild and the test error peaks; beyond it the
network has room to interpolate smoothly and the test error descends a second time.

Beyond the model-wise curve (Belkin et al.'s Figure 1 and Nakkiran et al.'s Figure 1, left, on
the lecture's slides):

* **width x training steps** (Nakkiran et al.'s Figure 2): the test error of every width along
  training, as a heat map (``heatmap=True``, the default in the full mode);
* **the test error during training** of the threshold model and of a wide one. In Nakkiran et
  al.'s ResNets the test error can fall, rise and fall again in time (epoch-wise double
  descent). This model does not show that, and the figure does not claim it: gradient descent
  from zero on a linear readout fits the large-singular-value directions of the features first
  and the small ones, where the label noise goes, last, so at the threshold the test error
  falls and then rises to that of the (wild) interpolating solution, while a wide model's
  barely moves;
* **a label-noise sweep** (Nakkiran et al.'s Figure 4, the lecture's last slide): the same
  widths around the threshold at several noise levels, on the same images and hidden layer
  (the first repetition's; at its noise level, the sweep is that repetition); the peak grows
  with the noise.

The hidden layer of width p is the first p units of the widest one, so the features are
computed once per draw (for the widest) and every width takes its first p columns.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._common import Result, RunDir, by_mode, current_variant, experiment, figure, fmt, md_table
from ._mnist import load_flat_mnist

__all__ = ["RandomFeatures", "double_descent"]


class RandomFeatures:
    """The frozen hidden layers of every width p, from one draw of W ~ N(0, 2/784) (784 x the
    widest p): h_p(x) = (relu((x - mu) W[:, :p]) - c_p) / s_p.

    The network of width p uses the first p hidden units of the widest one, so relu((x - mu) W)
    is computed once, for the widest, on the training and the test inputs, and every width
    takes its first p columns. ``mu`` is the training inputs' mean, ``c_p`` the training
    features' mean and ``s_p`` scales the training features so that their largest singular value
    is sqrt(n) (the output layer's squared loss then has curvature at most 2/10 whatever the
    width, and one learning rate fits all widths). All of these are fixed once the layer is built.
    """

    def __init__(self, x_train: np.ndarray, x_test: np.ndarray, weights: np.ndarray) -> None:
        self.mu = x_train.mean(axis=0)
        self.W = weights.astype(np.float32)
        self.raw_train = self._relu(x_train)
        self.raw_test = self._relu(x_test)

    def _relu(self, x: np.ndarray, chunk: int = 2000) -> np.ndarray:
        out = np.empty((len(x), self.W.shape[1]), dtype=np.float32)
        for i in range(0, len(x), chunk):
            out[i:i + chunk] = np.maximum((x[i:i + chunk] - self.mu).astype(np.float32) @ self.W, 0.0)
        return out

    def features(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        """The training and test features h_p(x) of the network of width p."""
        raw = self.raw_train[:, :width]
        c = raw.mean(axis=0)
        raw = raw - c
        n = len(raw)
        s = float(np.linalg.norm(raw, 2) / np.sqrt(n)) if min(raw.shape) > 0 else 1.0
        return raw / s, (self.raw_test[:, :width] - c) / s


def _noisy_labels(y: np.ndarray, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Replace a fraction ``noise`` of the labels by a different, random class."""
    y = y.copy()
    flip = rng.permutation(len(y))[: int(round(noise * len(y)))]
    y[flip] = (y[flip] + rng.integers(1, 10, len(flip))) % 10
    mask = np.zeros(len(y), dtype=bool)
    mask[flip] = True
    return y, mask


def _train_readout(features: np.ndarray, targets: np.ndarray, steps: int,
                   test_features: np.ndarray, y_test: np.ndarray,
                   record_every: Sequence[int] = ()) -> tuple[Any, list[tuple[int, float]]]:
    """Full-batch Nesterov SGD on the squared loss, from zero weights."""
    from .. import functional as F
    from ..autograd import no_grad
    from ..nn import Linear, init
    from ..optim import SGD
    from ..tensor import Tensor

    n, p = features.shape
    k = targets.shape[1]
    readout = Linear(p, k)
    init.zeros(readout.weight)
    # mse_loss averages over n*k entries: curvature 2 s_max^2 / (n k) = 2 / k here
    lr = 0.5 * k
    opt = SGD(readout.parameters(), lr=lr, momentum=0.9, nesterov=True, variant=current_variant())
    x = Tensor(features)
    t = Tensor(targets)
    record = set(record_every)
    history = []
    for step in range(steps):
        if step in record:
            with no_grad():
                err = float(np.mean(readout(Tensor(test_features)).data.argmax(axis=1) != y_test))
            history.append((step, err))
        opt.zero_grad()
        F.mse_loss(readout(x), t).backward()
        opt.step()
    return readout, history


def _default_widths(n: int, quick: bool) -> list[int]:
    """From n/20 to 10 n, denser near the threshold p = n - 1 (quick: n/5, n/2, n - 1, 2n, 10n)."""
    if quick:
        return [n // 5, n // 2, n - 1, 2 * n, 10 * n]
    factors = [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.05, 1.1, 1.2, 1.5, 2, 3, 5, 10]
    return sorted({max(1, int(round(f * n))) for f in factors} | {n - 1})


def _compared(widths: list[int], n: int) -> tuple[int, int, int]:
    """Indices of the widths compared: the largest at most half the threshold's, the
    threshold's (or the nearest), and the smallest of at least 10 n (or the widest)."""
    threshold = n - 1
    gaps = np.abs(np.array(widths) - threshold)
    j_thr = int(np.argmin(gaps))
    smaller = [j for j, p in enumerate(widths) if p <= threshold // 2]
    larger = [j for j, p in enumerate(widths) if p >= 10 * n] or [len(widths) - 1]
    return (smaller[-1] if smaller else 0), j_thr, larger[0]


def _draw(splits: Any, n: int, n_test: int, widest: int, seed: Sequence[int]) -> dict[str, Any]:
    """One draw of the training subset, the test subset and the hidden layer (widest width)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(splits.train.x), n, replace=False)
    tidx = rng.choice(len(splits.test.x), min(n_test, len(splits.test.x)), replace=False)
    x, x_test = splits.train.x[idx], splits.test.x[tidx]
    weights = rng.standard_normal((x.shape[1], widest)).astype(np.float32) * np.sqrt(2.0 / x.shape[1])
    return {"y_clean": splits.train.y[idx], "y_test": splits.test.y[tidx],
            "layer": RandomFeatures(x, x_test, weights)}


def _sweep(draw: dict[str, Any], noise: float, noise_seed: Sequence[int], widths: Sequence[int], steps: int,
           record: Sequence[int], say: Any, label: str) -> dict[str, Any]:
    """Train the readout of every width on one draw, its labels flipped with probability ``noise``.

    The flipped labels are the first ``noise * n`` of one random order of the examples
    (``noise_seed``), so on one draw a higher noise level flips a superset of the labels."""
    from ..autograd import no_grad
    from ..tensor import Tensor

    K = 10
    y, _ = _noisy_labels(draw["y_clean"], noise, np.random.default_rng(noise_seed))
    y_test = draw["y_test"]
    targets = np.eye(K, dtype=np.float32)[y]
    onehot_test = np.eye(K, dtype=np.float32)[y_test]
    out: dict[str, Any] = {k: np.zeros(len(widths)) for k in ("train_err", "test_err", "train_mse", "test_mse")}
    out["curves"] = {}
    for j, p in enumerate(widths):
        f_train, f_test = draw["layer"].features(p)
        readout, history = _train_readout(f_train, targets, steps, f_test, y_test, record)
        out["curves"][p] = history
        with no_grad():
            out_train = readout(Tensor(f_train)).data
            out_test = readout(Tensor(f_test)).data
        out["train_err"][j] = np.mean(out_train.argmax(axis=1) != y)
        out["test_err"][j] = np.mean(out_test.argmax(axis=1) != y_test)
        out["train_mse"][j] = np.mean(np.sum((out_train - targets) ** 2, axis=1))
        out["test_mse"][j] = np.mean(np.sum((out_test - onehot_test) ** 2, axis=1))
        say(f"{label}, width {p:5d} ({(p + 1) * K:6d} parameters): train error "
            f"{out['train_err'][j]:.3f}, test error {out['test_err'][j]:.3f}, test sq. loss {out['test_mse'][j]:.3g}")
    return out


def _noise_sweep(draw: dict[str, Any], seed: int, label_noise: float, first: dict[str, Any], widths: list[int],
                 noise_levels: list[float], noise_widths: list[int], steps: int, say: Any) -> dict[float, np.ndarray]:
    """The test error of ``noise_widths`` at every noise level, on the first repetition's draw;
    the level of the model-wise sweep (on the same widths) is that sweep's first repetition."""
    noise_test: dict[float, np.ndarray] = {}
    for level in noise_levels:
        if level == label_noise and set(noise_widths) <= set(widths):
            noise_test[level] = first["test_err"][[widths.index(p) for p in noise_widths]]
            continue
        sw = _sweep(draw, level, [seed, 0, 1], noise_widths, steps, (), say, f"label noise {level:.0%}")
        noise_test[level] = sw["test_err"]
    return noise_test


@experiment
def double_descent(
    out_dir: str | os.PathLike | None = None,
    *,
    quick: bool = False,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    n_train: int | None = None,
    label_noise: float = 0.2,
    widths: Sequence[int] | None = None,
    steps: int | None = None,
    n_test: int | None = None,
    repeats: int | None = None,
    noise_levels: Sequence[float] | None = None,
    verbose: bool = True,
) -> Result:
    """Test error of one-hidden-layer networks against their parameter count, training time
    and label noise.

    Args:
        data_dir: where MNIST is (see :func:`descend.data.load_mnist`); also ``$DESCEND_DATA``.
        n_train: training examples (default 500; quick 200).
        label_noise: fraction of training labels replaced by a different random class.
        widths: hidden widths (default: from n/20 to 10 n, denser near the threshold p = n - 1;
            quick: n/5, n/2, n - 1, 2n, 10n).
        steps: training steps per network (default 2000; quick 1000).
        n_test: test examples (default 5000; quick 2000).
        repeats: independent repetitions (data subset, noise, hidden layer) averaged
            (default 2; quick 1). The first also records the test error along training for
            every width (the heat map).
        noise_levels: label-noise levels of the noise sweep (default 0, 0.1, 0.2, 0.4; quick
            0, 0.2, 0.4), on widths n/5, n/2, n - 1, 2n, 10n (quick n/5, n - 1, 10n), all on the
            first repetition's draw (training and test images, hidden layer), the flipped labels
            growing with the level; the level ``label_noise`` is the first repetition itself.

    Returns:
        a :class:`Result` with train/test error and test squared loss per width; checks that the
        test error at the threshold exceeds that of a smaller and of a much larger network,
        that the threshold model's test error rises during training after its minimum, and that
        the peak grows with the label noise.
    """
    run = RunDir("double-descent", out_dir, quick, verbose)
    say = run.progress
    n = int(by_mode(n_train, quick, 200, 500))
    steps = int(by_mode(steps, quick, 1000, 2000))
    n_test = int(by_mode(n_test, quick, 2000, 5000))
    repeats = int(by_mode(repeats, quick, 1, 2))
    threshold_width = n - 1  # (p + 1) * 10 = n * 10
    widths = [int(w) for w in (widths or _default_widths(n, quick))]
    noise_levels = [float(v) for v in by_mode(noise_levels, quick, [0.0, 0.2, 0.4], [0.0, 0.1, 0.2, 0.4])]
    noise_widths = by_mode(None, quick, [n // 5, threshold_width, 10 * n],
                           [n // 5, n // 2, threshold_width, 2 * n, 10 * n])
    K = 10
    splits = load_flat_mnist(data_dir, download)
    say(f"n = {n} training examples ({label_noise:.0%} label noise), widths {widths}, "
        f"{steps} steps, {repeats} repetition(s)")
    record = sorted({0, *np.unique(np.round(np.logspace(0, np.log10(steps - 1), 25)).astype(int))})

    draws = [_draw(splits, n, n_test, max(max(widths), max(noise_widths)), [seed, r]) for r in range(repeats)]
    sweeps = [_sweep(draws[r], label_noise, [seed, r, 1], widths, steps, record if r == 0 else (), say,
                     f"repeat {r + 1}/{repeats}")
              for r in range(repeats)]
    test_err, train_err, test_mse, train_mse, curves, heat_steps, heat = _collect(sweeps, widths)
    noise_test = _noise_sweep(draws[0], seed, label_noise, sweeps[0], widths, noise_levels, noise_widths, steps, say)

    params = np.array([(p + 1) * K for p in widths])
    mean_test = test_err.mean(axis=0)
    mean_train = train_err.mean(axis=0)
    mean_tmse = np.exp(np.log(test_mse).mean(axis=0))
    mean_trmse = train_mse.mean(axis=0)
    j_small, j_thr, j_large = _compared(widths, n)
    thr_curve = np.array([e for _, e in curves[widths[j_thr]]])
    i_best = int(np.argmin(thr_curve))
    rise = float(thr_curve[i_best:].max() - thr_curve[i_best])
    k_thr = noise_widths.index(threshold_width)
    peaks = np.array([noise_test[v][k_thr] for v in noise_levels])
    bumps = np.array([noise_test[v][k_thr] - noise_test[v][-1] for v in noise_levels])

    _figures(run, n, K, label_noise, repeats, widths, params, test_err, mean_test, mean_train,
             mean_tmse, mean_trmse, curves, threshold_width, heat, heat_steps, noise_levels,
             noise_widths, noise_test)

    _tables(run, widths, params, mean_train, mean_test, mean_trmse, mean_tmse, heat_steps, heat, noise_widths,
            noise_test, noise_levels)
    checks = _checks(mean_test, j_thr, j_small, j_large, mean_train, rise, peaks, noise_test, k_thr, noise_levels)
    data = _data(n, label_noise, steps, n_test, repeats, seed, widths, params, threshold_width, K, mean_train,
                 mean_test, mean_trmse, mean_tmse, test_err, train_err, j_small, j_thr, j_large, heat_steps, heat, rise,
                 i_best, noise_levels, noise_widths, noise_test, peaks, bumps)
    summary = _summary(n, label_noise, steps, n_test, repeats, mean_test, j_small, widths, j_thr, K, j_large, params,
                       mean_train, mean_tmse, thr_curve, i_best, heat_steps, rise, noise_widths, noise_test, bumps,
                       noise_levels)
    return run.finish(data, summary, checks)


def _collect(sweeps, widths) -> tuple:
    """The repetitions' errors and the first one's curves, as arrays."""
    test_err = np.array([sw["test_err"] for sw in sweeps])
    train_err = np.array([sw["train_err"] for sw in sweeps])
    test_mse = np.array([sw["test_mse"] for sw in sweeps])
    train_mse = np.array([sw["train_mse"] for sw in sweeps])
    curves = sweeps[0]["curves"]
    heat_steps = [s_ for s_, _ in curves[widths[0]]]
    heat = np.array([[e for _, e in curves[p]] for p in widths])  # (widths, recorded steps)

    return test_err, train_err, test_mse, train_mse, curves, heat_steps, heat


def _data(n, label_noise, steps, n_test, repeats, seed, widths, params, threshold_width, K, mean_train, mean_test,
          mean_trmse, mean_tmse, test_err, train_err, j_small, j_thr, j_large, heat_steps, heat, rise, i_best,
          noise_levels, noise_widths, noise_test, peaks, bumps) -> dict[str, Any]:
    """The numbers written to data.json."""
    data: dict[str, Any] = {
        "n_train": n, "label_noise": label_noise, "steps": steps, "n_test": n_test,
        "repeats": repeats, "seed": seed, "widths": widths, "parameters": params,
        "threshold_width": threshold_width, "threshold_parameters": n * K,
        "train_error": mean_train, "test_error": mean_test, "train_sq_loss": mean_trmse,
        "test_sq_loss": mean_tmse, "test_error_runs": test_err, "train_error_runs": train_err,
        "compared": {"smaller_width": widths[j_small], "threshold_width": widths[j_thr],
                     "larger_width": widths[j_large]},
        "heatmap_steps": heat_steps, "heatmap_test_error": heat,
        "threshold_curve_rise": rise, "threshold_curve_best_step": heat_steps[i_best],
        "noise_levels": noise_levels, "noise_widths": noise_widths,
        "noise_test_error": {str(v): noise_test[v] for v in noise_levels},
        "noise_peaks": peaks, "noise_peak_above_wide": bumps,
    }
    return data


def _tables(run, widths, params, mean_train, mean_test, mean_trmse, mean_tmse, heat_steps, heat, noise_widths,
            noise_test, noise_levels) -> None:
    """Write the CSV tables behind the figures."""
    run.save_csv("double_descent.csv",
                 ["width", "parameters", "train_error", "test_error", "train_sq_loss", "test_sq_loss"],
                 zip(widths, params, mean_train, mean_test, mean_trmse, mean_tmse))
    run.save_csv("width_x_steps.csv", ["width"] + [f"step_{s_}" for s_ in heat_steps],
                 [[p] + list(row) for p, row in zip(widths, heat)])
    run.save_csv("label_noise.csv", ["label_noise"] + [f"width_{p}" for p in noise_widths],
                 [[v] + list(noise_test[v]) for v in noise_levels])


def _checks(mean_test, j_thr, j_small, j_large, mean_train, rise, peaks, noise_test, k_thr,
            noise_levels) -> dict[str, bool]:
    """The claims checked on this run, name -> holds."""
    checks = {
        "test error at the threshold exceeds a smaller network's": mean_test[j_thr] > mean_test[j_small],
        "test error at the threshold exceeds a much larger network's": mean_test[j_thr] > mean_test[j_large],
        "networks at and beyond the threshold (nearly) interpolate (train error < 2%)":
            bool(np.all(mean_train[j_thr:] < 0.02)),
        "during training, the threshold model's test error rises after its minimum (by > 0.05)":
            rise > 0.05,
        "the test error at the threshold grows with the label noise and is the worst width's at every level":
            bool(np.all(np.diff(peaks) > 0))
            and all(noise_test[v][k_thr] == noise_test[v].max() for v in noise_levels),
    }
    return checks


def _summary(n, label_noise, steps, n_test, repeats, mean_test, j_small, widths, j_thr, K, j_large, params, mean_train,
             mean_tmse, thr_curve, i_best, heat_steps, rise, noise_widths, noise_test, bumps, noise_levels) -> str:
    """The markdown summary of the run."""
    widest = ("" if j_large == len(widths) - 1
              else f" and {fmt(mean_test[-1])} at width {widths[-1]}")
    summary = f"""
One-hidden-layer ReLU networks of width p on n = {n} MNIST training images with
{label_noise:.0%} of the labels replaced by a wrong class; the hidden layer stays at its random
initialisation and the output layer ((p + 1) x 10 parameters) is trained by descend
(full-batch Nesterov SGD from zero, squared loss on one-hot targets, {steps} steps). Test
error on {n_test} clean test images, averaged over {repeats} repetition(s).

**Model-wise.** The test error is {fmt(mean_test[j_small])} at width {widths[j_small]}, peaks at
**{fmt(mean_test[j_thr])}** at the interpolation threshold (width {widths[j_thr]}, {n * K}
parameters = n x 10), and descends again to {fmt(mean_test[j_large])} at width
{widths[j_large]} ({params[j_large]} parameters){widest},
below the best small network ({fmt(mean_test[:j_thr].min())}). The training error is
{fmt(mean_train[j_thr])} at the threshold and beyond.

{md_table(["width p", "parameters", "train error", "test error", "test squared loss"],
          zip(widths, params, mean_train, mean_test, mean_tmse))}

**Along training** (heat map, first repetition): at the threshold the test error is lowest,
{fmt(thr_curve[i_best])}, after {heat_steps[i_best]} steps and then rises by {fmt(rise)} as the
readout fits the noisy labels; the wide model's hardly changes once learnt. There is no second
descent in time here (see the module's docstring): this is the epoch-wise *view*, not an
epoch-wise double descent.

**Label noise** (test error; widths {", ".join(map(str, noise_widths))}):

{md_table(["label noise"] + [f"width {p}" for p in noise_widths] + ["peak above the widest"],
          [[f"{v:.0%}"] + list(noise_test[v]) + [bumps[k]] for k, v in enumerate(noise_levels)])}

The test error at the threshold grows with the noise and is the worst of these widths at
every noise level (Nakkiran et al.'s Figure 4: the peak grows with label noise). The widest
model's error grows with the noise too, so whether the peak also grows *relative to it* is
read from the last column, and it is not claimed.
"""
    return summary


def _figures(run: RunDir, n: int, K: int, label_noise: float, repeats: int, widths: list[int],
             params: np.ndarray, test_err: np.ndarray, mean_test: np.ndarray, mean_train: np.ndarray,
             mean_tmse: np.ndarray, mean_trmse: np.ndarray, curves: dict[int, list],
             threshold_width: int, heat: np.ndarray, heat_steps: list[int],
             noise_levels: list[float], noise_widths: list[int],
             noise_test: dict[float, np.ndarray]) -> None:
    fig, (ax, ax2) = figure(1, 2, figsize=(11.5, 4.2))
    for r in range(repeats if repeats > 1 else 0):
        ax.semilogx(params, test_err[r], color="C1", alpha=0.25, lw=0.8)
    ax.semilogx(params, mean_test, "s-", color="C1", label="test error")
    ax.semilogx(params, mean_train, "o--", color="C0", label="training error (noisy labels)")
    ax.axvline(n * K, color="k", ls=":", label=f"interpolation threshold n x 10 = {n * K}")
    ax.axhline(label_noise, color="0.7", lw=1, ls="--", label=f"label noise {label_noise:.0%}")
    ax.set_xlabel("trained parameters (p + 1) x 10")
    ax.set_ylabel("classification error")
    ax.set_title(f"MNIST, n = {n}, one hidden layer of width p", fontsize=9)
    ax.legend(fontsize=7)
    sec = ax.secondary_xaxis("top", functions=(lambda q: q / K - 1, lambda w: (w + 1) * K))
    sec.set_xlabel("hidden width p", fontsize=8)
    ax2.loglog(params, mean_tmse, "s-", color="C1", label="test squared loss")
    ax2.loglog(params, np.maximum(mean_trmse, 1e-6), "o--", color="C0", label="training squared loss")
    ax2.axvline(n * K, color="k", ls=":")
    ax2.set_xlabel("trained parameters (p + 1) x 10")
    ax2.set_ylabel("sum over classes of (output - one-hot)^2")
    ax2.set_title("Squared loss (the training objective)", fontsize=9)
    ax2.legend(fontsize=7)
    run.save_figure(fig, "double_descent.png")

    fig, (ax, ax2) = figure(1, 2, figsize=(12, 4.4), width_ratios=[1.25, 1])
    # from the first update on (at step 0 every readout is zero and the error ~0.9)
    steps1 = np.array(heat_steps[1:]) + 1
    mesh = ax.pcolormesh(steps1, np.arange(len(widths)), heat[:, 1:], cmap="magma_r", shading="nearest")
    ax.set_xscale("log")
    ax.set_yticks(np.arange(len(widths)))
    ax.set_yticklabels([f"{p}" + (" (threshold)" if p == threshold_width else "") for p in widths],
                       fontsize=7)
    ax.set_xlabel("training step (log scale)")
    ax.set_ylabel("hidden width p")
    ax.set_title("Test error by width and training time (cf. Nakkiran et al., Fig. 2)", fontsize=9)
    fig.colorbar(mesh, ax=ax, label="test error")
    for p in (threshold_width, widths[-1]):
        hist = curves[p]
        s_, e_ = zip(*[(s + 1, e) for s, e in hist])
        ax2.semilogx(s_, e_, "o-", ms=3, label=f"width {p}" + (" (threshold)" if p == threshold_width else ""))
    ax2.set_xlabel("training step (log scale)")
    ax2.set_ylabel("test error")
    ax2.set_title("Test error during training: at the threshold it falls, then rises\n"
                  "as the noisy labels are fitted (no second descent in this model)", fontsize=9)
    ax2.legend(fontsize=8)
    run.save_figure(fig, "training_time.png")

    fig, ax = figure(figsize=(6.2, 4.2))
    nparams = [(p + 1) * K for p in noise_widths]
    for k, v in enumerate(noise_levels):
        ax.semilogx(nparams, noise_test[v], "o-", color=f"C{k}", label=f"label noise {v:.0%}")
    ax.axvline(n * K, color="k", ls=":", label="interpolation threshold")
    ax.set_xticks(nparams, [f"{q}\n(p = {p})" for q, p in zip(nparams, noise_widths)], fontsize=7)
    ax.set_xticks([], minor=True)
    ax.set_xlabel("trained parameters (p + 1) x 10")
    ax.set_ylabel("test error")
    ax.set_title("The peak grows with the label noise (cf. Nakkiran et al., Fig. 4)", fontsize=9)
    ax.legend(fontsize=8)
    run.save_figure(fig, "label_noise.png")
