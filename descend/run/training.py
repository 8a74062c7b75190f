"""``train(config)`` and ``resume(run, ...)``: a whole run as one library call.

The order is what makes a run safe (docs/training.md, "What survives what"): the
configuration is validated first, then the data are read and the task-dependent rules
checked, then the model and optimizer are built — and only then is the run directory
claimed (created or taken empty, and locked for the life of the run) and written to. A run
that fails before its first epoch leaves no directory behind.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO

from ..fileio import atomic_write
from . import builders
from .config import ConfigError, RunConfig, field_infos
from .naming import create_unique_directory, run_name
from .rundir import RunDirectory
from .runs import find_checkpoint, read_checkpoint_config

__all__ = ["TrainResult", "train", "resume", "prepare", "Prepared", "resumed_config"]

OPTIONS_FILE = "options.json"
#: Options a default run-directory name always shows (the others only when not the default).
_ALWAYS_NAMED = ("data", "epochs", "optimizer", "learning_rate", "batch_size", "seed", "hidden_layers", "activation")


@dataclass
class TrainResult:
    """What a finished (or stopped) run gives back."""

    config: RunConfig
    run_dir: Path | None
    history: list[dict[str, Any]] = field(default_factory=list)
    test: dict[str, float] | None = None

    @property
    def last(self) -> dict[str, Any]:
        """The last epoch's logs (``{}`` before any epoch)."""
        return dict(self.history[-1]) if self.history else {}


@dataclass
class Prepared:
    """A run ready to train: everything built, nothing written yet."""

    config: RunConfig
    splits: Any
    task: Any
    model: Any
    optimizer: Any
    model_description: dict[str, Any]
    generators: Any
    comm: Any


def _blas(threads: int) -> Any:
    if not threads:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def prepare(config: RunConfig, *, comm: Any = None, stderr: TextIO | None = None) -> Prepared:
    """Validate ``config``, read the data, build the model and the optimizer.

    Raises:
        ConfigError: an invalid configuration or one the data/task cannot satisfy.
        descend.data.DatasetError: the data cannot be found or read.
    """
    from ..train.tasks import get_task

    config.validate()
    stderr = stderr if stderr is not None else sys.stderr
    splits = builders.load_data(config)
    for note in getattr(splits, "notes", ()) or ():
        print(f"Note: {note}", file=stderr, flush=True)
    if len(splits.train) == 0:
        raise ConfigError("the training split is empty")
    task = get_task(splits.task)
    config.check_task(task, has_dev=splits.dev is not None)
    generators = builders.seeds(config.training.seed)
    description = builders.model_description(config, splits, task)
    model = builders.build_model(description, generators)
    total = config.training.epochs * builders.steps_per_epoch(config, len(splits.train))
    optimizer = builders.build_optimizer(config, model.parameters(), builders.build_schedule(config, total))
    return Prepared(config, splits, task, model, optimizer, description, generators, comm)


def _metadata(prep: Prepared) -> dict[str, Any]:
    return {
        "model": prep.model_description,
        "data": builders.data_description(prep.config, prep.splits),
        "run": prep.config.to_dict(),
    }


def _claim(config: RunConfig, resume_dir: Path | None) -> RunDirectory:
    if resume_dir is not None:
        return RunDirectory.claim_existing(resume_dir)
    if config.runtime.logdir is not None:
        return RunDirectory.claim_new(config.runtime.logdir, overwrite=config.runtime.overwrite)
    infos = field_infos()
    names = [name for name, info in infos.items() if info.names_run]
    shown = {k: v for k, v in config.flat().items() if k in names and (k in _ALWAYS_NAMED or v != infos[k].default)}
    shown["dataset"] = None if config.data.data is not None else (config.data.dataset or "mnist")
    path = create_unique_directory("logs", run_name("train", shown, names))
    return RunDirectory.claim_new(path)


