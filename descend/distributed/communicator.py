"""Communicators: the few collective operations data-parallel training needs.

descend does not implement message passing itself; it uses MPI (through ``mpi4py``), the
standard engine of distributed numerical computing, which launches the processes
(``mpirun -n K`` / ``mpiexec -n K``, on one machine or, with a hostfile, on many) and moves the
bytes. This module wraps an MPI communicator in a small interface so that the trainer's
data-parallel strategy (:class:`~descend.distributed.DataParallelStrategy`) is written once for
one process and for K:

* :class:`Communicator` — one process, no MPI: every collective is the identity.
* :class:`MPICommunicator` — ``MPI.COMM_WORLD`` (or any mpi4py communicator), with a
  **watchdog**: a collective that does not complete within ``timeout`` seconds (a rank died,
  hangs, or a machine dropped off the network) makes this rank print a clear error and call
  ``MPI_Abort``, which ends every rank of the job, instead of waiting forever.

:func:`init_distributed` gives the right one for the way the process was started, and installs
:func:`install_abort_on_error` so that an uncaught exception on any rank aborts the whole job
(otherwise the other ranks would block forever in their next collective).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from typing import Any, Callable

import numpy as np

__all__ = [
    "Communicator",
    "MPICommunicator",
    "DistributedError",
    "CollectiveTimeout",
    "MPI_INSTALL_HINT",
    "DEFAULT_TIMEOUT",
    "init_distributed",
    "launched_by_mpi",
    "mpi_available",
    "install_abort_on_error",
    "abort_on_error",
    "setup_phase",
]

#: Seconds a collective may take before the watchdog aborts the job (``DESCEND_MPI_TIMEOUT``
#: overrides it; 0 disables the watchdog).
DEFAULT_TIMEOUT = 300.0

MPI_INSTALL_HINT = (
    "data-parallel training needs mpi4py and an MPI library: install them with "
    "pip install 'descend[mpi]' (mpi4py and MPICH's wheel from PyPI, which brings mpiexec), or use "
    "the system's MPI (apt-get install -y openmpi-bin libopenmpi-dev, then "
    "pip install --no-binary mpi4py mpi4py); then launch K processes with "
    "mpiexec -n K descend train ... (see docs/distributed.md)"
)

# Environment variables set by the common MPI launchers for every process they start:
# MPICH / Intel MPI (Hydra, PMI), Open MPI, PMIx-based launchers (Open MPI 5, Slurm's srun).
_RANK_VARIABLES = ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "MPI_LOCALRANKID")
_SIZE_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")


class DistributedError(RuntimeError):
    """Distributed training cannot start or continue (MPI missing, bad configuration, a rank
    failed)."""


class CollectiveTimeout(DistributedError):
    """A collective operation did not complete in time."""


def launched_by_mpi() -> int:
    """The number of processes of the MPI job this process was started in by ``mpiexec`` /
    ``mpirun`` (read from the launcher's environment variables), or 0 if it was not started
    by an MPI launcher. A singleton MPI start (plain ``python ...``) gives 0."""
    for name in _SIZE_VARIABLES:
        value = os.environ.get(name)
        if value and value.strip().isdigit():
            return int(value)
    if any(os.environ.get(name) for name in _RANK_VARIABLES):
        return 1
    return 0


def mpi_available() -> bool:
    """Whether ``mpi4py`` can be imported (without initialising MPI)."""
    import importlib.util

    return importlib.util.find_spec("mpi4py") is not None


class Communicator:
    """One process: rank 0 of 1; every collective leaves its arguments as they are.

    The interface (all that the trainer uses):

    * ``rank``, ``size``, ``is_root`` (rank 0);
    * ``allreduce_(array)``: sum ``array`` over the ranks, in place, and return it;
    * ``broadcast_(array, root=0)``: overwrite ``array`` with root's, in place;
    * ``bcast(obj, root=0)``: root's Python object on every rank;
    * ``allgather(obj)``: the list of every rank's object, in rank order;
    * ``barrier()``; ``abort(code)``: end every rank of the job.
    """

    rank = 0
    size = 1
    name = "single process"

    @property
    def is_root(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def allreduce_(self, array: np.ndarray) -> np.ndarray:
        return array

    def broadcast_(self, array: np.ndarray, root: int = 0) -> np.ndarray:
        return array

    def bcast(self, obj: Any, root: int = 0) -> Any:
        return obj

    def allgather(self, obj: Any) -> list[Any]:
        return [obj]

    def barrier(self) -> None:
        pass

    def abort(self, code: int = 1) -> None:
        os._exit(code)

    def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rank={self.rank}, size={self.size})"


class MPICommunicator(Communicator):
    """An mpi4py communicator (default ``MPI.COMM_WORLD``) with a collective watchdog.

    Args:
        comm: the mpi4py communicator; None for ``MPI.COMM_WORLD``.
        timeout: seconds one collective may take before this rank reports which operation
            hung and calls ``MPI_Abort`` (ending every rank of the job with exit code 3).
            None: ``DESCEND_MPI_TIMEOUT`` from the environment, else :data:`DEFAULT_TIMEOUT`;
            0 disables the watchdog. Choose it above the longest time a rank can spend
            between two collectives (an epoch's evaluation, a checkpoint write) — the watchdog
            is a guard against hangs, not a performance limit.

    Arrays passed to ``allreduce_`` / ``broadcast_`` must be C-contiguous with the same shape
    and dtype on every rank (the trainer passes the optimizer's flat buffers).
    """

    name = "MPI"

    def __init__(self, comm: Any = None, timeout: float | None = None) -> None:
        try:
            from mpi4py import MPI
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise DistributedError(f"cannot import mpi4py ({error}); {MPI_INSTALL_HINT}") from None
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        if timeout is None:
            timeout = _timeout_from_environment()
        if timeout < 0:
            raise ValueError(f"timeout must be >= 0 seconds (0 disables the watchdog), got {timeout}")
        self.timeout = float(timeout)
        self._operation: str | None = None
        self._since = 0.0
        self._watchdog: threading.Thread | None = None
        self._stop = threading.Event()
        self._on_timeout: Callable[[str, float], None] = self._abort_on_timeout
        if self.timeout > 0 and self.size > 1:
            self._watchdog = threading.Thread(target=self._watch, name="descend-mpi-watchdog", daemon=True)
            self._watchdog.start()

    # --------------------------------------------------------------------- watchdog
    def _watch(self) -> None:
        interval = min(1.0, max(0.05, self.timeout / 10))
        while not self._stop.wait(interval):
            operation = self._operation
            if operation is not None and time.monotonic() - self._since > self.timeout:
                self._on_timeout(operation, time.monotonic() - self._since)
                return

    def _abort_on_timeout(self, operation: str, waited: float) -> None:
        _error(
            f"descend: rank {self.rank} of {self.size} waited {waited:.0f} s in {operation} "
            f"(the timeout is {self.timeout:g} s): another rank died, hangs or cannot be reached. "
            "Aborting all ranks. (Raise the limit with DESCEND_MPI_TIMEOUT=SECONDS if a rank "
            "legitimately works longer between two collectives.)"
        )
        self.abort(3)

    def _run(self, operation: str, call: Callable[[], Any]) -> Any:
        self._since = time.monotonic()
        self._operation = operation
        try:
            return call()
        finally:
            self._operation = None

    # ------------------------------------------------------------------ collectives
    def allreduce_(self, array: np.ndarray) -> np.ndarray:
        if self.size == 1:
            return array
        if not array.flags.c_contiguous:
            raise ValueError("allreduce_ needs a C-contiguous array (it reduces in place)")
        MPI = self.MPI
        self._run("Allreduce", lambda: self.comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM))
        return array

    def broadcast_(self, array: np.ndarray, root: int = 0) -> np.ndarray:
        if self.size == 1:
            return array
        if not array.flags.c_contiguous:
            raise ValueError("broadcast_ needs a C-contiguous array (it writes in place)")
        self._run("Bcast", lambda: self.comm.Bcast(array, root=root))
        return array

    def bcast(self, obj: Any, root: int = 0) -> Any:
        if self.size == 1:
            return obj
        return self._run("bcast", lambda: self.comm.bcast(obj, root=root))

    def allgather(self, obj: Any) -> list[Any]:
        if self.size == 1:
            return [obj]
        return self._run("allgather", lambda: self.comm.allgather(obj))

    def barrier(self) -> None:
        if self.size > 1:
            self._run("Barrier", self.comm.Barrier)

    def abort(self, code: int = 1) -> None:
        """End every process of the job (``MPI_Abort``) with exit status ``code``."""
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # pragma: no cover
            pass
        # MPI_Abort kills the job at once; give the launcher a moment to forward what this
        # rank just wrote (once, under heavy load, the error message was lost otherwise).
        time.sleep(0.2)
        try:
            self.comm.Abort(code)
        finally:  # pragma: no cover - Abort does not return
            os._exit(code)

    def close(self) -> None:
        """Stop the watchdog (MPI itself is finalised by mpi4py at exit)."""
        self._stop.set()

    def __repr__(self) -> str:
        return f"MPICommunicator(rank={self.rank}, size={self.size}, timeout={self.timeout:g})"


def _timeout_from_environment() -> float:
    value = os.environ.get("DESCEND_MPI_TIMEOUT")
    if value is None or not value.strip():
        return DEFAULT_TIMEOUT
    try:
        seconds = float(value)
    except ValueError:
        raise DistributedError(
            f"DESCEND_MPI_TIMEOUT must be a number of seconds (0 disables the watchdog), got {value!r}"
        ) from None
    if seconds < 0 or seconds != seconds:
        raise DistributedError(f"DESCEND_MPI_TIMEOUT must be >= 0 seconds, got {value!r}")
    return seconds


def _error(text: str) -> None:
    try:
        sys.stderr.write(text.rstrip("\n") + "\n")
        sys.stderr.flush()
    except Exception:  # pragma: no cover
        pass


_installed: dict[str, Any] = {}


def install_abort_on_error(comm: Communicator) -> None:
    """Make an uncaught exception on this rank abort the whole job.

    Without it, a rank that raises exits (after printing its traceback) while the others wait
    forever for it in their next collective. With it, the traceback is printed with the rank
    in front, and ``MPI_Abort`` ends every rank with exit status 1. Installed by
    :func:`init_distributed`; idempotent; does nothing for a single process.
    """
    if comm.size <= 1 or _installed.get("comm") is comm:
        return
    previous = _installed.get("previous", sys.excepthook)

    def excepthook(kind: type[BaseException], value: BaseException, tb: Any) -> None:
        if issubclass(kind, SystemExit) and value.code in (None, 0):
            return previous(kind, value, tb)
        text = "".join(traceback.format_exception(kind, value, tb))
        _error(
            f"descend: rank {comm.rank} of {comm.size} failed; aborting all ranks.\n{text}"
        )
        comm.abort(1)

    _installed["previous"] = previous
    _installed["comm"] = comm
    sys.excepthook = excepthook


class abort_on_error:
    """Context manager: any exception leaving the block on this rank — including
    ``SystemExit`` with a non-zero status (an argument or data error that a command-line tool
    turns into an exit) and ``KeyboardInterrupt`` — ends every rank of the job with
    ``MPI_Abort`` instead of leaving the others blocked in a collective. The error's message
    (a short one for ``SystemExit``; the traceback otherwise) is printed first, prefixed by
    the rank. A single-process communicator passes everything through unchanged."""

    def __init__(self, comm: Communicator) -> None:
        self.comm = comm

    def __enter__(self) -> Communicator:
        return self.comm

    def __exit__(self, kind: Any, value: Any, tb: Any) -> bool:
        if kind is None or self.comm.size <= 1:
            return False
        if issubclass(kind, SystemExit):
            code = value.code
            if code in (None, 0):
                return False
            status = code if isinstance(code, int) else 1
            if not isinstance(code, int):
                _error(str(code))
            _error(f"descend: rank {self.comm.rank} of {self.comm.size} exited with status {status}; aborting all ranks.")
            self.comm.abort(status)
        if issubclass(kind, KeyboardInterrupt):
            _error(f"descend: rank {self.comm.rank} of {self.comm.size} interrupted; aborting all ranks.")
            self.comm.abort(130)
        text = "".join(traceback.format_exception(kind, value, tb))
        _error(f"descend: rank {self.comm.rank} of {self.comm.size} failed; aborting all ranks.\n{text}")
        self.comm.abort(1)
        return False  # pragma: no cover - abort does not return


class setup_phase:
    """Context manager for the set-up of a distributed command (checking options, loading
    data, building the model), which contains no collective operation.

    At its end the ranks compare notes (one ``allgather``): if any rank raised, every rank
    leaves the block with an exception — rank 0 with its own error, or a
    :class:`DistributedError` naming the failed rank and its message; the other ranks with a
    silent ``SystemExit(1)`` — so the error is printed once, by rank 0, and no rank is left
    waiting. ``KeyboardInterrupt`` and ``SystemExit`` pass through as they are.
    """

    def __init__(self, comm: Communicator) -> None:
        self.comm = comm

    def __enter__(self) -> Communicator:
        return self.comm

    def __exit__(self, kind: Any, value: Any, tb: Any) -> bool:
        comm = self.comm
        if comm.size <= 1:
            return False
        if kind is not None and issubclass(kind, (KeyboardInterrupt, SystemExit)):
            return False
        mine = None if kind is None else (type(value).__name__, " ".join(str(value).split()))
        reports = comm.allgather(mine)
        failed = [(rank, report) for rank, report in enumerate(reports) if report is not None]
        if not failed:
            return False
        if comm.is_root:
            if kind is not None:
                return False  # rank 0 raises its own error
            rank, (name, text) = failed[0]
            raise DistributedError(f"rank {rank} of {comm.size} failed to start: {text or name}")
        raise SystemExit(1)


def init_distributed(timeout: float | None = None, require: bool = False) -> Communicator:
    """The communicator for this process.

    * Started by ``mpiexec``/``mpirun`` (detected from the launcher's environment) or
      ``require=True``: an :class:`MPICommunicator` over ``MPI.COMM_WORLD``, with
      :func:`install_abort_on_error` installed. If mpi4py is missing this raises
      :class:`DistributedError` with :data:`MPI_INSTALL_HINT` (training the same model
      independently on every rank, all writing the same files, is never what was meant).
    * Otherwise: a single-process :class:`Communicator`.
    """
    launched = launched_by_mpi()
    if not require and launched == 0:
        return Communicator()
    if not mpi_available():
        how = f"this process was started by an MPI launcher ({launched} processes), but " if launched else ""
        raise DistributedError(f"{how}{MPI_INSTALL_HINT}")
    try:
        comm = MPICommunicator(timeout=timeout)
    except ImportError as error:  # pragma: no cover - broken MPI installation
        raise DistributedError(f"mpi4py is installed but cannot load its MPI library ({error}); {MPI_INSTALL_HINT}") from None
    install_abort_on_error(comm)
    return comm
