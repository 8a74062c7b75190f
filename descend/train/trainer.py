"""``Trainer``: minibatch training with evaluation, logging, callbacks and exact resumption.

>>> trainer = Trainer(model, optimizer, task="multiclass", logdir="logs/run")   # doctest: +SKIP
>>> trainer.fit(train, dev, epochs=10, batch_size=50)                           # doctest: +SKIP
>>> trainer.evaluate(test)                                                      # doctest: +SKIP

One epoch is the lecture's scheme: a fresh random permutation of the training set (drawn from
the trainer's ``rng``) split into minibatches; for each, ``train_step`` computes the outputs and
the loss (``compute_loss``), backpropagates and lets the optimizer update the weights. After the
epoch the dev set is evaluated and one line is printed::

    Epoch 1/10 1.4s loss=0.8300 accuracy=0.7960 dev:loss=0.3780 dev:accuracy=0.9060

Determinism and resumption: all randomness comes from explicit generators (the shuffling
``rng``, the generators of the model's layers such as dropout, and descend's default generator),
and a checkpoint stores all of their states together with the weights, the optimizer state
(including the schedule's step), the epoch, the position within the epoch and the running
metrics. Resuming from a checkpoint written in the middle of an epoch re-draws that epoch's
permutation from the generator state saved at the start of the epoch and skips the batches
already done, so a resumed run ends with weights bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor
from . import checkpoint as ckpt
from .callbacks import Callback, ReduceLROnPlateau
from .errors import CheckpointError, NonFiniteLossError, TrainingError
from .loggers import RunLogger
from .metrics import Metric, MetricList, make_metrics, metrics_for_task
from .tasks import loss_for_task

__all__ = ["Trainer", "as_dataset"]

CHECKPOINT_KIND = "descend.train.Trainer"


def as_dataset(data: Any, what: str = "data") -> Any:
    """A :class:`descend.data.Dataset` from a Dataset, an ``(x, y)`` pair or an array ``x``."""
    from ..data import Dataset

    if isinstance(data, Dataset):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        return Dataset(np.asarray(data[0]), None if data[1] is None else np.asarray(data[1]))
    if isinstance(data, np.ndarray):
        return Dataset(data, None)
    if hasattr(data, "x") and hasattr(data, "batches"):
        return data
    raise TypeError(f"{what} must be a descend.data.Dataset, an (x, y) pair or an array, not {type(data).__name__}")


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _module_generators(model: Any) -> dict[str, np.random.Generator]:
    """Every numpy Generator held by a module of ``model`` (e.g. Dropout's ``rng``)."""
    found: dict[str, np.random.Generator] = {}
    named = model.named_modules() if hasattr(model, "named_modules") else [("", model)]
    for name, module in named:
        for attr, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                found[f"{name}.{attr}" if name else attr] = value
    return found


class Trainer:
    """Trains ``model`` with ``optimizer``: fit / evaluate / predict.

    Args:
        model: a :class:`descend.nn.Module` mapping an input batch to outputs.
        optimizer: a :mod:`descend.optim` optimizer over the model's parameters.
        task: ``"multiclass"``, ``"binary"`` or ``"regression"``: chooses the loss (the NLL of
            the output distribution) and the default metrics (see :mod:`descend.train.tasks`).
        loss: a callable ``loss(outputs, targets) -> scalar Tensor`` instead of the task's.
        metrics: metric names (``"loss"``, ``"accuracy"``, ``"mse"``) or :class:`Metric`
            objects; default from the task (the first should be the loss).
        callbacks: :class:`~descend.train.callbacks.Callback` objects used by every ``fit``.
        rng: the Generator that shuffles the training set (or an int seed); default
            ``descend.random.default_rng()``.
        logdir: the run directory (logs.txt, metrics.csv, TensorBoard, plots, checkpoints).
        logger: a :class:`RunLogger` to use instead of creating one (for ``logdir``).
        checkpoint: where the rolling checkpoint is written (at every epoch end and every
            ``checkpoint_every`` updates); default ``<logdir>/checkpoint.safetensors`` with a
            logdir, none without; False disables it.
        checkpoint_every: also checkpoint every this many updates (mid-epoch).
        config: JSON-able description stored in every checkpoint (model architecture, data
            preprocessing, options), for rebuilding the model later.
        label_smoothing: for the task's classification loss.
        guard_non_finite: stop with :class:`NonFiniteLossError` when a loss is NaN/inf (before
            the update it would make); the last checkpoint on disk is kept.
        progress: tqdm progress bar on stderr: True, False, or None (only when stderr is a
            terminal).
        eval_batch_size: batch size of evaluate/predict.
        show_lr: print ``lr=`` in epoch lines; default when the lr can change (a schedule, or
            a ReduceLROnPlateau callback).
        communicator: a :class:`descend.distributed.Communicator` for data-parallel training
            on several processes (``descend.distributed.init_distributed()`` under
            ``mpiexec``): each rank trains on its shard of every global batch, the gradients
            are averaged with one Allreduce per step, the dev metrics are computed on shards
            and summed; rank 0 alone prints, logs and writes checkpoints. See
            docs/distributed.md. Default: a single process.
    """

    def __init__(
        self,
        model: Any,
        optimizer: Any,
        *,
        task: str | None = None,
        loss: Any = None,
        metrics: Sequence[str | Metric] | None = None,
        callbacks: Iterable[Callback] = (),
        rng: np.random.Generator | int | None = None,
        logdir: str | os.PathLike[str] | None = None,
        logger: RunLogger | None = None,
        checkpoint: str | os.PathLike[str] | bool | None = None,
        checkpoint_every: int | None = None,
        config: Mapping[str, Any] | None = None,
        label_smoothing: float = 0.0,
        guard_non_finite: bool = True,
        progress: bool | None = None,
        eval_batch_size: int = 1000,
        show_lr: bool | None = None,
        communicator: Any = None,
    ) -> None:
        from ..distributed import Communicator, DataParallel
        from ..random import as_rng

        self.comm = communicator if communicator is not None else Communicator()
        self._dp = DataParallel(self.comm, optimizer, model) if self.comm.size > 1 else None
        if not self.comm.is_root:  # rank 0 alone prints, logs and writes checkpoints
            logger = RunLogger(None, stdout=None, stderr=None, tensorboard=False, plots=False)
            checkpoint = False
            progress = False

        self.model = model
        self.optimizer = optimizer
        self.task = task
        if loss is None:
            if task is None:
                raise ValueError("Trainer needs task= ('multiclass', 'binary', 'regression') or loss=")
            loss = loss_for_task(task, label_smoothing)
        elif label_smoothing:
            raise ValueError("label_smoothing applies to a task's loss; with loss= build it into your loss")
        self.loss_fn = loss
        templates = make_metrics(metrics) if metrics is not None else metrics_for_task(task)
        self._metric_templates = templates
        self.train_metrics = MetricList(copy.deepcopy(templates))
        self.eval_metrics = MetricList(copy.deepcopy(templates))
        self.callbacks: list[Callback] = list(callbacks)
        self.rng = as_rng(rng)
        if logger is None:
            logger = RunLogger(logdir)
        self.logger = logger
        if checkpoint is None or checkpoint is True:
            checkpoint = (logger.logdir / "checkpoint.safetensors") if logger.logdir is not None else None
        self.checkpoint_path: Path | None = Path(checkpoint) if checkpoint not in (None, False) else None
        if checkpoint_every is not None:
            checkpoint_every = _positive_int("checkpoint_every", checkpoint_every)
            if self.checkpoint_path is None and self.comm.is_root:
                raise ValueError("checkpoint_every needs a checkpoint path (or a logdir)")
        self.checkpoint_every = checkpoint_every
        self.config: dict[str, Any] = dict(config) if config is not None else {}
        self.guard_non_finite = guard_non_finite
        self.progress = progress
        self.eval_batch_size = _positive_int("eval_batch_size", eval_batch_size)
        self.show_lr = show_lr

        self.history: list[dict[str, Any]] = []
        self.epochs_done = 0  # completed epochs
        self.global_step = 0  # optimizer updates done by this trainer
        self.epoch = 0  # 1-based epoch in progress (or last)
        self.step = 0  # 1-based step within the epoch in progress
        self.epochs: int | None = None
        self.batch_size: int | None = None
        self.stop_training = False
        self.abnormal_end = False
        self.finished = False
        self.last_checkpoint: tuple[Path, int, int] | None = None  # (path, epochs_done, step)
        self._active_callbacks: list[Callback] = list(self.callbacks)
        self._resume: dict[str, Any] | None = None
        self._epoch_rng_state: dict[str, Any] | None = None
        self._metric_snapshot: dict[str, Any] | None = None

    # ------------------------------------------------------------------ properties
    @property
    def logdir(self) -> Path | None:
        return self.logger.logdir

    def note(self, text: str) -> None:
        """A note for the user: stderr and logs.txt."""
        self.logger.note(text)

    # ------------------------------------------------------------------ overridable steps
    def compute_loss(self, outputs: Tensor, targets: np.ndarray) -> Tensor:
        """The mean loss of a batch (a scalar Tensor). Override for a custom objective."""
        return self.loss_fn(outputs, targets)

    def forward(self, x: np.ndarray) -> Tensor:
        """The model's outputs for an input batch (an ndarray, not copied)."""
        return self.model(Tensor._make(x, False, None))

    def train_step(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """One update on the batch ``(x, y)``.

        Returns a dict with at least ``"loss"`` (the batch's mean loss, a float) and
        ``"outputs"`` (the outputs as an ndarray, for the metrics). An override should call
        :meth:`check_loss` before updating the weights (the trainer checks afterwards too).
        """
        dp = self._dp
        if dp is not None:  # data parallel: this rank's shard of the global batch
            n = len(x)
            lo, hi = dp.shard(n)
            x, y = x[lo:hi], y[lo:hi]
            if hi == lo:  # a last batch smaller than the number of ranks
                self.optimizer.zero_grad()
                dp.allreduce_gradients(0, n)
                self.optimizer.step()
                return {"loss": 0.0, "outputs": np.zeros((0,), dtype=np.float32), "targets": y}
        outputs = self.forward(x)
        loss = self.compute_loss(outputs, y)
        value = float(loss.data)
        self.check_loss(value)
        # set_to_none: backward then writes each gradient straight into the optimizer's flat
        # buffer (no zero-fill, no addition into it); see Optimizer.zero_grad.
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if dp is not None:
            dp.allreduce_gradients(hi - lo, n)
        self.optimizer.step()
        if dp is not None:
            return {"loss": value, "outputs": outputs.data, "targets": y}
        return {"loss": value, "outputs": outputs.data}

    def check_loss(self, value: float) -> None:
        """The non-finite-loss guard: raise :class:`NonFiniteLossError` if ``value`` is NaN/inf."""
        if not self.guard_non_finite or math.isfinite(value):
            return
        where = f"epoch {self.epoch}, step {self.step}"
        if self.last_checkpoint is not None:
            path, epochs_done, step = self.last_checkpoint
            position = f"epoch {epochs_done + 1}, step {step}" if step else f"end of epoch {epochs_done}"
            kept = f"the last good checkpoint, {path} ({position}), is kept"
        elif self.checkpoint_path is not None:
            kept = "no checkpoint had been written yet"
        else:
            kept = "no checkpoint is written without a logdir"
        lr = self._current_lr()
        raise NonFiniteLossError(
            f"non-finite loss ({value}) at {where} (update {self.global_step + 1}); training stopped "
            f"before that update; {kept}. The learning rate ({lr:.4g}) is probably too high.",
            epoch=self.epoch, step=self.step, global_step=self.global_step, value=value,
            checkpoint=str(self.last_checkpoint[0]) if self.last_checkpoint else None,
        )

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        train: Any,
        dev: Any = None,
        epochs: int = 1,
        batch_size: int = 50,
        callbacks: Iterable[Callback] | None = None,
        resume: str | os.PathLike[str] | None = None,
    ) -> dict[str, Any]:
        """Train for ``epochs`` epochs (in total, counting those of a resumed checkpoint).

        Args:
            train: the training set (a Dataset or an ``(x, y)`` pair).
            dev: the dev set, evaluated after every epoch (its metrics are ``dev:<name>``).
            epochs: the total number of epochs.
            batch_size: examples per update.
            callbacks: extra callbacks for this call (after those given to the trainer).
            resume: a checkpoint to continue from (see :meth:`load_checkpoint`).

        Returns:
            The last epoch's logs (also ``self.history[-1]``).

        Raises:
            NonFiniteLossError: the loss became NaN or infinite (callbacks' ``on_train_end``
                has run; the last checkpoint on disk is kept).
        """
        train = as_dataset(train, "train")
        if train.y is None:
            raise ValueError("fit: the training data has no targets")
        if len(train) == 0:
            raise ValueError("fit: the training data is empty")
        if dev is not None:
            dev = as_dataset(dev, "dev")
            if dev.y is None:
                raise ValueError("fit: the dev data has no targets")
        epochs = _positive_int("epochs", epochs)
        batch_size = _positive_int("batch_size", batch_size)
        if self._dp is not None:
            from ..distributed import check_global_batch_size

            check_global_batch_size(batch_size, self.comm.size)
        if resume is not None:
            self.load_checkpoint(resume)
        if self._dp is not None:  # every rank starts from rank 0's weights
            self._dp.broadcast_parameters()
        position = self._resume
        self._resume = None
        if position is not None and position["step"] and position["batch_size"] != batch_size:
            raise TrainingError(
                f"the checkpoint was written mid-epoch with batch_size {position['batch_size']}; resume it "
                f"with the same batch size (got {batch_size})"
            )
        self.epochs = epochs
        self.batch_size = batch_size
        self.stop_training = False
        self.abnormal_end = False
        self.finished = False
        active = list(self.callbacks) + list(callbacks or ())
        self._active_callbacks = active
        if position is not None:
            for key, cb in self._callback_keys(active):
                if key in position["callbacks"]:
                    cb.load_state_dict(position["callbacks"][key])
        num_batches = train.num_batches(batch_size)
        show_lr = self.show_lr
        if show_lr is None:
            show_lr = any(callable(g["lr"]) for g in self.optimizer.param_groups) or any(
                isinstance(cb, ReduceLROnPlateau) for cb in active
            )
        logs: dict[str, Any] = dict(self.history[-1]) if self.history else {}
        if self.epochs_done >= epochs:
            self.note(f"Nothing to train: {self.epochs_done} of {epochs} epochs are already done.")
        for cb in active:
            cb.on_train_begin(self)
        # Overflow on the way to a non-finite loss is reported by the guard, once and clearly.
        quiet = np.errstate(over="ignore", invalid="ignore", divide="ignore") if self.guard_non_finite else contextlib.nullcontext()
        try:
            with quiet:
                for index in range(self.epochs_done, epochs):
                    logs = self._fit_epoch(index + 1, train, dev, batch_size, num_batches, position, show_lr)
                    position = None
                    if self.stop_training:
                        break
            self.finished = True
        except BaseException as error:
            self.abnormal_end = True
            if isinstance(error, NonFiniteLossError):
                self.logger.record(f"Error: {error}")
            elif isinstance(error, KeyboardInterrupt):
                self.logger.record(f"Interrupted in epoch {self.epoch}, step {self.step}.")
            raise
        finally:
            self._end_training(logs)
        return logs

    def _fit_epoch(
        self, epoch: int, train: Any, dev: Any, batch_size: int, num_batches: int,
        position: dict[str, Any] | None, show_lr: bool,
    ) -> dict[str, Any]:
        self.epoch = epoch
        skip = 0
        if position is not None and position["step"]:
            skip = position["step"]
            self.rng.bit_generator.state = position["epoch_rng"]
            self.train_metrics.reset()
            if self.comm.is_root:  # the stored sums are of all ranks: counted once, on rank 0
                self.train_metrics.load_state_dict(position["metrics"])
        else:
            self.train_metrics.reset()
        self._epoch_rng_state = copy.deepcopy(self.rng.bit_generator.state)
        callbacks = self._active_callbacks
        for cb in callbacks:
            cb.on_epoch_begin(self, epoch)
        self.model.train()
        start = time.perf_counter()
        batches = train.batches(batch_size, shuffle=True, rng=self.rng, reuse_buffers=True)
        bar = self._progress_bar(epoch, num_batches, skip)
        metrics = self.train_metrics
        every = self.checkpoint_every
        try:
            for step, (x, y) in enumerate(batches, 1):
                if step <= skip:
                    continue
                self.step = step
                out = self.train_step(x, y)
                loss = float(out["loss"])
                self.check_loss(loss)
                self.global_step += 1
                metrics.update(out["outputs"], out.get("targets", y), loss)
                for cb in callbacks:
                    cb.on_batch_end(self, step, out)
                if bar is not None:
                    bar.update(1)
                    if step % 50 == 0:
                        bar.set_postfix_str(f"loss={metrics.metrics[0].compute():.4f}", refresh=False)
                if every is not None and self.global_step % every == 0 and step < num_batches:
                    self._save_rolling(step=step)
        finally:
            if bar is not None:
                bar.close()
        logs: dict[str, Any] = {"epoch": epoch, "time": 0.0, "lr": self._current_lr()}
        if self._dp is not None:  # the epoch's metrics over all ranks' shards
            metrics.load_state_dict(self._global_metric_state(metrics))
            self._dp.check_in_sync()
        logs.update(metrics.compute())
        if dev is not None:
            logs.update(self.evaluate(dev, name="dev", log=False))
        seconds = time.perf_counter() - start
        logs["time"] = seconds
        self.history.append(logs)
        self.epochs_done = epoch
        self.step = 0
        shown = [k for k in logs if k not in ("epoch", "time") and (k != "lr" or show_lr)]
        self.logger.log_epoch(epoch, self.epochs or epoch, seconds, logs, show=shown)
        self.logger.write_history(self.history)
        for cb in callbacks:
            cb.on_epoch_end(self, epoch, logs)
        self._save_rolling(step=0)
        return logs

    def _end_training(self, logs: Mapping[str, Any]) -> None:
        errors = []
        for cb in self._active_callbacks:
            try:
                cb.on_train_end(self, logs)
            except Exception as error:  # report, but let the other callbacks run
                errors.append(error)
        if self.finished and self.checkpoint_path is not None and self.history:
            self.save_checkpoint(self.checkpoint_path, finished=True)
        try:
            self.logger.write_history(self.history)
            self.logger.write_plots(self.history)
        except Exception as error:  # plots must never hide the real outcome
            self.logger.note(f"Note: could not write the plots: {error}")
        if errors and not self.abnormal_end:
            raise errors[0]

    def _progress_bar(self, epoch: int, total: int, initial: int) -> Any:
        show = self.progress
        if show is None:
            try:
                show = sys.stderr.isatty()
            except (AttributeError, ValueError):
                show = False
        if not show:
            return None
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm(
            total=total, initial=initial, desc=f"Epoch {epoch}/{self.epochs}", file=sys.stderr,
            leave=False, unit="batch", dynamic_ncols=True, mininterval=0.2,
        )

    def _current_lr(self) -> float:
        try:
            return float(self.optimizer.lr)
        except (AttributeError, TypeError):
            lr = self.optimizer.param_groups[0]["lr"]
            return float(lr(getattr(self.optimizer, "step_count", 0)) if callable(lr) else lr)

    def _global_metric_state(self, metrics: MetricList) -> dict[str, Any]:
        """The metrics' running sums added up over all ranks (one Allreduce)."""
        values = []
        for metric in metrics.metrics:
            values += [metric.total, metric.count]
        summed = self._dp.allreduce_sums(values)
        return {
            metric.name: {"total": summed[2 * i], "count": int(round(summed[2 * i + 1]))}
            for i, metric in enumerate(metrics.metrics)
        }

    # ------------------------------------------------------------------ evaluate / predict
    def _batches(self, data: Any, batch_size: int | None) -> Iterable[tuple[np.ndarray, Any]]:
        return data.batches(batch_size or self.eval_batch_size, shuffle=False)

    def evaluate(self, data: Any, name: str = "test", batch_size: int | None = None, log: bool = True) -> dict[str, float]:
        """The metrics on ``data`` (eval mode, no gradients), keyed ``<name>:<metric>``.

        With ``log`` the ``Evaluation 0.3s test:loss=... test:accuracy=...`` line is printed
        and written to logs.txt and TensorBoard.
        """
        data = as_dataset(data, name)
        if data.y is None:
            raise ValueError(f"evaluate: the {name} data has no targets; use predict")
        if len(data) == 0:
            raise ValueError(f"evaluate: the {name} data is empty")
        start = time.perf_counter()
        metrics = self.eval_metrics
        metrics.reset()
        if self._dp is not None:  # each rank evaluates its shard; the sums are added up below
            from ..distributed import shard_bounds

            lo, hi = shard_bounds(len(data), self.comm.rank, self.comm.size)
            data = data[lo:hi]
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        try:
            with no_grad():
                for x, y in (self._batches(data, batch_size) if len(data) else ()):
                    outputs = self.forward(x)
                    loss = self.compute_loss(outputs, y)
                    metrics.update(outputs.data, y, float(loss.data))
        finally:
            self.model.train(was_training)
        if self._dp is not None:
            metrics.load_state_dict(self._global_metric_state(metrics))
        logs = {f"{name}:{key}": value for key, value in metrics.compute().items()}
        if log:
            self.logger.log_evaluation(time.perf_counter() - start, logs, step=self.epochs_done)
        return logs

    def predict(self, data: Any, batch_size: int | None = None) -> np.ndarray:
        """The model's raw outputs for every example of ``data`` (logits for classification;
        see :func:`descend.train.tasks.decode_outputs` for classes and probabilities)."""
        data = as_dataset(data, "data")
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        chunks = []
        try:
            with no_grad():
                for x, _ in self._batches(data, batch_size):
                    chunks.append(np.array(self.forward(x).data))
        finally:
            self.model.train(was_training)
        if not chunks:
            return np.zeros((0,), dtype=np.float32)
        return np.concatenate(chunks, axis=0)

    # ------------------------------------------------------------------ checkpoints
    def _callback_keys(self, callbacks: Sequence[Callback]) -> list[tuple[str, Callback]]:
        counts: dict[str, int] = {}
        keys = []
        for cb in callbacks:
            name = type(cb).__name__
            counts[name] = counts.get(name, 0) + 1
            keys.append((f"{name}.{counts[name]}", cb))
        return keys

    def _rng_state(self) -> dict[str, Any]:
        from .. import random as ds_random

        return {
            "shuffle": copy.deepcopy(self.rng.bit_generator.state),
            "epoch_start": copy.deepcopy(self._epoch_rng_state),
            "default": copy.deepcopy(ds_random.default_rng().bit_generator.state),
            "modules": {k: copy.deepcopy(g.bit_generator.state) for k, g in _module_generators(self.model).items()},
        }

    def state(self, step: int = 0, finished: bool = False) -> dict[str, Any]:
        """Everything a checkpoint holds (see :meth:`save_checkpoint`)."""
        from .. import __version__

        mid_epoch = step > 0
        return {
            "kind": CHECKPOINT_KIND,
            "descend_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "epochs_done": self.epochs_done,
            "step_in_epoch": step,
            "global_step": self.global_step,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "finished": finished,
            "task": self.task,
            "lr": self._current_lr(),
            "model": dict(self.model.state_dict()),
            "optimizer": self.optimizer.state_dict(),
            "rng": self._rng_state(),
            "train_metrics": (self._metric_snapshot or self.train_metrics.state_dict()) if mid_epoch else None,
            "callbacks": {key: cb.state_dict() for key, cb in self._callback_keys(self._active_callbacks)},
            "history": self.history,
            "config": self.config,
        }

    def save_checkpoint(self, path: str | os.PathLike[str], step: int = 0, finished: bool = False) -> Path:
        """Write a checkpoint of the current training state to ``path`` (atomically).

        It holds the model weights, the optimizer state (with the schedule's step), the
        epoch and position in it (``step``, 0 at an epoch end), the states of every random
        generator (shuffling, the model's layers, descend's default), the running metrics,
        the callbacks' states, the history and ``config``.
        """
        if not self.comm.is_root:  # rank 0 alone writes files
            return Path(path)
        try:
            return ckpt.save_checkpoint(path, self.state(step=step, finished=finished))
        finally:
            self._metric_snapshot = None

    def _save_rolling(self, step: int) -> None:
        if self._dp is not None and step > 0:  # all ranks: the running metrics of all shards
            self._metric_snapshot = self._global_metric_state(self.train_metrics)
        if self.checkpoint_path is None:
            self._metric_snapshot = None
            return
        self.save_checkpoint(self.checkpoint_path, step=step)
        self.last_checkpoint = (self.checkpoint_path, self.epochs_done, step)

    def load_checkpoint(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Restore the training state of a checkpoint; the next ``fit`` continues from it.

        Raises:
            CheckpointError: unreadable, not a descend training checkpoint, or written for a
                different model or optimizer.
        """
        state = ckpt.load_checkpoint(path)
        if state.get("kind") != CHECKPOINT_KIND:
            raise CheckpointError(f"{path} is a descend file but not a training checkpoint")
        try:
            self.model.load_state_dict(state["model"])
        except (ValueError, TypeError, KeyError) as error:
            raise CheckpointError(f"{path} does not fit this model: {error}") from None
        current = self.optimizer.state_dict()
        try:
            self.optimizer.load_state_dict(ckpt.merge_unserializable(state["optimizer"], current))
        except (ValueError, TypeError, KeyError) as error:
            raise CheckpointError(f"{path} does not fit this optimizer: {error}") from None
        rng = state["rng"]
        try:
            self.rng.bit_generator.state = rng["shuffle"]
            if rng.get("default") is not None:
                from .. import random as ds_random

                ds_random.default_rng().bit_generator.state = rng["default"]
            generators = _module_generators(self.model)
            for key, value in rng.get("modules", {}).items():
                if key in generators:
                    generators[key].bit_generator.state = value
        except (ValueError, TypeError, KeyError) as error:
            raise CheckpointError(f"{path}: cannot restore the random generators: {error}") from None
        self.history = [dict(row) for row in state["history"]]
        self.epochs_done = int(state["epochs_done"])
        self.global_step = int(state["global_step"])
        self.epoch = self.epochs_done
        step = int(state["step_in_epoch"])
        self._resume = {
            "step": step,
            "batch_size": state.get("batch_size"),
            "epoch_rng": rng.get("epoch_start"),
            "metrics": state.get("train_metrics") or {},
            "callbacks": state.get("callbacks") or {},
        }
        for key, cb in self._callback_keys(self.callbacks):
            if key in self._resume["callbacks"]:
                cb.load_state_dict(self._resume["callbacks"][key])
        self.last_checkpoint = (Path(path), self.epochs_done, step)
        self.finished = bool(state.get("finished"))
        return state

    def close(self) -> None:
        """Close the logger (event files, logs.txt)."""
        self.logger.close()

    def __enter__(self) -> Trainer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