def _callbacks(prep: Prepared, run_dir: Path | None, extra: Sequence[Any], stderr: TextIO) -> list[Any]:
    from ..train import callbacks as cb

    runtime = prep.config.runtime
    out: list[Any] = [cb.ConsoleLog(stderr=stderr), cb.ProgressBar(enabled=runtime.progress), cb.NonFiniteGuard()]
    if run_dir is not None:
        out += [cb.LogFile(run_dir / "logs.txt"), cb.CSVLogger(run_dir / "metrics.csv")]
        if runtime.tensorboard:
            out.append(cb.TensorBoard(run_dir))
        if runtime.plots:
            out.append(cb.Plots(run_dir))
        out.append(cb.Checkpoint(run_dir / "checkpoint.safetensors", every=runtime.checkpoint_every,
                                 metadata=_metadata(prep)))
    out += builders.monitor_callbacks(prep.config, prep.task, run_dir, _metadata(prep))
    out += list(extra)
    return out


def _strategy(comm: Any) -> Any:
    from ..distributed import strategy_for

    return strategy_for(comm)


def _claim_root(config: RunConfig, resume_dir: Path | None, comm: Any) -> RunDirectory | None:
    """The run directory, claimed by the root process (the others write no files)."""
    if not comm.is_root:
        return None
    directory = _claim(config, resume_dir)
    if resume_dir is None:
        try:
            atomic_write(directory.path / OPTIONS_FILE, json.dumps(config.to_dict(), indent=2) + "\n")
        except BaseException:
            directory.abandon()
            raise
    return directory


def _comm(config: RunConfig, comm: Any) -> Any:
    if comm is not None:
        return comm
    from ..distributed import init_distributed

    return init_distributed(require=config.runtime.distributed)


def _check_global_batch(config: RunConfig, comm: Any) -> None:
    """A global batch the processes cannot share evenly: reported once, by the root."""
    from ..distributed import DistributedError, check_global_batch_size

    try:
        check_global_batch_size(config.training.batch_size, comm.size)
    except DistributedError as error:
        if not comm.is_root:
            raise SystemExit(1) from None
        raise ConfigError(str(error)) from None


def _check_same_data(prep: Prepared, expected: Mapping[str, Any] | None) -> None:
    """A resumed run must see the data it was trained on (a table may have moved: its
    columns, task, classes and statistics must be the same)."""
    if expected is None or expected.get("kind") != "tabular":
        return
    from ..data.tabular import TabularSchema

    got = builders.data_description(prep.config, prep.splits)
    if got.get("schema") != TabularSchema.from_dict(expected["schema"]).to_dict():  # in today's layout
        raise ConfigError(
            f"--data {prep.config.data.data} is not the table the run was trained on ({expected.get('path')}): "
            "its columns, task, classes or statistics differ"
        )


def _set_up(config: RunConfig, comm: Any, resume_dir: Path | None, stderr: TextIO,
            expected_data: Mapping[str, Any] | None = None) -> tuple[Prepared, Any]:
    """Everything before training, on every process; a failure on any of them ends all,
    reported once (by the root). A failure after the root claimed the directory gives it up."""
    from ..distributed import setup_phase

    directory = None
    try:
        with setup_phase(comm):
            prep = prepare(config, comm=comm, stderr=stderr if comm.is_root else io.StringIO())
            _check_same_data(prep, expected_data)
            directory = _claim_root(config, resume_dir, comm)
    except BaseException:
        if directory is not None:
            directory.abandon()
        raise
    return prep, directory


