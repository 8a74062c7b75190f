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

The trial budget ``--trials N`` is for the study as a whole: a worker starts a new trial only
while fewer than N trials are finished, running or queued (interrupted ones, which are run
again, do not count). The check and the start happen under a lock — a file lock next to a
journal file, an advisory lock in PostgreSQL — so N workers end with exactly N trials; with
the other databases two workers starting at the same instant can overshoot by one trial each.
A worker whose budget is used up while trials of other live workers are still running waits
for them (``start_next_trial``): if one of those workers dies, its trial is run again here, so
the study ends with N finished trials.

Dead workers: every running trial records its worker (``host:pid``), the machine (boot and
PID-namespace identity) and a *heartbeat* (a wall-clock time written every
``heartbeat_interval()`` seconds by ``Heartbeat``). Before each new trial, a worker turns the
trials of dead workers into failures with the user attribute ``interrupted``
(``recover_dead_workers``): a trial of this machine whose process no longer exists at once, and
a trial of any machine whose heartbeat is older than ``GRACE_BEATS`` intervals. Interrupted
trials (also those stopped by Ctrl-C) are enqueued again with the same parameters (once each),
and do not count toward the budget.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import socket
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "EMBEDDED_JOURNAL",
    "GRACE_BEATS",
    "HEARTBEAT_ENV",
    "StorageInfo",
    "open_storage",
    "budget_lock",
    "direction_for",
    "make_sampler",
    "make_pruner",
    "worker_id",
    "machine_id",
    "heartbeat_interval",
    "dead_worker_reason",
    "counted_trials",
    "recover_dead_workers",
    "recover_interrupted",
    "start_next_trial",
    "Heartbeat",
    "FileLockForJournal",
    "TrialOutcome",
]

EMBEDDED_JOURNAL = "study.journal"

RDB_PREFIXES = ("sqlite:", "postgresql", "postgres:", "mysql", "oracle", "mssql")

# Heartbeats: a running trial's worker writes the time every HEARTBEAT_ENV seconds (default
# 30); a trial whose last beat is older than GRACE_BEATS of its worker's intervals is taken
# for dead. Four beats of slack cover a busy database and moderate clock skew between hosts.
HEARTBEAT_ENV = "DESCEND_TUNE_HEARTBEAT"
DEFAULT_HEARTBEAT = 30.0
GRACE_BEATS = 4

# The PostgreSQL advisory-lock keys (any fixed 64-bit numbers) of the trial budget and of
# the creation of Optuna's tables.
BUDGET_LOCK_KEY = zlib.crc32(b"descend tune: trial budget")
SCHEMA_LOCK_KEY = zlib.crc32(b"descend tune: optuna schema")


def worker_id() -> str:
    """``host:pid`` of this process (recorded on every trial it runs)."""
    return f"{socket.gethostname()}:{os.getpid()}"


@functools.lru_cache(maxsize=1)
def machine_id() -> str:
    """This boot of this machine and this PID namespace (``boot_id:pidns``; empty where the
    system does not tell). Two workers see each other's process ids only when their host
    name *and* this identity agree — containers that share a host name do not."""
    parts = []
    try:
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    except OSError:
        return ""
    return ":".join(parts)


def heartbeat_interval() -> float:
    """Seconds between a running trial's heartbeats: ``$DESCEND_TUNE_HEARTBEAT`` or 30."""
    from .errors import TuneError

    text = os.environ.get(HEARTBEAT_ENV, "").strip()
    if not text:
        return DEFAULT_HEARTBEAT
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise TuneError(f"{HEARTBEAT_ENV}={text!r}: give the heartbeat interval in seconds, a number > 0 (default 30)")
    return value


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
    from optuna.storages.journal import JournalFileBackend

    from .errors import TuneError

    def journal(path: Path, embedded: bool, text: str) -> StorageInfo:
        path = path.expanduser()
        if path.is_dir():
            raise TuneError(f"--storage {text}: {path} is a directory; give a journal file's path")
        path.parent.mkdir(parents=True, exist_ok=True)
        file_path = str(path)
        backend = JournalFileBackend(file_path, lock_obj=FileLockForJournal(file_path + ".flock"))
        budget = file_path + ".budget.flock"
        return StorageInfo(optuna.storages.JournalStorage(backend), text, "journal", embedded, budget)

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
        return StorageInfo(_open_rdb(text), text, "rdb", False, None)
    raise TuneError(
        f"--storage {text!r} is not a storage this version understands; use sqlite:///PATH.db, "
        "postgresql://USER:PASSWORD@HOST/DB, mysql+pymysql://USER:PASSWORD@HOST/DB, "
        "redis://HOST:PORT, or journal:PATH (a journal file; also any PATH ending in .journal)"
    )


