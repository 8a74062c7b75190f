"""``load_dataset``: one entry point for named datasets and the user's own files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .catalog import IMAGE_DATASETS, get_spec
from .dataset import Splits, Task
from .errors import DataFormatError, DatasetNotFoundError
from .mnist import load_image_dataset
from .npz import npz_names
from .tabular import load_tabular

__all__ = ["load_dataset", "available_datasets"]

PathLike = str | os.PathLike[str]

_IMAGE_ARCHIVE_KEYS = ({"train_images", "train_labels"}, {"x_train", "y_train"})


def available_datasets() -> list[str]:
    """The names :func:`load_dataset` knows (besides file paths)."""
    return sorted(IMAGE_DATASETS)


def load_dataset(
    name: str | os.PathLike[str],
    *,
    data_dir: PathLike | None = None,
    download: bool = True,
    flatten: bool = False,
    verify: bool = True,
    progress: bool = True,
    target: str | None = None,
    task: Task | None = None,
    features: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    **tabular_options: Any,
) -> Splits:
    """Load a dataset by name (``"mnist"``, ``"fashion-mnist"``) or from a file.

    * A known name loads that image dataset (see :func:`~descend.data.load_mnist`) with
      ``data_dir``, ``download``, ``flatten``, ``verify`` and ``progress``.
    * A ``.npz`` archive with MNIST-style keys (``train_images`` ..., or ``x_train`` ...) loads
      as an image dataset of 28x28 images with labels 0..9.
    * Any other ``.csv``/``.tsv``/``.npz`` file loads as tabular data with
      :func:`~descend.data.load_tabular`; ``target`` is then required, and ``task``,
      ``features`` (the feature columns, in order; default all but the target), ``drop``
      (columns to leave out; not with ``features``) and the ``tabular_options`` (``dev``,
      ``test``, ``dev_fraction``, ``test_fraction``, ``seed``, ``standardize``,
      ``standardize_target``, ``delimiter``) are passed on. Unknown column names are errors
      that suggest the closest name. The returned ``splits.notes`` say what the user should
      know about how the table was read (see :func:`~descend.data.load_tabular`).

    Raises:
        DatasetNotFoundError: an unknown name that is not an existing file.
        DataFormatError: a tabular file without ``target``.
    """
    text = os.fspath(name)
    spec = get_spec(text)
    columns = {k: v for k, v in (("features", features), ("drop", drop)) if v is not None}
    if spec is not None and not Path(text).is_file():
        _no_tabular_options(text, target, task, {**columns, **tabular_options})
        return load_image_dataset(
            spec, data_dir, download=download, flatten=flatten, verify=verify, progress=progress
        )
    path = Path(text).expanduser()
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{text!r} is neither a known dataset ({', '.join(available_datasets())}) nor an "
            "existing .csv/.tsv/.npz file"
        )
    if path.suffix.lower() == ".npz" and target is None and _is_image_archive(path):
        _no_tabular_options(text, target, task, {**columns, **tabular_options})
        mnist = IMAGE_DATASETS["mnist"]
        return load_image_dataset(mnist, path, download=False, flatten=flatten, verify=verify)
    if target is None:
        raise DataFormatError(
            f"{path}: tabular data needs the name of its target column (target=..., command "
            "line: --target NAME)"
        )
    return load_tabular(path, target, task, features=features, drop=drop, **tabular_options)


def _is_image_archive(path: Path) -> bool:
    keys = set(npz_names(path, DataFormatError))  # a damaged archive is reported here
    return any(required <= keys for required in _IMAGE_ARCHIVE_KEYS)


def _no_tabular_options(name: str, target: Any, task: Any, options: dict[str, Any]) -> None:
    given = [k for k, v in (("target", target), ("task", task)) if v is not None] + list(options)
    if given:
        raise TypeError(f"load_dataset({name!r}): {', '.join(given)} apply only to tabular files")
