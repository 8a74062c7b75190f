"""Data-parallel training on K processes with MPI (mpi4py).

Launch ``mpiexec -n K descend train ...`` (or run a script that builds a
:class:`~descend.train.Trainer` with ``strategy=strategy_for(init_distributed())`` under
``mpiexec``):
every rank takes its shard of each global minibatch, the gradients are averaged with one
``Allreduce`` per step over the optimizer's flat gradient buffer, and every rank applies the
same update, so K ranks compute what one process computes with the same global batch. See
docs/distributed.md.

MPI is an optional extra: ``pip install 'descend[mpi]'``.
"""

from .communicator import (
    DEFAULT_TIMEOUT,
    MPI_INSTALL_HINT,
    CollectiveTimeout,
    Communicator,
    DistributedError,
    MPICommunicator,
    abort_on_error,
    init_distributed,
    install_abort_on_error,
    launched_by_mpi,
    mpi_available,
    setup_phase,
)
from .data_parallel import DataParallel, check_global_batch_size, flat_buffers, shard_bounds
from .launch import find_mpiexec, mpiexec_command, mpiexec_environment
from .strategy import DataParallelStrategy, strategy_for

__all__ = [
    "Communicator",
    "MPICommunicator",
    "DataParallel",
    "DataParallelStrategy",
    "strategy_for",
    "DistributedError",
    "CollectiveTimeout",
    "init_distributed",
    "install_abort_on_error",
    "abort_on_error",
    "setup_phase",
    "launched_by_mpi",
    "mpi_available",
    "shard_bounds",
    "check_global_batch_size",
    "flat_buffers",
    "find_mpiexec",
    "mpiexec_command",
    "mpiexec_environment",
    "MPI_INSTALL_HINT",
    "DEFAULT_TIMEOUT",
]