class FileLockForJournal:
    """The journal file's lock: an OS file lock (``filelock``: ``flock`` on Unix, which NFS
    clients map to NFS locks), released by the kernel when its holder dies. Optuna's default
    lock files, made with ``O_EXCL`` or ``symlink``, stall every other worker for 30 s after a
    worker is killed while writing — which is frequent: a journal write and its fsync are
    most of what a worker does between the epochs of a small model. Optuna's journal backend
    needs only ``acquire``/``release`` (the protocol of its ``BaseJournalFileLock``)."""

    def __init__(self, path: str) -> None:
        import filelock

        self.lock = filelock.FileLock(path)

    def acquire(self) -> bool:
        self.lock.acquire()
        return True

    def release(self) -> None:
        self.lock.release()


def _open_rdb(text: str) -> Any:
    """Optuna's RDB storage for a database URL. Dead workers are found by descend's own
    heartbeats (``recover_dead_workers``), for every kind of storage alike, so Optuna's
    (experimental, RDB-only) heartbeat is not switched on."""
    from optuna.storages import RDBStorage

    from .errors import TuneError

    if text.startswith("sqlite:///"):
        Path(text[len("sqlite:///"):]).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        with _schema_lock(text):
            return RDBStorage(text)
    except ImportError as error:
        raise TuneError(
            f"--storage {text}: the database driver is not installed ({error.__cause__ or error}); "
            "for PostgreSQL: pip install 'descend[postgres]' (psycopg 3); for MySQL: pip install pymysql "
            "and a URL mysql+pymysql://..."
        ) from None
    except Exception as error:  # noqa: BLE001 (sqlalchemy's errors: bad URL, unreachable server, ...)
        raise TuneError(f"--storage {text}: cannot open the database: {error}") from None


@contextlib.contextmanager
def _schema_lock(url: str) -> Iterator[None]:
    """Serialises the creation of Optuna's tables in a new PostgreSQL database: workers that
    start together would otherwise both run ``CREATE TYPE ...`` and all but one fail."""
    if not url.lower().startswith(("postgresql", "postgres:")):
        yield
        return
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            yield
    finally:
        engine.dispose()


@contextlib.contextmanager
def budget_lock(info: StorageInfo) -> Iterator[None]:
    """Exclusive section for "count the trials, then start one": a file lock next to a
    journal file (released by the kernel if its holder dies); a transaction-scoped advisory
    lock in PostgreSQL (released by the server when the transaction ends, also when the
    worker dies); nothing elsewhere."""
    if info.lock_path is not None:
        import filelock

        with filelock.FileLock(info.lock_path):
            yield
        return
    engine = getattr(info.storage, "engine", None)
    if engine is not None and engine.dialect.name == "postgresql":
        import sqlalchemy

        with engine.begin() as connection:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": BUDGET_LOCK_KEY})
            yield
        return
    yield


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


def _retried(trials: list[Any]) -> set[int]:
    """Numbers of the trials that were run again: by descend (user attribute ``retry_of``)
    or by Optuna's ``RetryFailedTrialCallback`` (system attribute ``failed_trial``; studies
    of earlier versions)."""
    numbers = {t.user_attrs.get("retry_of") for t in trials} | {t.system_attrs.get("failed_trial") for t in trials}
    return {n for n in numbers if n is not None}


