"""What the run directory's callbacks cost on a one-epoch MNIST run (issue 12.5).

Times, in one process and the same run: the epoch itself (training + dev evaluation), and the
end-of-training work of the Plots callback (loss/accuracy/lr PNGs, matplotlib import
included), the per-update bookkeeping of Plots and ProgressBar, and the checkpoint write. Each
measurement is repeated (--repeats) in fresh processes and the medians are printed.

    .venv/bin/python benchmarks/trainer_callbacks.py --data_dir DIR --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_run(data_dir: str | None) -> dict[str, float]:
    import numpy as np

    import descend.random
    from descend.data import load_mnist
    from descend.optim import SGD, schedules
    from descend.train import Checkpoint, CSVLogger, LogFile, Plots, Trainer, build_model, mlp_config
    from descend.train.callbacks import Callback

    splits = load_mnist(data_dir, download=False)
    descend.random.manual_seed(42)
    model = build_model(mlp_config((28, 28), 10, [128]), rng=np.random.default_rng(1))
    steps = splits.train.num_batches(50)
    optimizer = SGD(model.parameters(), lr=schedules.cosine(0.1, steps), momentum=0.9, nesterov=True)
    times: dict[str, float] = {}

    class Clock(Callback):
        order = -1000

        def on_epoch_begin(self, trainer, epoch):
            times["epoch_start"] = time.perf_counter()

        def on_epoch_end(self, trainer, epoch, logs):
            times["epoch"] = time.perf_counter() - times["epoch_start"]

    with tempfile.TemporaryDirectory() as scratch:
        run = Path(scratch)
        plots = Plots(run)
        checkpoint = Checkpoint(run / "checkpoint.safetensors")
        callbacks = [Clock(), LogFile(run / "logs.txt"), CSVLogger(run / "metrics.csv"), plots, checkpoint]
        trainer = Trainer(model, optimizer, task="multiclass", rng=0, callbacks=callbacks)
        # The plots are drawn in on_train_end; time them apart from the rest of the run.
        draw = plots.on_train_end
        plots.on_train_end = lambda t, logs: times.__setitem__("plots", _timed(draw, t, logs))  # type: ignore[method-assign]
        write = checkpoint.on_epoch_end
        checkpoint.on_epoch_end = lambda t, e, logs: times.__setitem__("checkpoint", _timed(write, t, e, logs))  # type: ignore[method-assign]
        start = time.perf_counter()
        trainer.fit(splits.train, splits.dev, epochs=1, batch_size=50)
        times["fit"] = time.perf_counter() - start
        trainer.close()
    times.pop("epoch_start")
    return times


def _timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data_dir", help="where the MNIST files are")
    parser.add_argument("--repeats", type=int, default=5, help="runs (fresh processes)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(args.data_dir)))
        return
    rows = []
    for _ in range(args.repeats):
        command = [sys.executable, __file__, "--child"] + (["--data_dir", args.data_dir] if args.data_dir else [])
        env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    medians = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
    print(f"one MNIST epoch (55,000 examples, batch 50, 784-128-10, 1 BLAS thread), {args.repeats} runs, medians:")
    print("  " + ", ".join(f"{key} {value:.3f} s" for key, value in medians.items()))
    print(f"  plots / fit = {medians['plots'] / medians['fit']:.1%}, checkpoint / fit = "
          f"{medians['checkpoint'] / medians['fit']:.1%}")


if __name__ == "__main__":
    main()
