"""The run configuration: one typed description of a training run.

A :class:`RunConfig` is made of frozen sections — :class:`DataConfig`, :class:`ModelConfig`,
:class:`OptimizerConfig`, :class:`ScheduleConfig`, :class:`CallbacksConfig`,
:class:`TrainingConfig` and :class:`RuntimeConfig` — and is the single source of every
option's default, accepted values, help text and cross-option rule. The command line
(``descend train``'s options are generated from these fields), ``options.json`` (written by
:meth:`RunConfig.to_dict`, read by :meth:`RunConfig.from_dict`) and ``descend tune`` (which
searches over these fields) all go through it.

Every field has a *flat name* (``learning_rate``, ``hidden_layers``), unique across the
sections, which is also its command-line option (``--learning_rate``)::

    >>> config = RunConfig.from_flat({"optimizer": "Adam", "learning_rate": 1e-3})
    >>> config.optimizer.learning_rate
    0.001
    >>> RunConfig.from_dict(config.to_dict()) == config
    True

:meth:`RunConfig.validate` checks everything that can be checked without reading data
(called by ``from_flat``/``from_dict``); :meth:`RunConfig.check_task` the rules that need the
task (e.g. whether the task produces the ``--monitor`` metric), before any file is written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, Iterator, Mapping

from .kinds import Choice, ConfigError, Flag, Integer, IntList, Kind, Real, Text, TextList, suggest

__all__ = [
    "ConfigError", "FieldInfo", "RunConfig", "DataConfig", "ModelConfig", "OptimizerConfig",
    "ScheduleConfig", "CallbacksConfig", "TrainingConfig", "RuntimeConfig", "SECTIONS",
    "field_infos", "CONFIG_VERSION",
]

#: The version of the ``options.json`` layout written by :meth:`RunConfig.to_dict`. Version 1
#: (descend 0.1) was a flat dict of option names; it is still read.
CONFIG_VERSION = 2

DATASETS = ("mnist", "fashion_mnist")
TASK_NAMES = ("auto", "multiclass", "binary", "regression")
ACTIVATIONS = ("relu", "tanh", "sigmoid")
OPTIMIZERS = ("SGD", "Adam", "AdamW", "Adagrad", "RMSprop")
VARIANTS = ("pytorch", "lecture")
DECAYS = ("none", "linear", "exponential", "cosine", "polynomial")
#: Metrics some task produces (``descend.train.tasks``); a ``--monitor`` naming another is
#: refused before the data are read; whether the run's task produces it is checked once the
#: task is known.
KNOWN_METRICS = ("loss", "accuracy", "mse")
SPLITS = ("dev",)


def opt(
    default: Any, kind: Kind, help: str, *, flag: str | None = None,  # noqa: A002 (argparse's name)
    aliases: tuple[str, ...] = (), metavar: str | None = None, names_run: bool = True,
    shown_default: str | None = None, group: str | None = None,
) -> Any:
    """A configuration field: its default, kind and help (``dataclasses.field`` metadata).

    ``flag`` overrides the command-line spelling (e.g. ``--no_tensorboard`` for the
    default-on ``tensorboard``); ``names_run``: whether the value appears in the default run
    directory's name; ``shown_default``: what the help shows when the default is None.
    """
    meta = {
        "kind": kind, "help": help, "flag": flag, "aliases": aliases, "metavar": metavar,
        "names_run": names_run, "shown_default": shown_default,
    }
    if isinstance(default, (list, tuple)):
        value = tuple(default)
        return field(default_factory=lambda: value, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class DataConfig:
    """What to train on."""

    dataset: str | None = opt(
        None, Choice(DATASETS), "a named image dataset, split 55,000/5,000/10,000 as in the course",
        shown_default="mnist", metavar="{mnist,fashion_mnist}")
    data: str | None = opt(
        None, Text("file"), "your own table instead (.csv/.tsv with a header line, or .npz with one "
        "array per column); split into train/dev/test (80/10/10 %%, by --seed); features "
        "standardised with the training split's statistics (regression targets too; predictions "
        "are given in the target's units)", metavar="FILE")
    target: str | None = opt(None, Text("column name"), "the target column of --data (required with --data)",
                             metavar="COLUMN")
    task: str = opt(
        "auto", Choice(TASK_NAMES), "the task of --data: 'auto' infers it from the target column (0/1: "
        "binary, integers 0..K-1 or text: multiclass, other numbers: regression)")
    features: tuple[str, ...] | None = opt(
        None, TextList("column name"), "the feature columns of --data (default: every column but the target)",
        metavar="COLUMN")
    drop: tuple[str, ...] = opt((), TextList("column name"), "columns of --data to leave out", metavar="COLUMN")
    data_dir: str | None = opt(
        None, Text("directory"), "where to look first for the dataset files (then $DESCEND_DATA, the user "
        "cache ~/.cache/descend, the copy shipped with descend, /usr/share/datasets; otherwise it is "
        "downloaded); stored with the run, so evaluate, predict and --resume look there too",
        metavar="DIR", names_run=False)

    @property
    def source(self) -> str:
        """The dataset name (``mnist``) or the table's path."""
        return self.data if self.data is not None else (self.dataset or "mnist")


