"""Strategies: where the training loop runs, and what that means for each of its steps.

The :class:`~descend.train.Trainer` loop is the same however many processes train together;
everything that depends on it goes through the trainer's strategy:

=========================  ======================================  ===========================
step of the loop           :class:`SingleProcess`                  data parallel (MPI)
=========================  ======================================  ===========================
``setup``                  nothing                                 rank 0's weights to all
``check_batch_size``       nothing                                 the global batch must split
``run_step``               the step on the whole batch             the step on this rank's shard
``reduce_loss``            nothing                                 the global batch's mean loss
``reduce_gradients``       nothing                                 one Allreduce per group
``shard_dataset``          the data                                this rank's part (evaluation)
``reduce_metrics``         nothing                                 sums added over the ranks
``filter_callbacks``       all                                     rank 0 keeps printers/writers
``on_root``                calls the function                      calls it on rank 0 only
=========================  ======================================  ===========================

A new strategy subclasses :class:`Strategy` and overrides what differs (see
:class:`descend.distributed.DataParallelStrategy`).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Protocol, TypeVar

__all__ = ["Strategy", "SingleProcess", "StepRunner"]

T = TypeVar("T")


class StepRunner(Protocol):
    """What a strategy uses of the trainer to run a step."""

    optimizer: Any

    def train_step(self, x: Any, y: Any) -> dict[str, Any]: ...

    def check_loss(self, value: float, x: Any = None, y: Any = None) -> None: ...


class Strategy:
    """One process: every hook is the identity. Subclasses override what differs."""

    rank: int = 0
    world_size: int = 1

    @property
    def is_root(self) -> bool:
        """Whether this process prints, logs and writes files (rank 0)."""
        return self.rank == 0

    def setup(self, model: Any, optimizer: Any) -> None:
        """At the start of ``fit``: make the replicas identical (nothing for one process)."""

    def check_batch_size(self, batch_size: int) -> None:
        """Raise if ``batch_size`` cannot be used (e.g. does not split over the processes)."""

    def run_step(self, trainer: StepRunner, x: Any, y: Any) -> dict[str, Any]:
        """Run the trainer's ``train_step`` on the batch (this process's part of it)."""
        return trainer.train_step(x, y)

    def reduce_loss(self, value: float) -> float:
        """The batch's mean loss from this process's ``value`` (in ``train_step``, before the
        loss is checked), so that every process takes the same decisions on it."""
        return value

    def reduce_gradients(self, optimizer: Any) -> None:
        """Between ``backward()`` and ``optimizer.step()``: combine the processes' gradients."""

    def shard_dataset(self, data: T) -> T:
        """The part of an evaluation set this process evaluates."""
        return data

    def metric_state(self, metrics: Any) -> dict[str, Any]:
        """The running metrics' state over all processes (a :class:`MetricList` state)."""
        return metrics.state_dict()

    def reduce_metrics(self, metrics: Any) -> None:
        """Make ``metrics`` hold the sums over all processes (in place)."""

    def load_metric_state(self, metrics: Any, state: Mapping[str, Any]) -> None:
        """Restore running metrics saved by :meth:`metric_state` (for a resumed epoch)."""
        metrics.load_state_dict(dict(state))

    def check_in_sync(self, optimizer: Any) -> None:
        """At each epoch's end: raise if the replicas differ (nothing for one process)."""

    def filter_callbacks(self, callbacks: Iterable[Any]) -> list[Any]:
        """The callbacks this process runs (every one for the root; a subclass drops the
        ``root_only`` ones, such as the console and the log files, on the other ranks)."""
        callbacks = list(callbacks)
        if self.is_root:
            return callbacks
        return [cb for cb in callbacks if not getattr(cb, "root_only", False)]

    def on_root(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """``function(*args, **kwargs)`` on the root process (files are written once)."""
        if self.is_root:
            return function(*args, **kwargs)
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SingleProcess(Strategy):
    """Training in this process alone (the default)."""