def counted_trials(study: Any) -> int:
    """Trials that use up the budget: finished (complete, pruned, failed — but not the
    interrupted ones, which are run again, nor failures that were retried), running, or
    waiting in the queue (they will run)."""
    import optuna

    S = optuna.trial.TrialState
    trials = study.get_trials(deepcopy=False)
    retried = _retried(trials)
    count = 0
    for trial in trials:
        unfinished_or_done = trial.state in (S.COMPLETE, S.PRUNED, S.RUNNING, S.WAITING)
        if unfinished_or_done or (trial.state == S.FAIL and not _is_interrupted(trial) and trial.number not in retried):
            count += 1
    return count


def _process_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine runs (a zombie — dead, not yet reaped by its
    parent — does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): signal 0 is all there is
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _last_beat(trial: Any) -> float | None:
    """The time of the trial's last heartbeat (seconds since the epoch); its start where it
    has none yet (a worker that died between starting the trial and its first beat)."""
    beat = trial.user_attrs.get("heartbeat")
    if isinstance(beat, (int, float)) and math.isfinite(beat):
        return float(beat)
    if trial.datetime_start is not None:
        return trial.datetime_start.timestamp()
    return None


def dead_worker_reason(trial: Any, now: float | None = None) -> str | None:
    """Why the running ``trial``'s worker is taken for dead ("a worker that ..."), or None
    while it may be alive.

    Dead: a worker of this machine (same host name and ``machine_id``) whose process no longer
    exists; or any worker whose last heartbeat is older than ``GRACE_BEATS`` of its intervals.
    A trial of this very process is judged by its heartbeat alone."""
    worker = str(trial.user_attrs.get("worker", ""))
    host, _, pid = worker.rpartition(":")
    machine = trial.user_attrs.get("machine")
    local = host == socket.gethostname() and (not machine or machine == machine_id())
    if local and pid.isdigit() and int(pid) != os.getpid() and not _process_alive(int(pid)):
        return f"a worker that no longer exists ({worker})"
    interval = trial.user_attrs.get("heartbeat_interval")
    if not (isinstance(interval, (int, float)) and interval > 0):
        interval = DEFAULT_HEARTBEAT
    last = _last_beat(trial)
    age = (time.time() if now is None else now) - last if last is not None else math.inf
    if age > GRACE_BEATS * interval:
        who = f"{worker}, " if worker else ""
        return f"a worker that sent no heartbeat for {age:.0f} s ({who}one expected every {interval:g} s)"
    return None


def _fail_as_interrupted(study: Any, info: StorageInfo, trial: Any, reason: str) -> bool:
    """Record ``trial`` (running) as failed and interrupted; False when another worker did
    first or the trial finished meanwhile."""
    import optuna

    storage = info.storage
    try:
        study_id = storage.get_study_id_from_name(study.study_name)
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        storage.set_trial_user_attr(trial_id, "interrupted", True)
        storage.set_trial_user_attr(trial_id, "note", f"left running by {reason}")
        return bool(storage.set_trial_state_values(trial_id, optuna.trial.TrialState.FAIL))
    except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError, KeyError):
        return False


def recover_dead_workers(study: Any, info: StorageInfo, note: Callable[[str], None]) -> list[int]:
    """Turn the trials left running by dead workers (``dead_worker_reason``) into interrupted
    failures, and enqueue every interrupted trial that has not been run again yet once more
    with its parameters. Returns the numbers of the trials enqueued. Call it under
    ``budget_lock`` so that two workers do not enqueue the same trial twice."""
    import optuna

    S = optuna.trial.TrialState
    for trial in study.get_trials(deepcopy=False, states=(S.RUNNING,)):
        reason = dead_worker_reason(trial)
        if reason is not None and _fail_as_interrupted(study, info, trial, reason):
            note(f"Trial {trial.number} was left running by {reason}; it will be run again.")
    trials = study.get_trials(deepcopy=False)
    retried = _retried(trials)
    enqueued = []
    for trial in trials:
        # A re-run that died before it sampled has its parameters only as the queue's.
        params = trial.params or trial.system_attrs.get("fixed_params")
        if _is_interrupted(trial) and trial.number not in retried and params:
            study.enqueue_trial(params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)
            enqueued.append(trial.number)
    if enqueued:
        note(f"Running interrupted trial(s) {', '.join(map(str, enqueued))} again with the same parameters.")
    return enqueued


