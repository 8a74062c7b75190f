"""``descend tune``: hyperparameter search with Optuna over ``descend train``'s options.

    descend tune --learning_rate loguniform:1e-4:1e-1 --hidden_layers choice:64,128,256 \\
                 --optimizer choice:SGD,Adam --epochs 5 --trials 30

See docs/tune.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import CommandError, add_option, default_logdir, positive_float, positive_int, register

DESCRIPTION = """\
Search hyperparameters with Optuna: every option of 'descend train' is accepted, with a
fixed value or a search space, one of
  uniform:LOW:HIGH[:STEP]   loguniform:LOW:HIGH   int:LOW:HIGH[:STEP]   logint:LOW:HIGH
  choice:A,B,...            (list options: "choice:128,256 256" = [128] or [256, 256])
Each trial is one 'descend train' run in <logdir>/trial-NNNN; its value is the best dev
metric over its epochs (--metric; maximised for accuracy, minimised for losses), reported
after every epoch so that the pruner stops poor trials early.

The study lives in <logdir>/study.journal (no server needed), or in --storage URL
(sqlite:///study.db, postgresql://..., mysql+pymysql://..., journal:PATH) under --study NAME,
which any number of workers on any number of machines can join. The tune directory gets
trials.csv, best.json (with the 'descend train' command that reproduces the best trial),
optimization_history.png, param_importances.png and intermediate_values.png.
'--resume DIR' continues an interrupted study (interrupted trials are run again).

Example:
  descend tune --learning_rate loguniform:1e-4:1e-1 --hidden_layers choice:64,128,256 \\
               --optimizer choice:SGD,Adam --epochs 2 --trials 30"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..tune.options import train_options

    search = parser.add_argument_group("search")
    add_option(search, "--trials", type=positive_int, default=None, metavar="N",
               help="trials in the study (all workers together; default 20; with --resume: the stored number, "
                    "or more to extend the study)")
    add_option(search, "--timeout", type=positive_float, default=None, metavar="SECONDS",
               help="start no new trial after this many seconds (this worker)")
    add_option(search, "--metric", default=None, metavar="METRIC",
               help="the dev metric to optimise (default: --monitor if given, else dev:accuracy for "
                    "classification and dev:loss for regression)")
    add_option(search, "--direction", choices=("maximize", "minimize"), default=None,
               help="default: maximize for accuracy, minimize for losses and errors")
    add_option(search, "--sampler", choices=("tpe", "random"), default=None, help="Optuna's sampler (default: tpe)")
    add_option(search, "--pruner", choices=("median", "hyperband", "none"), default=None,
               help="Optuna's pruner; median stops a trial whose metric after an epoch is worse than the "
                    "median of the earlier trials after that epoch (default: median)")
    add_option(search, "--pruner_startup_trials", type=int, default=None, metavar="N",
               help="trials that complete before the median pruner prunes any (default: 3)")
    add_option(search, "--storage", default=None, metavar="URL",
               help="a shared study storage: sqlite:///PATH.db, postgresql://USER:PASS@HOST/DB, "
                    "mysql+pymysql://USER:PASS@HOST/DB, redis://HOST:PORT or journal:PATH "
                    "(default: <logdir>/study.journal)")
    add_option(search, "--study", default=None, metavar="NAME",
               help="the study's name in the storage; workers with the same --storage and --study "
                    "share one study (default: descend)")
    add_option(search, "--logdir", default=None, metavar="DIR",
               help="the tune directory (default: logs/tune-<timestamp>-<study>)")
    add_option(search, "--resume", default=None, metavar="DIR",
               help="continue the study of this tune directory with its stored options")

    group = parser.add_argument_group(
        "training options (each a fixed value or a search space; see 'descend train --help')"
    )
    for option in train_options().values():
        kwargs: dict[str, Any] = {"dest": option.dest, "default": None}
        if option.is_flag:
            kwargs.update(nargs="?", const=True, metavar="choice:true,false")
        elif option.is_list:
            kwargs.update(nargs="*", metavar=option.metavar or "VALUE")
        else:
            kwargs.update(metavar=option.metavar or "VALUE")
        kwargs["help"] = option.help.replace("%%", "%").replace("%", "%%")
        group.add_argument(*option.flags, **kwargs)


_SEARCH_SETTINGS = ("metric", "direction", "sampler", "pruner", "study")


def _settings(args: argparse.Namespace, stored: dict[str, Any] | None, options: dict[str, Any]) -> Any:
    """The search of this command (or of the study being resumed)."""
    from ..tune.options import split_train_options
    from ..tune.study import direction_for
    from ..tune.tuner import TuneSettings

    train = split_train_options(args, options)
    if not train.spaces:
        raise CommandError(
            "nothing to search: give at least one training option a search space, e.g. "
            "--learning_rate loguniform:1e-4:1e-1 or --optimizer choice:SGD,Adam"
        )
    fixed_given = _check_trial_options(train, options)
    metric = args.metric or fixed_given.get("monitor") or _default_metric(fixed_given, train)
    trials = args.trials if args.trials is not None else (stored or {}).get("trials", 20)
    return TuneSettings(
        train=train, metric=metric, direction=args.direction or direction_for(metric), trials=trials,
        timeout=args.timeout, sampler=args.sampler or "tpe", pruner=args.pruner or "median",
        study=args.study or "descend", seed=int(fixed_given.get("seed", 42)),
    )


def _directory(args: argparse.Namespace, study_name: str) -> Path:
    from ..tune.tuner import CONFIG_FILE

    if args.resume is not None:
        return Path(args.resume).expanduser()
    directory = Path(args.logdir).expanduser() if args.logdir else default_logdir("tune", {"study": study_name})
    if (directory / CONFIG_FILE).exists():
        raise CommandError(
            f"{directory} already holds a study; continue it with --resume {directory}, or choose another --logdir"
        )
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _open_study(args: argparse.Namespace, settings: Any, info: Any) -> Any:
    import optuna

    from ..tune.errors import TuneError
    from ..tune.study import make_pruner, make_sampler
    from ..tune.tuner import sampler_seed

    shared = not info.embedded
    sampler = make_sampler(settings.sampler, sampler_seed(settings.seed, shared))  # replaced below if it exists
    startup = args.pruner_startup_trials if args.pruner_startup_trials is not None else 3
    pruner = make_pruner(settings.pruner, 0, max(0, startup))
    try:
        study = optuna.create_study(
            study_name=settings.study, storage=info.storage, sampler=sampler, pruner=pruner,
            direction=settings.direction, load_if_exists=True,
        )
    except Exception as error:  # noqa: BLE001 (storage errors of every kind)
        raise TuneError(f"cannot open the study {settings.study!r} in {info.url}: {error}") from None
    _check_same_search(study, settings, info)
    existing = len(study.get_trials(deepcopy=False))
    if existing:
        study.sampler = make_sampler(settings.sampler, sampler_seed(settings.seed, shared, existing))
    return study


def _search(args: argparse.Namespace) -> int:
    from ..tune.options import train_options
    from ..tune.study import EMBEDDED_JOURNAL, open_storage
    from ..tune.tuner import Tuner, read_config, write_config

    options = train_options()
    stored: dict[str, Any] | None = None
    if args.resume is not None:
        stored = read_config(Path(args.resume).expanduser())
        if args.logdir is not None and Path(args.logdir).expanduser().resolve() != Path(args.resume).resolve():
            raise CommandError("--resume DIR continues the study in DIR; do not give another --logdir")
        args = _merge_stored(args, stored, options)
    settings = _settings(args, stored, options)
    directory = _directory(args, settings.study)
    info = open_storage(args.storage, directory)
    study = _open_study(args, settings, info)
    write_config(directory, {
        **settings.record(), "trials": settings.trials, "study": settings.study, "seed": settings.seed,
        "storage": None if info.embedded else info.url, "given": settings.train.given,
        "tune": {k: getattr(args, k) for k in ("timeout", "pruner_startup_trials") if getattr(args, k) is not None},
    })
    where = f"{directory / EMBEDDED_JOURNAL}" if info.embedded else info.url
    print(
        f"Study {settings.study!r} ({where}): {settings.trials} trials, {settings.direction} {settings.metric}; "
        "searching " + ", ".join(s.describe() for s in settings.train.spaces),
        flush=True,
    )
    tuner = Tuner(settings, study, info, directory)
    interrupted = False
    try:
        tuner.run()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        best = tuner.write_reports(plots=True)
    for line in tuner.summary(best):
        print(line, flush=True)
    if interrupted:
        print(f"Interrupted. Continue the study with: descend tune --resume {directory}", file=sys.stderr, flush=True)
        return 130
    return 0


def run(args: argparse.Namespace) -> int:
    import logging

    try:
        import optuna
    except ImportError:
        raise CommandError(
            "descend tune needs Optuna: pip install 'descend[tune]' (or pip install optuna)"
        ) from None
    from ..tune.errors import SearchSpaceError, TuneError

    optuna.logging.set_verbosity(logging.WARNING)
    try:
        return _search(args)
    except (SearchSpaceError, TuneError) as error:
        raise CommandError(str(error)) from None


def _text_of(value: Any) -> str:
    return "true" if value is True else (" ".join(map(str, value)) if isinstance(value, list) else str(value))


def _resume_conflicts(args: argparse.Namespace, stored: dict[str, Any], options: dict[str, Any]) -> list[str]:
    stored_given = stored.get("given", {})
    conflicts = [
        "--" + dest for dest, value in vars(args).items()
        if dest in options and value is not None and stored_given.get(dest) != _text_of(value)
    ]
    conflicts += [
        "--" + name for name in (*_SEARCH_SETTINGS, "storage")
        if getattr(args, name) is not None and getattr(args, name) != stored.get(name)
    ]
    return conflicts


def _stored_value(option: Any, text: str) -> Any:
    from ..tune.space import KINDS, looks_like_space

    if option.is_flag:
        return True if text == "true" else text
    if option.is_list:
        return [text] if looks_like_space(text) in KINDS else text.split()
    return text


def _merge_stored(args: argparse.Namespace, stored: dict[str, Any], options: dict[str, Any]) -> argparse.Namespace:
    """The arguments of a resumed study: the stored train options and search settings; the
    ones given now must agree (only --trials and --timeout may change)."""
    conflicts = _resume_conflicts(args, stored, options)
    if conflicts:
        raise CommandError(
            f"{', '.join(sorted(conflicts))} differ from the study being resumed; a resumed study keeps its "
            "options (only --trials and --timeout may change)"
        )
    merged = argparse.Namespace(**vars(args))
    for dest in options:
        setattr(merged, dest, None)
    for dest, text in stored.get("given", {}).items():
        if dest in options:
            setattr(merged, dest, _stored_value(options[dest], text))
    for name in (*_SEARCH_SETTINGS, "storage"):
        setattr(merged, name, stored.get(name))
    for name, value in (stored.get("tune") or {}).items():
        if getattr(args, name, None) is None:
            setattr(merged, name, value)
    return merged


def _check_trial_options(train: Any, options: dict[str, Any]) -> dict[str, Any]:
    """Fail before the first trial when the fixed options, or any combination of the search
    spaces (every choice; numeric spaces at both ends), do not make a valid ``descend train``
    command; returns the fixed options as ``descend train`` parses them."""
    import itertools

    from ..run.config import RunConfig
    from ..run.kinds import ConfigError
    from ..tune.errors import TuneError
    from ..tune.options import parse_train_argv, quote, trial_argv

    try:
        fixed = parse_train_argv(train.fixed)
    except TuneError as error:
        raise TuneError(f"the fixed training options are invalid: {error}") from None
    values = [s.choices if s.kind == "choice" else [s.low, s.high] for s in train.spaces]
    for combination in itertools.islice(itertools.product(*values), 1000):
        params = {s.name: v for s, v in zip(train.spaces, combination)}
        argv = trial_argv(train.fixed, train.spaces, options, params)
        try:
            RunConfig.from_flat(parse_train_argv(argv))
        except (TuneError, ConfigError) as error:
            sampled = " ".join(
                quote(options[s.name].tokens(params[s.name])) or f"(no {options[s.name].flag})" for s in train.spaces
            )
            raise TuneError(
                f"some trials would be invalid: with {sampled}: {error}. Every combination of the search "
                "spaces must be a valid 'descend train' command; narrow a space or fix an option"
            ) from None
    return fixed


def _default_metric(fixed: dict[str, Any], train: Any) -> str:
    """The task's default monitor (dev:accuracy for classification, dev:loss for regression)."""
    from ..run.builders import load_data
    from ..run.config import RunConfig
    from ..train.tasks import get_task

    task = fixed.get("task")
    if task not in (None, "auto"):
        return get_task(task).default_monitor
    if fixed.get("data") is None:
        return get_task("multiclass").default_monitor  # the named image datasets are classification
    try:
        splits = load_data(RunConfig.from_flat(dict(fixed)))
    except Exception as error:  # noqa: BLE001
        raise CommandError(f"cannot load --data to tell the task: {error}") from None
    return get_task(splits.task).default_monitor


def _check_same_search(study: Any, settings: Any, info: Any) -> None:
    """A worker joining a study must search the same space for the same metric."""
    from ..tune.errors import TuneError

    record = settings.record()
    existing = study.user_attrs.get("descend")
    if existing is None:
        study.set_user_attr("descend", record)
        return
    differences = [k for k in ("spaces", "metric", "direction", "fixed") if existing.get(k) != record.get(k)]
    if differences:
        described = "; ".join(f"{k}: study has {existing.get(k)!r}, given {record.get(k)!r}" for k in differences)
        raise TuneError(
            f"the study {study.study_name!r} in {info.url} was started with other settings ({described}); "
            "give the same options, or another --study name"
        )
    if study.direction.name.lower() != settings.direction:
        raise TuneError(f"the study {study.study_name!r} {study.direction.name.lower()}s; got --direction {settings.direction}")


register("tune", add_arguments, run, help="search hyperparameters with Optuna", description=DESCRIPTION)
