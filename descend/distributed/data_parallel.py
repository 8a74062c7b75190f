"""Synchronous data parallelism over a :class:`~descend.distributed.Communicator`.

K processes train one model. Each step every rank takes the **same** global minibatch (the
data permutation is drawn from the same seed on every rank), keeps its own contiguous shard of
it, computes the mean loss of the shard and its gradient, and then

    g = sum_r (n_r / N) g_r          (n_r: the shard's size, N: the global batch's size)

is formed with ONE ``Allreduce`` over each parameter group's flat gradient buffer (the
optimizer keeps all gradients of a group in one contiguous array). Since the loss is the mean
over the global batch, weighting each shard's mean gradient by its share ``n_r / N`` gives
exactly the gradient one process computes on the whole batch, up to the order of the float
summation. Every rank then applies the identical optimizer step, so the parameters (which all
ranks took from rank 0 at the start) stay bit-identical on all ranks.

:class:`DataParallel` bundles this for a model and its optimizer, through the optimizer's
public flat buffers (:meth:`descend.optim.Optimizer.gather_parameters` and
:meth:`~descend.optim.Optimizer.gather_gradients`): ``broadcast_parameters()`` once,
``shard()`` on every batch, ``allreduce_gradients()`` between ``backward()`` and
``optimizer.step()``, and ``allreduce_sums()`` to combine metrics. The trainer uses it through
:class:`descend.distributed.DataParallelStrategy`.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import numpy as np

from .communicator import Communicator, DistributedError

__all__ = ["DataParallel", "shard_bounds", "check_global_batch_size", "flat_buffers"]


def shard_bounds(n: int, rank: int, size: int) -> tuple[int, int]:
    """Rows ``[lo, hi)`` of a batch of ``n`` examples that ``rank`` of ``size`` processes.

    Contiguous blocks whose sizes differ by at most one (as ``numpy.array_split``): the first
    ``n % size`` ranks take one example more. A rank's block is empty when ``n < size``.
    """
    base, extra = divmod(int(n), int(size))
    lo = rank * base + min(rank, extra)
    hi = lo + base + (1 if rank < extra else 0)
    return lo, hi


def check_global_batch_size(batch_size: int, size: int, option: str = "--batch_size") -> None:
    """Raise a :class:`DistributedError` unless the global batch splits evenly over ``size``
    ranks; the message names the nearest valid choices.

    (The last, smaller batch of an epoch need not split evenly: its shards are weighted by
    their sizes, so it is still exact.)
    """
    if size <= 1:
        return
    if batch_size < size:
        raise DistributedError(
            f"{option} {batch_size} is the global batch (all ranks together) and must be at least "
            f"the number of ranks ({size}) so every rank gets an example; use {option} {size} or a "
            f"larger multiple of {size}"
        )
    if batch_size % size:
        below = batch_size - batch_size % size
        above = below + size
        raise DistributedError(
            f"{option} {batch_size} is the global batch (all ranks together) and must be a "
            f"multiple of the number of ranks ({size}) so that every rank gets the same share; "
            f"use {option} {below} ({below // size} per rank) or {option} {above} "
            f"({above // size} per rank), or launch a number of ranks that divides {batch_size}"
        )


def flat_buffers(optimizer: Any, kind: str = "parameters") -> list[np.ndarray]:
    """The optimizer's flat ``"parameters"`` or ``"gradients"`` buffer of every group (its
    public ``gather_parameters()``/``gather_gradients()``).

    Raises a :class:`DistributedError` for an optimizer without flat buffers.
    """
    getter = getattr(optimizer, f"gather_{kind}", None)
    if not callable(getter):
        raise DistributedError(
            f"data-parallel training needs an optimizer that keeps its parameters and gradients in "
            f"flat buffers (descend.optim), got {type(optimizer).__name__}"
        )
    return list(getter())


class DataParallel:
    """Keeps the replicas of ``model`` on all ranks of ``comm`` identical.

    Args:
        comm: the communicator (a single-process one makes every method trivial).
        optimizer: a descend optimizer over the model's parameters (its flat buffers are what
            is broadcast and reduced).
        model: the model (its parameters outside the optimizer, if any, are broadcast too).
    """

    def __init__(self, comm: Communicator, optimizer: Any, model: Any = None) -> None:
        self.comm = comm
        self.optimizer = optimizer
        self.model = model
        if comm.size > 1:
            flat_buffers(optimizer)  # fail now for an optimizer without flat buffers

    @property
    def rank(self) -> int:
        return self.comm.rank

    @property
    def size(self) -> int:
        return self.comm.size

    # ----------------------------------------------------------------- parameters
    def _unoptimized_parameters(self) -> list[Any]:
        """The model's parameters that no optimizer group holds (broadcast one by one)."""
        if self.model is None or not hasattr(self.model, "parameters"):
            return []
        optimized = {id(p) for group in self.optimizer.param_groups for p in group["params"]}
        return [p for p in self.model.parameters() if id(p) not in optimized]

    def broadcast_parameters(self, root: int = 0) -> None:
        """Overwrite every rank's parameters with ``root``'s (one ``Bcast`` per group)."""
        if self.comm.size <= 1:
            return
        for buffer in flat_buffers(self.optimizer, "parameters"):
            self.comm.broadcast_(buffer, root)
        for p in self._unoptimized_parameters():
            data = np.ascontiguousarray(p.data)
            self.comm.broadcast_(data, root)
            p.data[...] = data

    # ----------------------------------------------------------------------- batches
    def shard(self, n: int) -> tuple[int, int]:
        """Rows ``[lo, hi)`` of a global batch of ``n`` examples that this rank processes."""
        return shard_bounds(n, self.comm.rank, self.comm.size)

    # --------------------------------------------------------------------- gradients
    def allreduce_gradients(self, local_count: int, global_count: int) -> None:
        """Replace every rank's gradients by the global batch's mean-loss gradient.

        Call after ``loss.backward()`` with ``loss`` the mean over this rank's ``local_count``
        examples (a rank with none calls it too, without a backward: its gradient counts as
        zero) and ``global_count`` the examples of the whole step. Each group's flat gradient
        buffer is scaled by ``local_count / global_count`` and summed over the ranks with one
        ``Allreduce``. Afterwards every parameter's ``.grad`` is its view of the buffer.
        """
        if self.comm.size <= 1:
            return
        if global_count <= 0:
            raise ValueError(f"global_count must be positive, got {global_count}")
        weight = local_count / global_count
        for buffer in flat_buffers(self.optimizer, "gradients"):
            if local_count == 0:
                buffer.fill(0)
            elif weight != 1.0:
                np.multiply(buffer, buffer.dtype.type(weight), out=buffer)
            self.comm.allreduce_(buffer)

    # ----------------------------------------------------------------------- metrics
    def allreduce_sums(self, values: Sequence[float]) -> list[float]:
        """Sum of each value over the ranks (float64), e.g. metric totals and counts."""
        if self.comm.size <= 1:
            return [float(v) for v in values]
        array = np.asarray(values, dtype=np.float64).copy()
        self.comm.allreduce_(array)
        return [float(v) for v in array]

    # ----------------------------------------------------------------------- checks
    def parameter_digest(self) -> str:
        """SHA-256 of this rank's parameters (all groups), to compare replicas."""
        h = hashlib.sha256()
        for buffer in flat_buffers(self.optimizer, "parameters"):
            h.update(memoryview(buffer).cast("B"))
        return h.hexdigest()

    def check_in_sync(self) -> None:
        """Raise a :class:`DistributedError` if the ranks' parameters differ in any bit."""
        if self.comm.size <= 1:
            return
        digests = self.comm.allgather(self.parameter_digest())
        if len(set(digests)) != 1:
            differing = [r for r, d in enumerate(digests) if d != digests[0]]
            raise DistributedError(
                f"the model replicas diverged: the parameters of rank(s) {differing} differ from rank 0's"
            )