def recover_interrupted(study: Any, info: StorageInfo, note: Callable[[str], None]) -> list[int]:
    """The former name of ``recover_dead_workers``."""
    return recover_dead_workers(study, info, note)


def _mark_started(trial: Any) -> None:
    """The attributes by which other workers tell whether this trial's worker lives."""
    trial.set_user_attr("worker", worker_id())
    trial.set_user_attr("machine", machine_id())
    trial.set_user_attr("heartbeat_interval", heartbeat_interval())
    trial.set_user_attr("heartbeat", time.time())


def start_next_trial(
    study: Any,
    info: StorageInfo,
    trials: int,
    note: Callable[[str], None],
    deadline: float | None = None,
) -> Any | None:
    """The next trial for this worker to run, or None when the study is done.

    Before each trial, under ``budget_lock``: recover the trials of dead workers
    (``recover_dead_workers``), then start a queued trial (a re-run) or, while the study
    counts fewer than ``trials`` (``counted_trials``), a new one. When the budget is used up
    but trials of live workers are still running, wait for them — polling every second or
    heartbeat, whichever is shorter — because a worker that dies leaves its trial to be run
    again; return None once no trial runs (or at ``deadline``, a ``time.monotonic()`` time).
    The trial returned carries this worker's identity and first heartbeat; keep a
    ``Heartbeat`` running while it trains."""
    import optuna

    S = optuna.trial.TrialState
    poll = min(1.0, heartbeat_interval())
    waiting_for: set[int] = set()
    while True:
        with budget_lock(info):
            recover_dead_workers(study, info, note)
            queued = study.get_trials(deepcopy=False, states=(S.WAITING,))
            if queued or counted_trials(study) < trials:
                trial = study.ask()
                _mark_started(trial)
                return trial
            running = {t.number for t in study.get_trials(deepcopy=False, states=(S.RUNNING,))}
        if not running:
            return None
        if deadline is not None and time.monotonic() >= deadline:
            note(f"Stopped waiting for trial(s) {_numbers(running)} of other workers (--timeout).")
            return None
        if running - waiting_for:
            note(
                f"All {trials} trials of the study have started; waiting for trial(s) {_numbers(running)} running "
                "on other workers (if a worker dies, its trial is run again here)."
            )
            waiting_for |= running
        time.sleep(poll)


def _numbers(numbers: set[int]) -> str:
    return ", ".join(map(str, sorted(numbers)))


@dataclass
class TrialOutcome:
    """What one trial's training run gave."""

    values: list[float]  # the monitored metric after each epoch
    best: float  # the objective: the best of ``values``
    pruned: bool
    logdir: str | None


class Heartbeat:
    """Writes the running ``trial``'s heartbeat (its user attribute ``heartbeat``, the time)
    every ``heartbeat_interval()`` seconds from a background thread, for every kind of
    storage, so that other workers can tell that this worker lives (``dead_worker_reason``).
    ``storage`` is accepted for compatibility and not needed."""

    def __init__(self, storage: Any, trial: Any, interval: float | None = None) -> None:
        self._stop = threading.Event()
        seconds = heartbeat_interval() if interval is None else interval

        def beat() -> None:
            while not self._stop.wait(seconds):
                with contextlib.suppress(Exception):  # a storage hiccup must not stop the training
                    trial.set_user_attr("heartbeat", time.time())

        self._thread = threading.Thread(target=beat, name="descend-tune-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def best_of(values: list[float], direction: str) -> float:
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return math.nan
    return max(finite) if direction == "maximize" else min(finite)


def now() -> float:
    return time.time()
