"""The study: Optuna storage, sampler, pruner, and the loop of trials of one worker.

Storage (where the study's trials live; every worker that opens the same storage and study
name joins the same study):

* default: an Optuna *journal file* ``study.journal`` in the tune directory, which needs no
  server (several processes on one machine, or on machines sharing the directory over NFS,
  can use it together);
* ``--storage URL``: any Optuna storage URL — ``sqlite:///path.db``,
  ``postgresql://user:pass@host/db``, ``mysql+pymysql://user:pass@host/db`` (Optuna's RDB
  storage; the driver package must be installed), or ``journal:PATH`` / a path ending in
  ``.journal`` or ``.log`` for a journal file elsewhere.

The trial budget ``--trials N`` is for the study as a whole: a worker starts a trial only
while fewer than N trials are finished or running (interrupted ones, which ``--resume`` runs
again, do not count). With journal storage the check and the start happen under a file lock,
so N workers end with exactly N trials; with RDB storage two workers starting at the same
instant can overshoot by one trial each.

Interrupted trials: a trial stopped by Ctrl-C is recorded as failed with the user attribute
``interrupted``; a trial left ``RUNNING`` by a worker that died (the worker's process on this
machine no longer exists; or, with RDB storage, its heartbeat stopped) is turned into such a
failure when a worker starts. Such trials are enqueued again with the same parameters (once),
so ``--resume`` finishes exactly the study that was interrupted.
"""

from __future__ import annotations

import contextlib
import math
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = [
    "EMBEDDED_JOURNAL",
    "StorageInfo",
    "open_storage",
    "direction_for",
    "make_sampler",
    "make_pruner",
    "worker_id",
    "counted_trials",
    "recover_interrupted",
    "TrialOutcome",
]

EMBEDDED_JOURNAL = "study.journal"

RDB_PREFIXES = ("sqlite:", "postgresql", "postgres:", "mysql", "oracle", "mssql")


def worker_id() -> str:
    """``host:pid`` of this process (recorded on every trial it runs)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class StorageInfo:
    storage: Any  # an optuna storage object
    url: str  # as the user would write it (for messages and best.json)
    kind: str  # "journal" or "rdb"
    embedded: bool  # the default journal in the tune directory
    lock_path: str | None  # for the trial-budget lock (journal storage)


def open_storage(url: str | None, directory: Path) -> StorageInfo:
    """The Optuna storage for ``--storage URL`` (None: the embedded journal in ``directory``)."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    from .errors import TuneError

    def journal(path: Path, embedded: bool, text: str) -> StorageInfo:
        path = path.expanduser()
        if path.is_dir():
            raise TuneError(f"--storage {text}: {path} is a directory; give a journal file's path")
        path.parent.mkdir(parents=True, exist_ok=True)
        file_path = str(path)
        backend = JournalFileBackend(file_path, lock_obj=JournalFileOpenLock(file_path))
        return StorageInfo(optuna.storages.JournalStorage(backend), text, "journal", embedded, file_path + ".budget")

    if url is None:
        return journal(Path(directory) / EMBEDDED_JOURNAL, True, str(Path(directory) / EMBEDDED_JOURNAL))
    text = url.strip()
    if not text:
        raise TuneError("--storage needs a URL, e.g. sqlite:///study.db or journal:study.journal")
    if text.startswith("journal:"):
        return journal(Path(text[len("journal:"):]), False, text)
    if text.endswith((".journal", ".log")) and "://" not in text:
        return journal(Path(text), False, text)
    if text.startswith("redis://"):
        try:
            from optuna.storages.journal import JournalRedisBackend

            return StorageInfo(optuna.storages.JournalStorage(JournalRedisBackend(text)), text, "journal", False, None)
        except ImportError as error:
            raise TuneError(f"--storage {text}: Redis journal storage needs the redis package ({error})") from None
    if text.lower().startswith(RDB_PREFIXES):
        from optuna.storages import RDBStorage, RetryFailedTrialCallback

        if text.startswith("sqlite:///"):
            Path(text[len("sqlite:///"):]).expanduser().parent.mkdir(parents=True, exist_ok=True)
        import inspect
        import warnings

        # A dead worker's trial is failed after its heartbeat stops, and retried once.
        retry = RetryFailedTrialCallback(max_retry=1)
        accepted = inspect.signature(RDBStorage).parameters
        callback = (
            {"heartbeat_stale_trial_callback": retry} if "heartbeat_stale_trial_callback" in accepted
            else {"failed_trial_callback": retry}
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # heartbeats are "experimental" in Optuna
                storage = RDBStorage(text, heartbeat_interval=30, grace_period=120, **callback)
        except ImportError as error:
            raise TuneError(
                f"--storage {text}: the database driver is not installed ({error}); e.g. "
                "pip install psycopg2-binary (PostgreSQL) or pymysql (MySQL, URL mysql+pymysql://...)"
            ) from None
        except Exception as error:  # sqlalchemy's errors: bad URL, unreachable server, ...
            raise TuneError(f"--storage {text}: cannot open the database: {error}") from None
        return StorageInfo(storage, text, "rdb", False, None)
    raise TuneError(
        f"--storage {text!r} is not a storage this version understands; use sqlite:///PATH.db, "
        "postgresql://USER:PASSWORD@HOST/DB, mysql+pymysql://USER:PASSWORD@HOST/DB, "
        "redis://HOST:PORT, or journal:PATH (a journal file; also any PATH ending in .journal)"
    )


@contextlib.contextmanager
def budget_lock(info: StorageInfo) -> Iterator[None]:
    """Exclusive section for "count the trials, then start one" (journal files only)."""
    if info.lock_path is None:
        yield
        return
    from optuna.storages.journal import JournalFileOpenLock

    lock = JournalFileOpenLock(info.lock_path)
    lock.acquire()
    try:
        yield
    finally:
        lock.release()


def direction_for(metric: str) -> str:
    """``maximize`` for accuracy-like metrics, ``minimize`` for losses and errors."""
    name = metric.rpartition(":")[2].lower()
    if "acc" in name or name in ("f1", "auc", "precision", "recall", "r2"):
        return "maximize"
    return "minimize"


def make_sampler(name: str, seed: int | None) -> Any:
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"unknown sampler {name!r}; use tpe or random")


