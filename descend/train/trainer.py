"""``Trainer``: the training loop; everything else is a callback or the strategy.

>>> trainer = Trainer(model, optimizer, task="multiclass", callbacks=[ConsoleLog()])  # doctest: +SKIP
>>> trainer.fit(train, dev, epochs=10, batch_size=50)                               # doctest: +SKIP
>>> trainer.evaluate(test)                                                          # doctest: +SKIP

One epoch is the lecture's scheme: a fresh random permutation of the training set (drawn from
the trainer's ``rng``) split into minibatches; for each, :meth:`Trainer.train_step` computes
the outputs and the loss (:meth:`Trainer.compute_loss`), lets the callbacks check the loss
(``on_before_update``: the non-finite guard), backpropagates, lets the strategy combine the
gradients of the processes, and lets the optimizer update the weights. After the last batch
the dev set is evaluated and the epoch's logs go to the callbacks (the console line, the log
files, early stopping, the checkpoint, ...). The end of an epoch is atomic with respect to
Ctrl-C and SIGTERM: an interrupt then takes effect once the callbacks, and so the checkpoint,
are done.

What the loop does not do itself:

* printing, files, plots, checkpoints, early stopping, learning-rate changes, the non-finite
  guard: callbacks (:mod:`descend.train.callbacks`), which never import this module;
* sharding batches and evaluation data, combining gradients and metrics over processes,
  deciding who writes files: the strategy (:mod:`descend.train.strategy`,
  :class:`descend.distributed.DataParallelStrategy`);
* the loss, the metrics and the decoding of outputs: the task (:mod:`descend.train.tasks`);
* resumable progress: :class:`~descend.train.loop_state.LoopState`, ``trainer.state``.

Determinism and resumption: all randomness comes from explicit generators (the shuffling
``rng``, the generators of the model's layers such as dropout, and descend's default
generator), and a checkpoint stores all their states with the weights, the optimizer state
(including the schedule's step) and the loop state, so a run resumed from a checkpoint, even
one written in the middle of an epoch, ends bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..autograd import no_grad
from ..fileio import WriteError
from ..tensor import Tensor
from . import checkpoint as ckpt
from .callbacks.base import Callback
from .errors import CheckpointError, NonFiniteLossError, RunWriteError
from .interrupts import deferred_interrupts
from .loop_state import LoopState
from .metrics import Metric, MetricList, make_metrics, metrics_for_task
from .strategy import SingleProcess, Strategy
from .tasks import Task, get_task

__all__ = ["Trainer", "CheckpointRecord", "as_dataset", "CHECKPOINT_KIND"]

CHECKPOINT_KIND = "descend.train.Trainer"
HOOKS = (
    "on_train_begin", "on_epoch_begin", "on_before_update", "on_batch_end", "on_epoch_end", "on_train_end",
    "on_evaluate_end", "on_note",
)


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


def _overrides(callback: Any, hook: str) -> bool:
    """Whether ``callback`` does something on ``hook`` (the base class's hooks do nothing)."""
    method = getattr(type(callback), hook, None)
    return method is not None and method is not getattr(Callback, hook)


@dataclass(frozen=True)
class CheckpointRecord:
    """A checkpoint the trainer wrote (or restored): where, and the position it holds."""

    path: Path
    epochs_done: int
    step: int

    def position(self) -> str:
        return f"epoch {self.epochs_done + 1}, step {self.step}" if self.step else f"end of epoch {self.epochs_done}"


class Trainer:
    """Trains ``model`` with ``optimizer``: :meth:`fit`, :meth:`evaluate`, :meth:`predict`.

    Args:
        model: a :class:`descend.nn.Module` mapping an input batch to outputs.
        optimizer: a :mod:`descend.optim` optimizer over the model's parameters; only
            :meth:`fit` needs one.
        task: a :class:`~descend.train.tasks.Task` or its name (``"multiclass"``,
            ``"binary"``, ``"regression"``): the loss (the NLL of the output distribution)
            and the default metrics.
        loss: a callable ``loss(outputs, targets) -> scalar Tensor`` instead of the task's.
        metrics: metric names (``"loss"``, ``"accuracy"``, ``"mse"``) or :class:`Metric`
            objects; default the task's (the first should be the loss).
        callbacks: :class:`~descend.train.callbacks.Callback` objects used by every ``fit``
            and ``evaluate`` (they run in the order of their ``order`` attribute).
        strategy: how many processes train and how (default :class:`SingleProcess`; see
            :class:`descend.distributed.DataParallelStrategy`).
        rng: the Generator that shuffles the training set (or an int seed); default
            ``descend.random.default_rng()``.
        label_smoothing: for the task's classification loss.
        eval_batch_size: batch size of evaluate/predict.

    Attributes:
        state: the :class:`LoopState` (epochs done, step, history, ...).
        stop_training: set by a callback to end training after the current epoch.
        error: the exception that ended the last ``fit`` (None if it finished).
        last_checkpoint: the last resumable checkpoint written or restored (a
            :class:`CheckpointRecord`), or None.
    """

    def __init__(
        self,
        model: Any,
        optimizer: Any = None,
        *,
        task: Task | str | None = None,
        loss: Any = None,
        metrics: Sequence[str | Metric] | None = None,
        callbacks: Iterable[Any] = (),
        strategy: Strategy | None = None,
        rng: np.random.Generator | int | None = None,
        label_smoothing: float = 0.0,
        eval_batch_size: int = 1000,
    ) -> None:
        from ..random import as_rng

        self.model = model
        self.optimizer = optimizer
        self.task = get_task(task) if task is not None else None
        self.loss_fn = self._make_loss(loss, label_smoothing)
        templates = make_metrics(metrics) if metrics is not None else metrics_for_task(self.task)
        self._metric_templates = templates
        self.strategy = strategy if strategy is not None else SingleProcess()
        self.callbacks: list[Any] = self.strategy.filter_callbacks(callbacks)
        self.rng = as_rng(rng)
        self.eval_batch_size = _positive_int("eval_batch_size", eval_batch_size)
        self.state = LoopState(
            self.rng, MetricList(copy.deepcopy(templates)), model,
            metric_state=self.strategy.metric_state, load_metric_state=self.strategy.load_metric_state,
        )
        self._eval_metrics = MetricList(copy.deepcopy(templates))
        self.stop_training = False
        self.error: BaseException | None = None
        self.last_checkpoint: CheckpointRecord | None = None
        self._step_checked = False
        self._bind(self.callbacks)

    def _make_loss(self, loss: Any, label_smoothing: float) -> Any:
        if loss is not None:
            if label_smoothing:
                raise ValueError("label_smoothing applies to a task's loss; with loss= build it into your loss")
            return loss
        if self.task is None:
            raise ValueError("Trainer needs task= ('multiclass', 'binary', 'regression') or loss=")
        return self.task.loss(label_smoothing)

    def _bind(self, callbacks: Iterable[Any]) -> None:
        ordered = sorted(callbacks, key=lambda cb: getattr(cb, "order", 0))
        self.state.callbacks = ordered
        self._hooks = {hook: [cb for cb in ordered if _overrides(cb, hook)] for hook in HOOKS}

    def _dispatch(self, hook: str, *args: Any) -> None:
        for cb in self._hooks[hook]:
            getattr(cb, hook)(self, *args)

    # ------------------------------------------------------------------ views of the state
    @property
    def metric_names(self) -> tuple[str, ...]:
        """The names of the metrics (``("loss", "accuracy")``): epoch logs have these keys and
        ``dev:<name>``."""
        return tuple(m.name for m in self._metric_templates)

    @property
    def active_callbacks(self) -> list[Any]:
        """The callbacks in use (of the trainer and of the current or last ``fit``), in the
        order they run."""
        return list(self.state.callbacks)

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.state.history

    @property
    def epochs_done(self) -> int:
        return self.state.epochs_done

    @property
    def global_step(self) -> int:
        return self.state.global_step

    def note(self, text: str) -> None:
        """A note for the user: every callback's ``on_note`` (the console prints it on stderr,
        the log file records it)."""
        self._dispatch("on_note", text)

    def current_lr(self) -> float:
        """The learning rate the next update uses (NaN without an optimizer)."""
        if self.optimizer is None:
            return math.nan
        try:
            return float(self.optimizer.lr)
        except (AttributeError, TypeError):
            lr = self.optimizer.param_groups[0]["lr"]
            return math.nan if callable(lr) else float(lr)

    def describe_last_checkpoint(self) -> str:
        """``the last good checkpoint, PATH (end of epoch 2), is kept`` (or that none was
        written yet): for messages of errors that end a run."""
        last = self.last_checkpoint
        if last is None:
            return "no checkpoint had been written yet"
        return f"the last good checkpoint, {last.path} ({last.position()}), is kept"

    # ------------------------------------------------------------------ overridable steps
    def forward(self, x: np.ndarray) -> Tensor:
        """The model's outputs for an input batch (an ndarray, not copied)."""
        return self.model(Tensor.from_array(x))

    def compute_loss(self, outputs: Tensor, targets: np.ndarray) -> Tensor:
        """The mean loss of a batch (a scalar Tensor). Override for a custom objective."""
        return self.loss_fn(outputs, targets)

    def check_loss(self, value: float, x: Any = None, y: Any = None) -> None:
        """Give the batch's loss to the callbacks' ``on_before_update`` (the non-finite
        guard), before the update. An overridden :meth:`train_step` calls it between the
        loss and ``backward()``; otherwise the loop calls it after the step."""
        self._step_checked = True
        self._dispatch("on_before_update", value, x, y)

    def train_step(self, x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
        """One update on the batch ``(x, y)``.

        Returns a dict with at least ``"loss"`` (the batch's mean loss, a float) and
        ``"outputs"`` (the outputs as an ndarray, for the metrics). An override keeps the
        strategy's two calls: ``reduce_loss`` on the loss value before :meth:`check_loss`, and
        ``reduce_gradients`` between ``backward()`` and ``step()`` (with several processes
        they are collectives every process must make, in this order).
        """
        outputs = self.forward(x)
        loss = self.compute_loss(outputs, y)
        value = self.strategy.reduce_loss(float(loss.data))  # the whole batch's, on every process
        self.check_loss(value, x, y)
        # set_to_none: backward then writes each gradient straight into the optimizer's flat
        # buffer (no zero-fill, no addition into it); see Optimizer.zero_grad.
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.strategy.reduce_gradients(self.optimizer)
        self.optimizer.step()
        return {"loss": value, "outputs": outputs.data}

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        train: Any,
        dev: Any = None,
        *,
        epochs: int,
        batch_size: int,
        callbacks: Iterable[Any] | None = None,
        limit_batches: int | None = None,
    ) -> dict[str, Any]:
        """Train until ``epochs`` epochs are done in total (counting those of a restored
        checkpoint: after :meth:`restore`, ``fit`` continues where it stopped, and a larger
        ``epochs`` continues a finished run).

        Args:
            train: the training set (a Dataset or an ``(x, y)`` pair).
            dev: the dev set, evaluated after every epoch (its metrics are ``dev:<name>``).
            epochs: the total number of epochs.
            batch_size: examples per update.
            callbacks: extra callbacks for this call (with those given to the trainer).
            limit_batches: a smoke run: at most this many batches per epoch.

        Returns:
            The last epoch's logs (also ``self.history[-1]``).

        Raises:
            NonFiniteLossError: from the non-finite guard, or a checkpoint refused because the
                weights or the dev loss are not finite (callbacks' ``on_train_end`` has run;
                the last good checkpoint on disk is kept).
            RunWriteError: a file of the run could not be written (e.g. disk full).
        """
        train, dev = self._check_data(train, dev)
        epochs = _positive_int("epochs", epochs)
        batch_size = _positive_int("batch_size", batch_size)
        if self.optimizer is None:
            raise ValueError("fit needs an optimizer: Trainer(model, optimizer, ...)")
        steps = train.num_batches(batch_size)
        if limit_batches is not None:
            steps = min(steps, _positive_int("limit_batches", limit_batches))
        self.strategy.check_batch_size(batch_size)
        self.strategy.setup(self.model, self.optimizer)
        self.state.begin_fit(epochs, batch_size, steps, has_dev=dev is not None)
        self._bind(self.callbacks + self.strategy.filter_callbacks(callbacks or ()))
        self.state.restore_callbacks(self.state.callbacks, consume=True)
        self.stop_training = False
        self.error = None
        logs: dict[str, Any] = dict(self.history[-1]) if self.history else {}
        try:
            self._dispatch("on_train_begin")
            if self.state.epochs_done >= epochs:
                self.note(f"Nothing to train: {self.state.epochs_done} of {epochs} epochs are already done.")
            while self.state.epochs_done < epochs and not self.stop_training:
                logs = self._fit_epoch(train, dev, batch_size)
            self.state.finished = True
        except WriteError as error:
            self.error = self._write_error(error)
            raise self.error from None
        except BaseException as error:
            self.error = error
            raise
        finally:
            self._end_training(logs)
        return logs

    def _check_data(self, train: Any, dev: Any) -> tuple[Any, Any]:
        train = as_dataset(train, "train")
        if train.y is None:
            raise ValueError("fit: the training data has no targets")
        if len(train) == 0:
            raise ValueError("fit: the training data is empty")
        if dev is not None:
            dev = as_dataset(dev, "dev")
            if dev.y is None:
                raise ValueError("fit: the dev data has no targets")
        return train, dev

    def _fit_epoch(self, train: Any, dev: Any, batch_size: int) -> dict[str, Any]:
        epoch = self.state.epochs_done + 1
        skip = self.state.begin_epoch(epoch)
        self._dispatch("on_epoch_begin", epoch)
        self.model.train()
        start = time.perf_counter()
        self._train_batches(train, batch_size, skip)
        # From here to the checkpoint, an interrupt waits: the epoch ends entirely or not at all.
        with deferred_interrupts("finishing the epoch and its checkpoint first"):
            return self._end_epoch(epoch, dev, start)

    def _train_batches(self, train: Any, batch_size: int, skip: int) -> None:
        state = self.state
        limit = state.steps_per_epoch or 0
        metrics = state.metrics
        hooks = self._hooks["on_batch_end"]
        batches = train.batches(batch_size, shuffle=True, rng=self.rng, reuse_buffers=True)
        for step, (x, y) in enumerate(batches, 1):
            if step <= skip:
                continue
            if step > limit:
                break
            state.step = step
            lr = self.current_lr()
            self._step_checked = False
            out = self.strategy.run_step(self, x, y)
            loss = float(out["loss"])
            if not self._step_checked and len(out["outputs"]):
                self.check_loss(loss, x, y)
            state.global_step += 1
            metrics.update(out["outputs"], out.get("targets", y), loss)
            out["lr"] = lr
            for cb in hooks:
                cb.on_batch_end(self, step, out)

    def _end_epoch(self, epoch: int, dev: Any, start: float) -> dict[str, Any]:
        metrics = self.state.metrics
        self.strategy.reduce_metrics(metrics)
        self.strategy.check_in_sync(self.optimizer)
        logs: dict[str, Any] = {"epoch": epoch, "time": 0.0, "lr": self.current_lr()}
        logs.update(metrics.compute())
        if dev is not None:
            logs.update(self._evaluate(dev, "dev", None))
        logs["time"] = time.perf_counter() - start
        self.state.end_epoch(logs)
        self._dispatch("on_epoch_end", epoch, logs)
        return logs

    def _end_training(self, logs: Mapping[str, Any]) -> None:
        errors = []
        for cb in self._hooks["on_train_end"]:
            try:
                cb.on_train_end(self, logs)
            except Exception as error:  # report, but let the other callbacks run
                errors.append(error)
        if errors and self.error is None:
            error = errors[0]
            self.error = self._write_error(error) if isinstance(error, WriteError) else error
            raise self.error

    def _write_error(self, error: WriteError) -> RunWriteError:
        """A file of the run could not be written: a :class:`RunWriteError` that names it and
        the last good checkpoint."""
        last = self.last_checkpoint
        return RunWriteError(
            f"{error}. The run stopped; {self.describe_last_checkpoint()}.",
            path=str(error.filename), errno=error.errno, checkpoint=None if last is None else str(last.path),
        )

    # ------------------------------------------------------------------ evaluate / predict
    def _evaluate(self, data: Any, name: str, batch_size: int | None) -> dict[str, float]:
        data = as_dataset(data, name)
        if data.y is None:
            raise ValueError(f"evaluate: the {name} data has no targets; use predict")
        if len(data) == 0:
            raise ValueError(f"evaluate: the {name} data is empty")
        data = self.strategy.shard_dataset(data)
        metrics = self._eval_metrics
        metrics.reset()
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        try:
            with no_grad():
                for x, y in (data.batches(batch_size or self.eval_batch_size, shuffle=False) if len(data) else ()):
                    outputs = self.forward(x)
                    loss = self.compute_loss(outputs, y)
                    metrics.update(outputs.data, y, float(loss.data))
        finally:
            self.model.train(was_training)
        self.strategy.reduce_metrics(metrics)
        return {f"{name}:{key}": value for key, value in metrics.compute().items()}

    def evaluate(self, data: Any, name: str = "test", batch_size: int | None = None) -> dict[str, float]:
        """The metrics on ``data`` (eval mode, no gradients), keyed ``<name>:<metric>``; the
        callbacks' ``on_evaluate_end`` gets them (the console prints ``Evaluation 0.3s
        test:loss=... test:accuracy=...``)."""
        start = time.perf_counter()
        logs = self._evaluate(data, name, batch_size)
        self._dispatch("on_evaluate_end", name, logs, time.perf_counter() - start)
        return logs

    def predict(self, data: Any, batch_size: int | None = None) -> np.ndarray:
        """The model's raw outputs for every example of ``data`` (logits for classification;
        ``trainer.task.decode(outputs)`` gives classes and probabilities)."""
        data = as_dataset(data, "data")
        was_training = getattr(self.model, "training", True)
        self.model.eval()
        chunks = []
        try:
            with no_grad():
                for x, _ in data.batches(batch_size or self.eval_batch_size, shuffle=False):
                    chunks.append(np.array(self.forward(x).data))
        finally:
            self.model.train(was_training)
        if not chunks:
            return np.zeros((0,), dtype=np.float32)
        return np.concatenate(chunks, axis=0)

    # ------------------------------------------------------------------ state and checkpoints
    def state_dict(self) -> dict[str, Any]:
        """Everything a checkpoint holds: the model's weights, the optimizer's state and the
        loop state (whose keys are at the top level, as in earlier versions' files)."""
        from .. import __version__

        return {
            "kind": CHECKPOINT_KIND,
            "descend_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **self.state.state_dict(),
            "task": None if self.task is None else self.task.name,
            "lr": self.current_lr(),
            "model": dict(self.model.state_dict()),
            "optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any], source: str = "the checkpoint") -> None:
        """Restore :meth:`state_dict`'s output (weights, optimizer, loop state).

        Raises:
            CheckpointError: it was written for a different model or optimizer, or is invalid.
        """
        try:
            self.model.load_state_dict(state["model"])
        except (ValueError, TypeError, KeyError) as error:
            raise CheckpointError(f"{source} does not fit this model: {error}") from None
        stored = state.get("optimizer")
        if self.optimizer is not None and stored is not None:
            current = self.optimizer.state_dict()
            try:
                self.optimizer.load_state_dict(ckpt.merge_unserializable(stored, current))
            except (ValueError, TypeError, KeyError) as error:
                raise CheckpointError(f"{source} does not fit this optimizer: {error}") from None
        self.state.load_state_dict(state)

    def restore(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """Continue from a checkpoint (this version's or an earlier one's): weights, optimizer
        and loop state; the next :meth:`fit` resumes exactly where it was written. Temporary
        files left in its directory by killed writers are removed. Returns the checkpoint's
        state.

        Raises:
            CheckpointError: unreadable, not a descend training checkpoint, or written for a
                different model or optimizer.
        """
        from ..fileio import remove_stale_temp_files

        path = Path(path)
        state = ckpt.load_checkpoint(path)
        if state.get("kind") != CHECKPOINT_KIND:
            raise CheckpointError(f"{path} is a descend file but not a training checkpoint")
        self.load_state_dict(state, source=str(path))
        self.last_checkpoint = CheckpointRecord(path, self.state.epochs_done, self.state.resume_step)
        removed = self.strategy.on_root(remove_stale_temp_files, path.parent) or []
        if removed:
            names = ", ".join(p.name for p in removed)
            self.note(f"Removed {len(removed)} temporary file(s) left by a killed process in {path.parent}: {names}")
        return state

    load_checkpoint = restore

    def _non_finite_reason(self) -> tuple[str, float] | None:
        """Why the current state must not be checkpointed (non-finite weights, or a non-finite
        loss in the epoch just ended), with the offending value; None if it is fine."""
        named = self.model.named_parameters() if hasattr(self.model, "named_parameters") else enumerate(self.model.parameters())
        bad = [str(name) for name, p in named if not np.isfinite(p.data).all()]
        if bad:
            listed = ", ".join(bad[:4]) + (", ..." if len(bad) > 4 else "")
            return f"the weights ({listed}) are NaN or infinite", math.nan
        logs = self.history[-1] if self.history and self.state.step == 0 else {}
        for key, value in logs.items():
            if key.endswith("loss") and isinstance(value, float) and not math.isfinite(value):
                return f"{key} is {value}", value
        return None

    def save_checkpoint(
        self, path: str | os.PathLike[str], *, finished: bool = False, metadata: Mapping[str, Any] | None = None,
        resumable: bool = True,
    ) -> Path:
        """Write a checkpoint of the current state to ``path`` (atomically, on the root
        process); ``metadata`` is stored as ``state["config"]``. A ``resumable`` one becomes
        :attr:`last_checkpoint`.

        Raises:
            NonFiniteLossError: the weights, or a loss of the epoch just ended, are NaN or
                infinite; nothing is written and the previous checkpoint is kept.
            RunWriteError: the file could not be written (e.g. disk full); the previous
                checkpoint is intact.
        """
        path = Path(path)
        reason = self._non_finite_reason()
        state = self.state
        if reason is not None:
            text, value = reason
            where = f"epoch {state.epoch}, step {state.step}" if state.step else f"the end of epoch {state.epochs_done}"
            raise NonFiniteLossError(
                f"not writing {path}: at {where} {text}; training stopped; {self.describe_last_checkpoint()}. "
                f"The learning rate ({self.current_lr():.4g}) is probably too high, or the data holds NaN/inf.",
                epoch=state.epoch, step=state.step, global_step=state.global_step, value=value,
                checkpoint=None if self.last_checkpoint is None else str(self.last_checkpoint.path),
            )
        document = self.state_dict()
        document["finished"] = bool(finished or document["finished"])
        document["config"] = dict(metadata) if metadata is not None else {}
        with deferred_interrupts("finishing the checkpoint first"):
            try:
                self.strategy.on_root(ckpt.save_checkpoint, path, document)
            except WriteError as error:
                raise self._write_error(error) from None
        if resumable:
            self.last_checkpoint = CheckpointRecord(path, state.epochs_done, state.step)
        return path

    def close(self) -> None:
        """Close what callbacks hold open (log files, event files)."""
        for cb in {id(cb): cb for cb in [*self.callbacks, *self.state.callbacks]}.values():
            closer = getattr(cb, "close", None)
            if callable(closer):
                closer()

    def __enter__(self) -> Trainer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