def train(
    config: RunConfig, *, callbacks: Sequence[Any] = (), comm: Any = None, stderr: TextIO | None = None,
    _resume_from: Path | None = None, _notes: Sequence[str] = (), _expected_data: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Train the run ``config`` describes; returns its history and test metrics.

    The run directory is ``config.runtime.logdir`` (a new or empty directory), or a new
    ``logs/train-<timestamp>-<options>``. ``callbacks`` are added to the run's own (console,
    log file, CSV, TensorBoard, plots, checkpoint, and those of the configuration).
    ``comm``: a :class:`descend.distributed.Communicator` for data-parallel training (default:
    the MPI job this process runs in, or a single process).

    Raises:
        ConfigError: the configuration is invalid (nothing has been written).
        KeyboardInterrupt: interrupted; the last checkpoint is kept (resume with :func:`resume`).
        descend.train.NonFiniteLossError: the loss diverged; the last good checkpoint is kept.
    """
    from ..distributed import abort_on_error

    stderr = stderr if stderr is not None else sys.stderr
    comm = _comm(config, comm)
    _check_global_batch(config, comm)
    if config.runtime.plots and comm.size == 1:
        from ..train.callbacks import Plots

        Plots.prestart()  # a helper imports matplotlib while the data load and the run trains
    with _blas(config.runtime.threads):
        prep, directory = _set_up(config, comm, _resume_from, stderr, _expected_data)
        try:
            with abort_on_error(comm):  # a process that fails ends them all
                return _fit(prep, directory.path if directory else None, callbacks, _resume_from, stderr, _notes)
        finally:
            if directory is not None:
                directory.release()


def _start_notes(prep: Prepared, run_dir: Path | None, notes: Sequence[str]) -> list[str]:
    from ..train.models import describe

    out = list(notes)
    if run_dir is not None:
        out.append(f"Run directory: {run_dir}")
    splits, config = prep.splits, prep.config
    if not notes:
        out.append(f"Training an MLP {describe(prep.model_description)} on {splits.name} ({prep.task.name}, "
                   f"{len(splits.train)} training examples) with {config.optimizer.optimizer}.")
    size = prep.comm.size if prep.comm is not None else 1
    if size > 1:
        batch = config.training.batch_size
        out.append(f"Data-parallel on {size} MPI processes: each rank takes {batch // size} of the {batch} examples "
                   "of every global batch.")
    return out


def _fit(prep: Prepared, run_dir: Path | None, extra: Sequence[Any], resume_dir: Path | None,
         stderr: TextIO, notes: Sequence[str] = ()) -> TrainResult:
    from ..train import Trainer

    config = prep.config
    trainer = Trainer(
        prep.model, prep.optimizer, task=prep.task, callbacks=_callbacks(prep, run_dir, extra, stderr),
        strategy=_strategy(prep.comm), rng=prep.generators.shuffle,
        label_smoothing=config.training.label_smoothing,
    )
    if resume_dir is not None:
        trainer.restore(find_checkpoint(resume_dir))
    for note in _start_notes(prep, run_dir, notes):
        trainer.note(note)
    splits = prep.splits
    try:
        trainer.fit(splits.train, splits.dev, epochs=config.training.epochs, batch_size=config.training.batch_size,
                    limit_batches=config.training.limit_batches)
    except KeyboardInterrupt:
        if run_dir is not None:
            trainer.note(f"Interrupted; continue with: descend train --resume {run_dir}")
        raise
    test = trainer.evaluate(splits.test, name="test") if splits.test is not None else None
    if run_dir is not None:
        trainer.note(f"Run directory: {run_dir}")
    return TrainResult(config, run_dir, list(trainer.state.history), test)


# ------------------------------------------------------------------------------ resume
#: Options that may differ when resuming (where and how to run; not what is trained).
_MAY_CHANGE = ("epochs", "data_dir", "data")


def _split_overrides(stored: RunConfig, overrides: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(the overrides that may change, the names of those that would change the training)."""
    infos = field_infos()
    changed: dict[str, Any] = {}
    conflicts = []
    for name, value in overrides.items():
        info = infos[name]
        if info.section == "runtime" or name in _MAY_CHANGE:
            changed[name] = value
        elif stored.get(name) != info.check(tuple(value) if isinstance(value, list) else value):
            conflicts.append(name)
    return changed, conflicts