@dataclass(frozen=True)
class ModelConfig:
    """The multilayer perceptron."""

    hidden_layers: tuple[int, ...] = opt(
        (128,), IntList(1), "sizes of the hidden layers, e.g. '--hidden_layers 128 128'; give none for a "
        "linear model", metavar="N")
    activation: str = opt("relu", Choice(ACTIVATIONS), "activation of the hidden layers")
    dropout: float = opt(0.0, Real(0, 1, high_open=True), "dropout probability after each hidden layer",
                         metavar="P")


@dataclass(frozen=True)
class OptimizerConfig:
    """The optimizer and its hyperparameters."""

    optimizer: str = opt("SGD", Choice(OPTIMIZERS), "the optimizer")
    learning_rate: float = opt(0.01, Real(0, None, low_open=True), "the (initial) learning rate",
                               aliases=("--lr",), metavar="LR")
    momentum: float = opt(
        0.0, Real(0, 1, high_open=True), "momentum: with SGD it is Nesterov momentum, as in the course "
        "(e.g. 0.9; --no_nesterov for plain momentum); with RMSprop, RMSprop's momentum; not used by "
        "the other optimizers", metavar="BETA")
    nesterov: bool = opt(True, Flag(), "plain (heavy-ball) momentum instead of Nesterov's with SGD "
                         "--momentum", flag="--no_nesterov")
    variant: str = opt(
        "pytorch", Choice(VARIANTS), "the optimizers' formulas: PyTorch's (eps outside the square root, "
        "PyTorch's defaults) or the lecture's (eps inside, the lecture's defaults); see docs/optimizers.md")
    weight_decay: float | None = opt(
        None, Real(0, None), "weight decay (L2 penalty; decoupled for AdamW)", metavar="WD",
        shown_default="the optimizer's: 0, AdamW 0.01")


@dataclass(frozen=True)
class ScheduleConfig:
    """The learning-rate schedule over all updates."""

    decay: str = opt(
        "none", Choice(DECAYS), "learning-rate decay over all updates (epochs * ceil(train size / batch "
        "size)), reaching --learning_rate_final just after training")
    learning_rate_final: float | None = opt(
        None, Real(0, None), "the final learning rate of --decay (exponential needs one > 0)",
        metavar="LR", shown_default="0")
    decay_power: float = opt(2.0, Real(0, None, low_open=True), "the power of --decay polynomial",
                             metavar="P")
    warmup_steps: int = opt(0, Integer(0), "linear warm-up from 0 over this many updates before the "
                            "decay (or the constant rate)", metavar="N")