def make_pruner(name: str, warmup_epochs: int, startup_trials: int) -> Any:
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=warmup_epochs)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner()
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"unknown pruner {name!r}; use median, hyperband or none")


def _is_interrupted(trial: Any) -> bool:
    import optuna

    return trial.state == optuna.trial.TrialState.FAIL and bool(trial.user_attrs.get("interrupted"))


def counted_trials(study: Any) -> int:
    """Trials that use up the budget: finished (complete, pruned, failed — but not the
    interrupted ones, which are run again) or running."""
    import optuna

    S = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    # Failed trials that were run again (ours: user attribute retry_of; Optuna's
    # RetryFailedTrialCallback of RDB storages: system attribute failed_trial) count once.
    retried = {t.user_attrs.get("retry_of") for t in trials} | {t.system_attrs.get("failed_trial") for t in trials}
    count = 0
    for trial in trials:
        if trial.state in (S.COMPLETE, S.PRUNED, S.RUNNING):
            count += 1
        elif trial.state == S.FAIL and not _is_interrupted(trial) and trial.number not in retried:
            count += 1
    return count


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_interrupted(study: Any, info: StorageInfo, note: Callable[[str], None]) -> list[int]:
    """Turn the trials left RUNNING by dead workers of this machine into interrupted failures
    and enqueue every interrupted trial (that was not already re-run) once more with its
    parameters. Returns the numbers of the re-enqueued trials."""
    import optuna

    S = optuna.trial.TrialState
    host = socket.gethostname()
    storage = study._storage
    others = 0
    for trial in study.get_trials(deepcopy=False, states=(S.RUNNING,)):
        worker = str(trial.user_attrs.get("worker", ""))
        whost, _, pid = worker.rpartition(":")
        if whost == host and pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
            try:
                storage.set_trial_user_attr(trial._trial_id, "interrupted", True)
                storage.set_trial_state_values(trial._trial_id, S.FAIL)
                note(f"Trial {trial.number} was left running by a worker that no longer exists ({worker}); it will be run again.")
            except Exception:  # another worker recovered it first
                pass
        elif whost != host:
            others += 1
    if others:
        note(
            f"{others} trial(s) are running on other machines; they are left alone (a trial of a worker "
            "that died there stays 'running' in a journal file; an RDB storage notices it by its heartbeat)."
        )
    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials if t.user_attrs.get("retry_of") is not None}
    waiting = {t.user_attrs.get("retry_of") for t in trials if t.state == S.WAITING}
    enqueued = []
    for trial in trials:
        if _is_interrupted(trial) and trial.number not in retried and trial.number not in waiting and trial.params:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)
            enqueued.append(trial.number)
    return enqueued


@dataclass
class TrialOutcome:
    """What one trial's training run gave."""

    values: list[float]  # the monitored metric after each epoch
    best: float  # the objective: the best of ``values``
    pruned: bool
    logdir: str | None


class Heartbeat:
    """Records the RDB storage's heartbeat of a running trial (so a dead worker's trial is
    failed and retried by the others); a no-op for other storages."""

    def __init__(self, storage: Any, trial: Any) -> None:
        self._stop = threading.Event()
        self._thread = None
        interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
        if interval:
            trial_id = trial._trial_id

            def beat() -> None:
                while True:
                    try:
                        storage.record_heartbeat(trial_id)
                    except Exception:
                        pass
                    if self._stop.wait(interval):
                        return

            self._thread = threading.Thread(target=beat, name="descend-tune-heartbeat", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def best_of(values: list[float], direction: str) -> float:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return math.nan
    return max(finite) if direction == "maximize" else min(finite)


def now() -> float:
    return time.time()
