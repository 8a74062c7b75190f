"""``DataParallelStrategy``: the Trainer's loop on K MPI processes (synchronous data parallel).

Every rank runs the same :class:`~descend.train.Trainer` loop on the same global batches (the
shuffling generator has the same seed everywhere); the strategy makes it data parallel:

* ``setup``: rank 0's weights are broadcast to all ranks when ``fit`` starts;
* ``check_batch_size``: the global batch must split evenly over the ranks;
* ``run_step``: each rank trains on its contiguous shard of the global batch (a rank whose
  shard of a small last batch is empty takes part with a zero gradient);
* ``reduce_loss``: the loss the trainer checks (the non-finite guard) is the global batch's
  mean, so every rank stops at the same update, as one process would (a 1-float Allreduce);
* ``reduce_gradients``: each group's flat gradient buffer is weighted by the shard's share of
  the batch and summed over the ranks (one Allreduce per group), so every rank applies the
  gradient of the whole global batch (see :mod:`.data_parallel`);
* ``shard_dataset`` / ``reduce_metrics``: the dev and test sets are evaluated in shards and
  the metrics' sums added up, as are the running training metrics at an epoch's end and in a
  mid-epoch checkpoint;
* ``check_in_sync``: at every epoch's end the replicas are compared bit for bit;
* ``filter_callbacks`` / ``on_root``: rank 0 alone prints, logs and writes files; the other
  ranks drop the ``root_only`` callbacks (console, log files, plots, TensorBoard).

>>> comm = init_distributed()                                    # doctest: +SKIP
>>> trainer = Trainer(model, optimizer, task="multiclass", strategy=strategy_for(comm))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..train.strategy import SingleProcess, StepRunner, Strategy
from .communicator import Communicator
from .data_parallel import DataParallel, check_global_batch_size, shard_bounds

__all__ = ["DataParallelStrategy", "strategy_for"]


class DataParallelStrategy(Strategy):
    """Synchronous data parallelism over ``comm`` (see the module's docstring)."""

    def __init__(self, comm: Communicator) -> None:
        self.comm = comm
        self.rank = comm.rank
        self.world_size = comm.size
        self._parallel: DataParallel | None = None
        self._counts = (0, 0)  # (this rank's examples, the global batch's) of the current step

    def _dp(self, optimizer: Any, model: Any = None) -> DataParallel:
        if self._parallel is None or self._parallel.optimizer is not optimizer:
            self._parallel = DataParallel(self.comm, optimizer, model)
        return self._parallel

    def setup(self, model: Any, optimizer: Any) -> None:
        self._dp(optimizer, model).broadcast_parameters()

    def check_batch_size(self, batch_size: int) -> None:
        check_global_batch_size(batch_size, self.world_size)

    def run_step(self, trainer: StepRunner, x: Any, y: Any) -> dict[str, Any]:
        n = len(x)
        lo, hi = shard_bounds(n, self.rank, self.world_size)
        self._counts = (hi - lo, n)
        if hi == lo:  # a last batch smaller than the number of ranks: a zero gradient
            # The same collectives, in the same order, as train_step on the other ranks.
            loss = self.reduce_loss(0.0)
            trainer.check_loss(loss, x[lo:hi], y[lo:hi])
            optimizer = trainer.optimizer
            optimizer.zero_grad()
            self.reduce_gradients(optimizer)
            optimizer.step()
            return {"loss": loss, "outputs": np.zeros((0,), dtype=np.float32), "targets": y[lo:hi]}
        out = trainer.train_step(x[lo:hi], y[lo:hi])
        out.setdefault("targets", y[lo:hi])
        return out

    def reduce_loss(self, value: float) -> float:
        local, total = self._counts
        share = np.array([value * local / total if local else 0.0])
        self.comm.allreduce_(share)
        return float(share[0])

    def reduce_gradients(self, optimizer: Any) -> None:
        local, total = self._counts
        self._dp(optimizer).allreduce_gradients(local, total)

    def shard_dataset(self, data: Any) -> Any:
        lo, hi = shard_bounds(len(data), self.rank, self.world_size)
        return data[lo:hi]

    def _sums(self, values: list[float]) -> list[float]:
        array = np.asarray(values, dtype=np.float64).copy()
        self.comm.allreduce_(array)
        return [float(v) for v in array]

    def metric_state(self, metrics: Any) -> dict[str, Any]:
        values: list[float] = []
        for metric in metrics.metrics:
            values += [metric.total, metric.count]
        summed = self._sums(values)
        return {
            metric.name: {"total": summed[2 * i], "count": int(round(summed[2 * i + 1]))}
            for i, metric in enumerate(metrics.metrics)
        }

    def reduce_metrics(self, metrics: Any) -> None:
        metrics.load_state_dict(self.metric_state(metrics))

    def load_metric_state(self, metrics: Any, state: Mapping[str, Any]) -> None:
        # The saved sums are those of all ranks: counted once, on rank 0.
        metrics.reset()
        if self.is_root:
            metrics.load_state_dict(dict(state))

    def check_in_sync(self, optimizer: Any) -> None:
        self._dp(optimizer).check_in_sync()

    def __repr__(self) -> str:
        return f"DataParallelStrategy(rank {self.rank} of {self.world_size})"


def strategy_for(comm: Communicator | None) -> Strategy:
    """:class:`DataParallelStrategy` over ``comm`` when it has several processes, otherwise
    :class:`~descend.train.strategy.SingleProcess`."""
    if comm is None or comm.size <= 1:
        return SingleProcess()
    return DataParallelStrategy(comm)