@dataclass(frozen=True)
class CallbacksConfig:
    """Early stopping, best checkpoint, learning-rate reduction."""

    early_stopping: int | None = opt(
        None, Integer(1), "stop when --monitor has not improved for PATIENCE epochs, and restore the best "
        "weights however training ends", metavar="PATIENCE")
    monitor: str | None = opt(
        None, Text("metric name"), "the metric of --early_stopping, --save_best and --reduce_lr_on_plateau, "
        "e.g. dev:accuracy, dev:loss, loss", metavar="METRIC",
        shown_default="dev:accuracy for classification, dev:loss for regression")
    save_best: bool = opt(False, Flag(), "also keep best.safetensors, the checkpoint of the best epoch")
    reduce_lr_on_plateau: int | None = opt(
        None, Integer(1), "multiply the learning rate by --reduce_lr_factor when --monitor has not improved "
        "for PATIENCE epochs", metavar="PATIENCE")
    reduce_lr_factor: float = opt(0.1, Real(0, 1, low_open=True, high_open=True),
                                  "the factor of --reduce_lr_on_plateau", metavar="F")


@dataclass(frozen=True)
class TrainingConfig:
    """The training loop."""

    epochs: int = opt(10, Integer(1), "number of epochs", metavar="N")
    batch_size: int = opt(50, Integer(1), "minibatch size", metavar="N")
    seed: int = opt(42, Integer(0), "random seed (initialisation, shuffling, dropout, splitting --data)",
                    metavar="N")
    label_smoothing: float = opt(0.0, Real(0, 1, high_open=True), "label smoothing of the classification loss",
                                 metavar="EPS")
    limit_batches: int | None = opt(
        None, Integer(1), "a smoke run: at most N batches per epoch (and per evaluation), to check a "
        "configuration in seconds", metavar="N", names_run=False)


@dataclass(frozen=True)
class RuntimeConfig:
    """Where and how to run; none of it changes what is trained."""

    logdir: str | None = opt(
        None, Text("directory"), "the run directory (must be new or empty; default: "
        "logs/train-<timestamp>-<abbreviated options>; when resuming, the run's own directory)",
        metavar="DIR", names_run=False)
    resume: str | None = opt(
        None, Text("run directory or checkpoint"), "continue a run from its checkpoint (a run directory or "
        "a .safetensors file); the options are the run's, except --epochs (a larger number extends a "
        "finished run) and the runtime options", metavar="RUN", names_run=False)
    overwrite: bool = opt(False, Flag(), "replace an earlier run in --logdir (its files are deleted first)",
                          names_run=False)
    checkpoint_every: int | None = opt(
        None, Integer(1), "also checkpoint every STEPS updates (a checkpoint is always written at every "
        "epoch end)", metavar="STEPS", names_run=False)
    threads: int = opt(1, Integer(0), "BLAS threads (0: the library's default, usually all cores)",
                       metavar="N", names_run=False)
    tensorboard: bool = opt(True, Flag(), "do not write TensorBoard event files", flag="--no_tensorboard",
                            names_run=False)
    plots: bool = opt(True, Flag(), "do not draw the PNG plots", flag="--no_plots", names_run=False)
    progress: bool | None = opt(
        None, Flag(), "show the progress bar with the running loss and metrics (--no_progress: never)",
        flag="--progress", names_run=False, shown_default="only on a terminal")
    distributed: bool = opt(
        False, Flag(), "data-parallel training on the MPI processes this command was started on "
        "('mpiexec -n K descend train ...'; detected automatically under mpiexec): --batch_size is the "
        "global batch, split over the K ranks; rank 0 alone prints, logs and writes checkpoints (see "
        "docs/distributed.md; needs pip install 'descend[mpi]')", names_run=False)


#: The sections of a RunConfig, in order: (attribute name, class).
SECTIONS: tuple[tuple[str, type], ...] = (
    ("data", DataConfig), ("model", ModelConfig), ("optimizer", OptimizerConfig),
    ("schedule", ScheduleConfig), ("callbacks", CallbacksConfig), ("training", TrainingConfig),
    ("runtime", RuntimeConfig),
)


