"""What a study leaves in the tune directory: ``trials.csv``, ``best.json`` and the plots.

* ``trials.csv``: one row per trial — number, state, value (the objective: the best dev metric
  of the run), every searched parameter, the epochs it ran, its duration, the worker that ran
  it and its run directory;
* ``best.json``: the best trial's number, value, metric, direction, parameters and the
  ``descend train`` command line that reproduces it (same seed: same result);
* ``optimization_history.png``: the objective of each trial and the best so far;
* ``param_importances.png``: Optuna's fANOVA importance of each parameter (needs at least two
  finished trials that differ);
* ``intermediate_values.png``: the metric per epoch of every trial (what the pruner saw).

The plots use Optuna's matplotlib backend on matplotlib's Agg canvas (no display needed).
"""

from __future__ import annotations

import csv
import io
import json
import math
import shlex
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

from ..fileio import atomic_write

__all__ = ["write_trials_csv", "write_best", "write_plots", "best_trial", "format_value", "trial_rows"]


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else str(value)


def _finished(study: Any) -> list[Any]:
    import optuna

    S = optuna.trial.TrialState
    return [t for t in study.get_trials(deepcopy=False) if t.state in (S.COMPLETE,)]


def best_trial(study: Any) -> Any | None:
    """The best complete trial (None if there is none)."""
    trials = [t for t in _finished(study) if t.value is not None and math.isfinite(t.value)]
    if not trials:
        return None
    import optuna

    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    if maximize:
        return max(trials, key=lambda t: (t.value, -t.number))  # ties: the earliest trial
    return min(trials, key=lambda t: (t.value, t.number))


def trial_rows(study: Any, names: Sequence[str]) -> tuple[list[str], list[list[str]]]:
    columns = ["number", "state", "value", *names, "epochs", "duration_s", "worker", "logdir", "note"]
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        duration = t.duration.total_seconds() if t.duration is not None else None
        epochs = len(t.intermediate_values) if t.intermediate_values else ""
        note = t.user_attrs.get("note", "")
        if t.user_attrs.get("interrupted"):
            note = (note + "; " if note else "") + "interrupted"
        if t.user_attrs.get("retry_of") is not None:
            note = (note + "; " if note else "") + f"re-run of trial {t.user_attrs['retry_of']}"
        rows.append([
            str(t.number),
            t.state.name.lower(),
            format_value(t.value),
            *[format_value(t.params.get(n)) for n in names],
            str(epochs),
            "" if duration is None else f"{duration:.2f}",
            str(t.user_attrs.get("worker", "")),
            str(t.user_attrs.get("logdir", "")),
            note,
        ])
    return columns, rows


def write_trials_csv(study: Any, path: Path, names: Sequence[str]) -> Path:
    columns, rows = trial_rows(study, names)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    _atomic_write(path, buffer.getvalue())
    return path


def write_best(study: Any, path: Path, metric: str, command: Callable[[dict[str, Any]], list[str]]) -> dict[str, Any] | None:
    """``best.json``; returns its content (None when no trial completed)."""
    best = best_trial(study)
    if best is None:
        return None
    argv = command(best.params)
    content = {
        "study": study.study_name,
        "trial": best.number,
        "metric": metric,
        "direction": study.direction.name.lower(),
        "value": best.value,
        "params": best.params,
        "epochs_run": len(best.intermediate_values),
        "logdir": best.user_attrs.get("logdir"),
        "command": " ".join(shlex.quote(a) for a in argv),
        "argv": argv,
    }
    _atomic_write(path, json.dumps(content, indent=2, default=str) + "\n")
    return content


def write_plots(study: Any, directory: Path, note: Callable[[str], None], metric: str = "Objective Value") -> list[Path]:
    """The PNG plots (those that the study's trials allow). Never raises: a plot that cannot be
    drawn is skipped with a note."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from optuna.visualization import matplotlib as ovm
    except ImportError as error:
        note(f"Note: plots skipped ({error}); pip install matplotlib")
        return []
    written = []
    finished = _finished(study)
    plots: list[tuple[str, Callable[[], Any], int]] = [
        ("optimization_history.png", lambda: ovm.plot_optimization_history(study, target_name=metric), 1),
        ("intermediate_values.png", lambda: ovm.plot_intermediate_values(study), 1),
        ("param_importances.png", lambda: ovm.plot_param_importances(study, target_name=metric), 2),
    ]
    for name, draw, needed in plots:
        if len(finished) < needed:
            continue
        if name == "param_importances.png" and not _has_variation(finished):
            note("Note: param_importances.png skipped: the finished trials do not differ in their parameters.")
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ax = draw()
            if name == "intermediate_values.png" and hasattr(ax, "set_xlabel"):
                ax.set_xlabel("epoch")
                ax.set_ylabel(metric)
                ax.set_title(f"{metric} after each epoch (what the pruner sees)")
            fig = ax.figure if hasattr(ax, "figure") else ax[0].figure
            fig.set_size_inches(8, 5)
            fig.tight_layout()
            target = directory / name
            fig.savefig(target, dpi=100)
            plt.close(fig)
            written.append(target)
        except Exception as error:  # a plot must never lose the study's results
            note(f"Note: {name} skipped: {error}")
            plt.close("all")
    return written


def _has_variation(trials: Sequence[Any]) -> bool:
    names = {n for t in trials for n in t.params}
    for name in names:
        if len({repr(t.params.get(name)) for t in trials}) > 1:
            return True
    return False


def _atomic_write(path: Path, text: str) -> None:
    atomic_write(path, text)
