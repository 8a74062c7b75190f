"""Finding and calling ``mpiexec`` (for the tests, the benchmark and ``descend`` itself).

The launcher that matches mpi4py's MPI library is preferred: the one installed beside the
running Python (``pip install 'descend[mpi]'`` puts MPICH's ``mpiexec`` into the virtual
environment's ``bin/``), then ``mpiexec``/``mpirun`` on ``PATH``. Open MPI refuses to run as
root and to start more processes than there are cores unless told to; :func:`mpiexec_command`
adds those flags (and environment variables) when the launcher is Open MPI's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

__all__ = ["find_mpiexec", "mpiexec_flavor", "mpiexec_command", "mpiexec_environment"]


def find_mpiexec() -> str | None:
    """Path of the MPI launcher to use, or None if there is none."""
    override = os.environ.get("DESCEND_MPIEXEC")
    if override:
        return override
    here = Path(sys.executable).parent
    for name in ("mpiexec", "mpirun"):
        candidate = here / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    for name in ("mpiexec", "mpirun"):
        found = shutil.which(name)
        if found:
            return found
    return None


@lru_cache(maxsize=None)
def mpiexec_flavor(mpiexec: str) -> str:
    """``"openmpi"``, ``"mpich"`` (Hydra: MPICH, Intel MPI) or ``"unknown"``."""
    try:
        result = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30)
        text = (result.stdout + result.stderr).lower()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if "open mpi" in text or "open-mpi" in text or "openrte" in text:
        return "openmpi"
    if "hydra" in text or "mpich" in text or "intel" in text:
        return "mpich"
    return "unknown"


def mpiexec_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) plus what lets Open MPI run as root and
    oversubscribe a small machine; harmless for other MPIs."""
    out = dict(os.environ if env is None else env)
    out.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    out.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    out.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    out.setdefault("PRTE_MCA_rmaps_default_mapping_policy", ":oversubscribe")
    return out


def mpiexec_command(n: int, argv: list[str], mpiexec: str | None = None) -> list[str]:
    """``[mpiexec, -n, n, (flags), *argv]`` for ``n`` processes on this machine."""
    mpiexec = mpiexec or find_mpiexec()
    if mpiexec is None:
        from .communicator import MPI_INSTALL_HINT

        raise FileNotFoundError(f"no mpiexec found; {MPI_INSTALL_HINT}")
    command = [mpiexec, "-n", str(int(n))]
    if mpiexec_flavor(mpiexec) == "openmpi":
        command += ["--oversubscribe"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command += ["--allow-run-as-root"]
    return command + list(argv)