@dataclass(frozen=True)
class FieldInfo:
    """One option: its flat name, section, default and metadata."""

    name: str
    section: str
    default: Any
    kind: Kind
    help: str
    flag: str
    aliases: tuple[str, ...]
    metavar: str | None
    names_run: bool
    shown_default: str | None

    def check(self, value: Any) -> Any:
        """``value`` checked (None is accepted where the default is None)."""
        if value is None and self.default is None:
            return None
        try:
            return self.kind.check(value)
        except ConfigError as error:
            raise ConfigError(f"{self.flag}: {error}") from None

    def parse(self, text: str) -> Any:
        try:
            return self.kind.parse(text)
        except ConfigError as error:
            raise ConfigError(f"{self.flag}: {error}") from None


def _infos() -> dict[str, FieldInfo]:
    table: dict[str, FieldInfo] = {}
    for section, cls in SECTIONS:
        for f in fields(cls):
            meta = f.metadata
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
            if f.name in table:  # pragma: no cover - a programming error caught by the tests
                raise RuntimeError(f"the option name {f.name!r} is used by two sections")
            table[f.name] = FieldInfo(
                name=f.name, section=section, default=default, kind=meta["kind"], help=meta["help"],
                flag=meta["flag"] or f"--{f.name}", aliases=tuple(meta["aliases"]), metavar=meta["metavar"],
                names_run=meta["names_run"], shown_default=meta["shown_default"],
            )
    return table


_FIELDS = _infos()


def field_infos() -> dict[str, FieldInfo]:
    """Every option of the run configuration by flat name, in section order."""
    return dict(_FIELDS)


# Keys of descend 0.1's options.json that are not fields of this configuration.
_V1_DROPPED = ("command", "debug")
_V1_RENAMED = {"no_tensorboard": ("tensorboard", lambda v: not v), "no_plots": ("plots", lambda v: not v)}


