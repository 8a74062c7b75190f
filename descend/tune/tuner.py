"""The worker loop of ``descend tune``: ask Optuna for parameters, train, report, repeat.

Each trial is one ``descend train`` run (in this process, in the run directory
``<tune dir>/trial-NNNN``) with the fixed options and the sampled ones. After every epoch the
monitored dev metric is reported to the trial, and Optuna's pruner may stop the run there
(the trial is then *pruned*). The trial's value — the objective — is the best value of the
metric over the run's epochs (the maximum of an accuracy, the minimum of a loss).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ..fileio import atomic_write
from ..train.callbacks import Callback
from . import report
from .errors import TuneError
from .options import TrainOptions, parse_train_argv, quote, trial_argv
from .study import (
    Heartbeat,
    StorageInfo,
    best_of,
    start_next_trial,
    worker_id,
)

__all__ = ["TuneSettings", "Tuner", "PruningCallback"]

CONFIG_FILE = "tune.json"
MAX_CONSECUTIVE_FAILURES = 3


class PruningCallback(Callback):
    """Reports ``metric`` after every epoch to the Optuna trial; stops the run when the pruner
    says so (the run ends normally after that epoch, its checkpoint and logs intact)."""

    def __init__(self, trial: Any, metric: str) -> None:
        self.trial = trial
        self.metric = metric
        self.values: list[float] = []
        self.pruned = False
        self.missing: list[str] | None = None

    def on_epoch_end(self, trainer: Any, epoch: int, logs: Mapping[str, Any]) -> None:
        if self.metric not in logs:
            self.missing = sorted(k for k in logs if isinstance(logs[k], (int, float)) and k not in ("epoch", "time"))
            trainer.stop_training = True
            return
        value = float(logs[self.metric])
        self.values.append(value)
        if math.isfinite(value):
            self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.pruned = True
            trainer.stop_training = True


@dataclass
class TuneSettings:
    """What a study searches and how (stored in ``tune.json`` and the study's attributes)."""

    train: TrainOptions
    metric: str
    direction: str
    trials: int
    timeout: float | None
    sampler: str
    pruner: str
    study: str
    seed: int

    def record(self) -> dict[str, Any]:
        return {
            "fixed": list(self.train.fixed),
            "spaces": {s.name: s.spec for s in self.train.spaces},
            "metric": self.metric,
            "direction": self.direction,
            "sampler": self.sampler,
            "pruner": self.pruner,
        }


class Tuner:
    """One worker of a study.

    Args:
        settings: the search.
        study: the ``optuna.Study`` (created or loaded by the caller).
        storage: where it lives (for the trial-budget lock).
        directory: the tune directory (trial run directories, ``trials.csv``, ``best.json``,
            plots).
        out: where the one-line-per-trial progress goes.
        train: runs one training: ``train(options dict, callbacks) -> None`` (default:
            ``descend train``'s own implementation).
    """

    def __init__(
        self,
        settings: TuneSettings,
        study: Any,
        storage: StorageInfo,
        directory: Path,
        out: Callable[[str], None] | None = None,
        note: Callable[[str], None] | None = None,
        train: Callable[[dict[str, Any], list[Any]], Any] | None = None,
    ) -> None:
        self.settings = settings
        self.study = study
        self.storage = storage
        self.directory = Path(directory)
        self.out = out or (lambda line: print(line, flush=True))
        self.note = note or (lambda line: print(line, file=sys.stderr, flush=True))
        self.train = train or _train_run
        self.ran: list[int] = []

    # ------------------------------------------------------------------ the loop
    def run(self) -> int:
        """Run trials until the study holds ``settings.trials`` of them (or the timeout);
        returns the number this worker ran."""
        start = time.monotonic()
        deadline = None if self.settings.timeout is None else start + self.settings.timeout
        failures = 0
        while True:
            if self.settings.timeout is not None and time.monotonic() - start >= self.settings.timeout:
                self.note(f"--timeout {self.settings.timeout:g} s reached; no further trials are started by this worker.")
                break
            # Recovers dead workers' trials, then starts one (or waits for live workers' trials).
            trial = start_next_trial(self.study, self.storage, self.settings.trials, self.note, deadline)
            if trial is None:
                break
            outcome = self._run_trial(trial)
            if outcome == "fail":
                failures += 1
                if failures >= MAX_CONSECUTIVE_FAILURES:
                    raise TuneError(
                        f"{failures} trials in a row failed (see the notes above and the trials' logs.txt in "
                        f"{self.directory}); stopping this worker"
                    )
            else:
                failures = 0
            self.write_reports(plots=False)
        return len(self.ran)

    def _run_trial(self, trial: Any) -> str:
        import optuna

        S = optuna.trial.TrialState
        settings = self.settings
        params = {space.name: space.suggest(trial) for space in settings.train.spaces}
        argv = trial_argv(settings.train.fixed, settings.train.spaces, settings.train.options, params)
        logdir = self.directory / f"trial-{trial.number:04d}"
        if trial.user_attrs.get("interrupted"):  # a retry that copied its original's attributes
            trial.set_user_attr("interrupted", False)
        trial.set_user_attr("worker", worker_id())
        trial.set_user_attr("logdir", str(logdir))
        trial.set_user_attr("argv", argv)
        self.ran.append(trial.number)
        callback = PruningCallback(trial, settings.metric)
        heartbeat = Heartbeat(self.storage.storage, trial)
        started = time.perf_counter()
        try:
            options = parse_train_argv(argv)
            options["logdir"] = str(logdir)
            self.train(options, [callback])
        except KeyboardInterrupt:
            heartbeat.stop()
            trial.set_user_attr("interrupted", True)
            self.study.tell(trial, state=S.FAIL)
            self.out(f"Trial {trial.number} interrupted.")
            raise
        except Exception as error:  # noqa: BLE001 (recorded on the trial; the study goes on)
            heartbeat.stop()
            message = " ".join(str(error).split()) or type(error).__name__
            from ..train.errors import NonFiniteLossError

            if isinstance(error, NonFiniteLossError):
                trial.set_user_attr("note", f"non-finite loss: {message}")
                self.study.tell(trial, state=S.PRUNED)
                self.out(self._line(trial.number, "pruned", callback.values, params, time.perf_counter() - started, "non-finite loss"))
                return "pruned"
            trial.set_user_attr("note", f"failed: {type(error).__name__}: {message}")
            self.study.tell(trial, state=S.FAIL)
            self.note(f"Trial {trial.number} failed: {type(error).__name__}: {message}")
            return "fail"
        heartbeat.stop()
        seconds = time.perf_counter() - started
        if callback.missing is not None:
            self.study.tell(trial, state=S.FAIL)
            raise TuneError(
                f"the runs report no {settings.metric!r}; choose --metric from {', '.join(callback.missing)}"
            )
        value = best_of(callback.values, settings.direction)
        if callback.pruned:
            self.study.tell(trial, state=S.PRUNED)
            self.out(self._line(trial.number, "pruned", callback.values, params, seconds))
            return "pruned"
        if not math.isfinite(value):
            trial.set_user_attr("note", f"no finite {settings.metric}")
            self.study.tell(trial, state=S.FAIL)
            self.note(f"Trial {trial.number} gave no finite {settings.metric}.")
            return "fail"
        self.study.tell(trial, value)
        self.out(self._line(trial.number, "complete", callback.values, params, seconds))
        return "complete"

    def _line(self, number: int, state: str, values: list[float], params: dict[str, Any], seconds: float, why: str = "") -> str:
        metric = self.settings.metric
        value = best_of(values, self.settings.direction)
        shown = f"{metric}={value:.4f}" if math.isfinite(value) else f"{metric}=n/a"
        epochs = f"{len(values)} epoch{'s' if len(values) != 1 else ''}"
        best = report.best_trial(self.study)
        best_text = f" (best: trial {best.number}, {best.value:.4f})" if best is not None else ""
        parameters = " ".join(f"{k}={_short(v)}" for k, v in params.items())
        reason = f", {why}" if why else ""
        return f"Trial {number} {state}{reason}: {shown} after {epochs}, {seconds:.1f}s{best_text}  {parameters}"

    # ------------------------------------------------------------------ output
    def reproduce_argv(self, params: dict[str, Any]) -> list[str]:
        s = self.settings.train
        return ["descend", "train", *trial_argv(s.fixed, s.spaces, s.options, params)]

    def write_reports(self, plots: bool = True) -> dict[str, Any] | None:
        names = self.settings.train.space_names()
        report.write_trials_csv(self.study, self.directory / "trials.csv", names)
        best = report.write_best(self.study, self.directory / "best.json", self.settings.metric, self.reproduce_argv)
        if plots:
            report.write_plots(self.study, self.directory, self.note, self.settings.metric)
        return best

    def summary(self, best: dict[str, Any] | None) -> list[str]:
        import optuna

        S = optuna.trial.TrialState
        trials = self.study.get_trials(deepcopy=False)
        counts = {state: sum(1 for t in trials if t.state == state) for state in (S.COMPLETE, S.PRUNED, S.FAIL, S.RUNNING)}
        lines = [
            f"Study {self.study.study_name!r}: {len(trials)} trials ({counts[S.COMPLETE]} complete, {counts[S.PRUNED]} pruned, "
            f"{counts[S.FAIL]} failed, {counts[S.RUNNING]} running); this worker ran {len(self.ran)}."
        ]
        if best is None:
            lines.append("No trial completed yet.")
            return lines
        lines.append(f"Best trial {best['trial']}: {best['metric']}={best['value']:.4f} ({best['direction']})")
        for name, value in best["params"].items():
            lines.append(f"  {name} = {_short(value)}")
        lines.append(f"Reproduce it with: {best['command']}")
        lines.append(f"Trials table, best.json and plots: {self.directory}")
        return lines


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _train_run(options: dict[str, Any], callbacks: list[Any]) -> Any:
    """One ``descend train`` run with extra callbacks, in this process alone (a trial is not
    data-parallel, even under mpiexec), its console output kept in its ``logs.txt`` only
    (``descend tune`` prints one line per trial instead)."""
    from ..distributed import Communicator
    from ..run.config import RunConfig
    from ..run.training import train

    config = RunConfig.from_flat(options)
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        return train(config, callbacks=callbacks, comm=Communicator(), stderr=sink)


def sampler_seed(seed: int, shared: bool, existing: int = 0) -> int:
    """The sampler's seed. A new study of one worker: ``seed`` (the same search again). A
    study that already has ``existing`` trials (resumed, or joined): mixed with that count,
    so that the sampler does not propose the points of its first run again. A shared storage:
    mixed with the worker's identity too, so that workers do not propose the same points."""
    if not shared and existing == 0:
        return seed
    identity = worker_id() if shared else ""
    return zlib.crc32(f"{seed}:{existing}:{identity}".encode()) & 0x7FFFFFFF


def write_config(directory: Path, data: dict[str, Any]) -> None:
    atomic_write(directory / CONFIG_FILE, json.dumps(data, indent=2, default=str) + "\n")


def read_config(directory: Path) -> dict[str, Any]:
    path = directory / CONFIG_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TuneError(f"{directory} is not a tune directory (it has no {CONFIG_FILE})") from None
    except (OSError, ValueError) as error:
        raise TuneError(f"cannot read {path}: {error}") from None


__all__ += ["sampler_seed", "write_config", "read_config", "CONFIG_FILE", "quote"]