def _replanned_schedule(stored: RunConfig, overrides: Mapping[str, Any], epochs: int, run_dir: Path,
                        conflicts: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Extending a run whose schedule depends on its length: the schedule must be given again."""
    s = stored.schedule
    if s.decay == "none" and not s.warmup_steps:
        return {}, conflicts
    if "decay" not in overrides:
        raise ConfigError(
            f"--epochs {epochs} changes the length of {run_dir}, whose learning rate follows a {s.decay} decay "
            f"(warm-up {s.warmup_steps} updates) planned for {stored.training.epochs} epochs; give the schedule "
            f"again: e.g. --decay {s.decay} re-plans it over {epochs} epochs from its start (training continues "
            "at the re-planned rate of the current update), --decay none continues at a constant --learning_rate"
        )
    schedule = {n for n, i in field_infos().items() if i.section == "schedule"} | {"learning_rate"}
    return {n: overrides[n] for n in conflicts if n in schedule}, [n for n in conflicts if n not in schedule]


def resumed_config(stored: RunConfig, overrides: Mapping[str, Any], run_dir: Path) -> RunConfig:
    """The configuration of a resumed run: the stored one, with the runtime options, the data
    location and ``epochs`` (extending the run) from ``overrides``.

    Extending (a larger ``epochs``) a run whose learning-rate schedule depends on the number of
    epochs (a decay or a warm-up) needs the schedule given again (``--decay ...``): it is then
    re-planned over the new number of epochs, from its start, and training continues at its
    value for the current update.

    Raises:
        ConfigError: an override that would change what is trained, a ``--logdir`` other than
            the run's, or an extension of a decaying schedule without the schedule.
    """
    changed, conflicts = _split_overrides(stored, overrides)
    given_logdir = changed.pop("logdir", None)
    if given_logdir is not None and Path(given_logdir).expanduser().resolve() != run_dir.resolve():
        raise ConfigError(f"--resume continues the run in {run_dir}; do not give another --logdir")
    epochs = changed.get("epochs", stored.training.epochs)
    if epochs != stored.training.epochs:
        replanned, conflicts = _replanned_schedule(stored, overrides, epochs, run_dir, conflicts)
        changed.update(replanned)
    if conflicts:
        names = ", ".join("--" + k for k in sorted(conflicts))
        raise ConfigError(
            f"{names} differ from the options of the run being resumed ({run_dir}); a resumed run keeps its "
            "options (only --epochs, the schedule when extending, where the data are (--data_dir, or --data for a "
            "table that moved) and the runtime options such as --threads and --checkpoint_every may change)"
        )
    changed["logdir"] = str(run_dir)
    changed["resume"] = str(run_dir)
    return stored.replace(**changed)


def resume(run: str | Path, overrides: Mapping[str, Any] | None = None, *, callbacks: Sequence[Any] = (),
           comm: Any = None, stderr: TextIO | None = None) -> TrainResult:
    """Continue the run in ``run`` (a run directory or its checkpoint) exactly where it stopped.

    ``overrides`` (flat option names) may change the runtime options and ``epochs``: a
    larger number extends a finished run (a decaying schedule must then be given again).
    """
    stderr = stderr if stderr is not None else sys.stderr
    checkpoint = find_checkpoint(run)
    run_dir = checkpoint.parent
    stored, state = read_checkpoint_config(checkpoint)
    config = resumed_config(stored, dict(overrides or {}), run_dir)
    if config.data.data is not None and not Path(config.data.data).exists():
        raise ConfigError(f"the run's training table {config.data.data} no longer exists; give its new location with "
                          "--data FILE")
    where = (f"epoch {state['epochs_done'] + 1}, step {state['step_in_epoch']}" if state.get("step_in_epoch")
             else f"the end of epoch {state.get('epochs_done', 0)}")
    notes = [f"Resuming {checkpoint} from {where}."]
    if state.get("finished") and config.training.epochs <= int(state.get("epochs_done", 0)):
        notes.append(f"That run had finished all {config.training.epochs} epochs; evaluating it (give a larger "
                     "--epochs to train on).")
    expected = (state.get("config") or {}).get("data")
    return train(config, callbacks=callbacks, comm=comm, stderr=stderr, _resume_from=run_dir, _notes=notes,
                 _expected_data=expected)