@dataclass(frozen=True)
class RunConfig:
    """A whole training run: data, model, optimizer, schedule, callbacks, loop and runtime."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    callbacks: CallbacksConfig = field(default_factory=CallbacksConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    # ---------------------------------------------------------------- flat view
    def flat(self) -> dict[str, Any]:
        """Every option by flat name."""
        out: dict[str, Any] = {}
        for section, _ in SECTIONS:
            part = getattr(self, section)
            for f in fields(part):
                out[f.name] = getattr(part, f.name)
        return out

    def get(self, name: str) -> Any:
        """The value of the option ``name`` (a flat name)."""
        info = _lookup(name)
        return getattr(getattr(self, info.section), name)

    def given(self) -> dict[str, Any]:
        """The options whose value differs from the default."""
        return {k: v for k, v in self.flat().items() if v != _FIELDS[k].default}

    @classmethod
    def from_flat(cls, values: Mapping[str, Any], *, validate: bool = True) -> RunConfig:
        """A configuration from option values by flat name (the rest default).

        Raises:
            ConfigError: an unknown option (with a "did you mean"), a value of the wrong kind,
                or a combination :meth:`validate` refuses.
        """
        parts: dict[str, dict[str, Any]] = {section: {} for section, _ in SECTIONS}
        for name, value in values.items():
            info = _lookup(name)
            parts[info.section][name] = info.check(_tupled(value))
        config = cls(**{section: sec_cls(**parts[section]) for section, sec_cls in SECTIONS})
        if validate:
            config.validate()
        return config

    def replace(self, *, validate: bool = True, **values: Any) -> RunConfig:
        """A copy with some options (flat names) changed."""
        merged = self.flat()
        merged.update(values)
        return RunConfig.from_flat(merged, validate=validate)

    # ---------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """``{"version": 2, "data": {...}, "model": {...}, ...}``: JSON-able (tuples as lists)."""
        out: dict[str, Any] = {"version": CONFIG_VERSION}
        for section, _ in SECTIONS:
            part = getattr(self, section)
            out[section] = {f.name: _listed(getattr(part, f.name)) for f in fields(part)}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, validate: bool = True) -> RunConfig:
        """The inverse of :meth:`to_dict`; also reads descend 0.1's flat ``options.json``.

        Raises:
            ConfigError: a newer layout, unknown options, or invalid values (the message says
                which and why).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"a run configuration must be a JSON object, got {type(data).__name__}")
        version = data.get("version", 1)
        if version == 1:
            return cls.from_flat(_from_v1(data), validate=validate)
        if version != CONFIG_VERSION:
            raise ConfigError(
                f"this run configuration has version {version!r}, but this descend reads versions 1 and "
                f"{CONFIG_VERSION}; use the descend that wrote it, or upgrade descend"
            )
        flat: dict[str, Any] = {}
        for key, value in data.items():
            if key == "version":
                continue
            if key not in dict(SECTIONS):
                raise ConfigError(f"unknown section {key!r} in the run configuration{suggest(key, dict(SECTIONS))}")
            if not isinstance(value, Mapping):
                raise ConfigError(f"the section {key!r} of the run configuration must be an object")
            for name, item in value.items():
                info = _lookup(name)
                if info.section != key:
                    raise ConfigError(f"the option {name!r} belongs to the section {info.section!r}, not {key!r}")
                flat[name] = item
        return cls.from_flat(flat, validate=validate)

    def to_argv(self, *, include_runtime: bool = False) -> list[str]:
        """The ``descend train`` options that give this configuration (defaults left out)."""
        argv: list[str] = []
        for name, value in self.given().items():
            info = _FIELDS[name]
            if info.section == "runtime" and not include_runtime:
                continue
            if info.kind.is_flag:
                if value is not None and value != info.default:
                    argv.append(info.flag if bool(value) != info.flag.startswith("--no_") else f"--no_{name}")
                continue
            if value is None:
                continue
            argv.append(info.flag)
            argv.extend(info.kind.to_text(value))
        return argv

    # ---------------------------------------------------------------- validation
    def validate(self) -> RunConfig:
        """Check the rules between options that need no data; returns ``self``.

        Raises:
            ConfigError: the first rule broken, naming the options and the fix.
        """
        for rule in (_check_data, _check_schedule, _check_optimizer, _check_monitor):
            rule(self)
        return self

    def check_task(self, task: Any, has_dev: bool = True) -> None:
        """The rules that need the task (a :class:`descend.train.tasks.Task`) and the splits.

        Raises:
            ConfigError: ``--label_smoothing`` on regression; a ``--monitor`` metric the task does
                not produce; a ``dev:`` monitor without a dev split.
        """
        if self.training.label_smoothing and not task.supports_label_smoothing:
            raise ConfigError(f"--label_smoothing applies to classification; the task is {task.name}")
        monitor = self.monitor_for(task)
        split, _, metric = monitor.rpartition(":")
        if metric not in task.metric_names:
            raise ConfigError(
                f"--monitor {monitor}: a {task.name} task produces the metrics "
                f"{', '.join(task.metric_names)}{suggest(metric, task.metric_names)}"
            )
        if split == "dev" and not has_dev and self.uses_monitor():
            raise ConfigError(f"--monitor {monitor} needs a dev split, and this data has none")

    def uses_monitor(self) -> bool:
        c = self.callbacks
        return bool(c.early_stopping or c.reduce_lr_on_plateau or c.save_best)

    def monitor_for(self, task: Any) -> str:
        """``--monitor``, or the task's default."""
        return self.callbacks.monitor or task.default_monitor

    def describe(self) -> str:
        """One line: the options that differ from the defaults."""
        return " ".join(self.to_argv()) or "(the defaults)"

    def sections(self) -> Iterator[tuple[str, Any]]:
        for section, _ in SECTIONS:
            yield section, getattr(self, section)


# ------------------------------------------------------------------------------ helpers
def _lookup(name: str) -> FieldInfo:
    info = _FIELDS.get(name)
    if info is None:
        raise ConfigError(f"unknown option {name!r}{suggest(name, list(_FIELDS))}")
    return info


def _tupled(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _from_v1(data: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    unknown = []
    for key, value in data.items():
        if key in _V1_DROPPED:
            continue
        if key in _V1_RENAMED:
            name, convert = _V1_RENAMED[key]
            flat[name] = convert(bool(value))
            continue
        if key not in _FIELDS:
            unknown.append(key)
            continue
        if value is None and _FIELDS[key].default is not None:
            continue  # version 1 stored None for "not given"
        flat[key] = value
    if unknown:
        raise ConfigError(
            f"the run configuration (descend 0.1's options.json) has options this descend does not know: "
            f"{', '.join(sorted(unknown))}"
        )
    if flat.get("data") is not None:
        flat.pop("dataset", None)
    if flat.get("decay", "none") == "none":
        flat.pop("learning_rate_final", None)
    return flat


def _check_data(config: RunConfig) -> None:
    d = config.data
    if d.data is not None and d.dataset is not None:
        raise ConfigError("give either --dataset or --data, not both")
    if d.data is None:
        for name in ("target", "features"):
            if getattr(d, name) is not None:
                raise ConfigError(f"--{name} needs --data FILE (a named dataset has its own columns)")
        if d.drop:
            raise ConfigError("--drop needs --data FILE (a named dataset has its own columns)")
        if d.task != "auto":
            raise ConfigError("--task applies to --data; the named datasets are multiclass")
    elif d.target is None:
        raise ConfigError("--data needs --target COLUMN, the name of the target column")
    elif d.target in (d.drop or ()) or d.target in (d.features or ()):
        raise ConfigError(f"the target column {d.target!r} cannot also be a feature or dropped")


def _check_schedule(config: RunConfig) -> None:
    s = config.schedule
    lr = config.optimizer.learning_rate
    if s.decay == "none":
        if s.learning_rate_final is not None:
            raise ConfigError("--learning_rate_final needs --decay (linear, exponential, cosine or polynomial)")
        return
    final = s.learning_rate_final or 0.0
    if s.decay == "exponential" and final <= 0:
        raise ConfigError("--decay exponential needs --learning_rate_final > 0 (an exponential never reaches 0)")
    if final > lr:
        raise ConfigError(f"--learning_rate_final {final} is above --learning_rate {lr}; a decay goes down")


def _check_optimizer(config: RunConfig) -> None:
    o = config.optimizer
    if o.momentum and o.optimizer not in ("SGD", "RMSprop"):
        raise ConfigError(f"--momentum applies to SGD (Nesterov momentum) and RMSprop, not {o.optimizer}")
    if not o.nesterov and o.optimizer != "SGD":
        raise ConfigError(f"--no_nesterov applies to SGD's momentum, not to {o.optimizer}")
    if not o.nesterov and not o.momentum:
        raise ConfigError("--no_nesterov selects plain momentum: give --momentum too (e.g. --momentum 0.9)")


def _check_monitor(config: RunConfig) -> None:
    monitor = config.callbacks.monitor
    if monitor is None:
        return
    split, sep, metric = monitor.rpartition(":")
    if sep and split != "dev":
        raise ConfigError(
            f"--monitor {monitor}: the split must be dev (or none, for the training metrics), not "
            f"{split!r}{suggest(split, SPLITS)}"
        )
    if metric not in KNOWN_METRICS:
        raise ConfigError(
            f"--monitor {monitor}: unknown metric {metric!r}{suggest(metric, KNOWN_METRICS)}; the metrics are "
            f"{', '.join(KNOWN_METRICS)} (e.g. dev:accuracy, dev:loss)"
        )
