"""Where the data layer looks for dataset files, in order.

1. an explicit ``data_dir`` (the ``--data_dir`` option of the command line);
2. the directories in the environment variable ``DESCEND_DATA`` (several separated by ``:``);
3. the user cache, ``$DESCEND_CACHE``, else ``$XDG_CACHE_HOME/descend``, else
   ``~/.cache/descend``; datasets live in its ``datasets/<name>`` subdirectory;
4. the system directory ``/usr/share/datasets/<name>`` (where Debian's ``dataset-*`` packages
   install, e.g. ``dataset-fashion-mnist``);
5. the copy shipped with descend, ``descend/data/bundled/<name>`` inside the installed package
   (MNIST only), so that the main job works offline right after installation;
6. a download into the user cache (done by the loader, not here).

In 1 and 2, a directory may hold the files directly or in a subdirectory named after the
dataset (``DIR/mnist/``, ``DIR/fashion-mnist/``); ``data_dir`` may also be an ``.npz`` file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from .catalog import ImageDatasetSpec

__all__ = [
    "DATA_ENV",
    "CACHE_ENV",
    "SYSTEM_DATA_DIRS",
    "BUNDLED_DATA_DIRS",
    "BUNDLED_LABEL",
    "cache_dir",
    "dataset_cache_dir",
    "Candidate",
    "Found",
    "probe",
    "candidates",
]

DATA_ENV = "DESCEND_DATA"
CACHE_ENV = "DESCEND_CACHE"

# Debian's dataset packages install to /usr/share/datasets/<name>. A module-level tuple so that
# tests (and unusual systems) can replace it.
SYSTEM_DATA_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets"),)

# The datasets shipped inside the package (package data, see pyproject.toml): a directory per
# dataset. A module-level tuple so that tests can take it away to exercise downloads.
BUNDLED_DATA_DIRS: tuple[Path, ...] = (Path(__file__).resolve().parent / "bundled",)
BUNDLED_LABEL = "copy shipped with descend"


def cache_dir() -> Path:
    """descend's user cache directory (it need not exist yet).

    ``$DESCEND_CACHE`` if set, else ``$XDG_CACHE_HOME/descend`` if ``XDG_CACHE_HOME`` is set,
    else ``~/.cache/descend``.
    """
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "descend"
    return Path.home() / ".cache" / "descend"


def dataset_cache_dir(name: str) -> Path:
    """The cache directory of one dataset: ``cache_dir() / "datasets" / name``."""
    return cache_dir() / "datasets" / name


@dataclass
class Candidate:
    """One place to look, with a label for messages ("data_dir argument", ...)."""

    label: str
    path: Path | None  # None: the source is not configured (e.g. the env var is unset)
    note: str = ""  # why it is not configured, e.g. "not set"
    is_cache: bool = False


@dataclass
class Found:
    """A complete copy of a dataset: four IDX files, or one ``.npz`` archive."""

    kind: Literal["idx", "npz"]
    label: str
    directory: Path
    files: dict[str, Path] = field(default_factory=dict)  # IDX stem -> path
    npz: Path | None = None

    @property
    def source(self) -> Path:
        return self.npz if self.npz is not None else self.directory


def candidates(spec: ImageDatasetSpec, data_dir: str | os.PathLike[str] | None) -> list[Candidate]:
    """The places to look for ``spec``, in lookup order (see the module docstring)."""
    result: list[Candidate] = []

    def add_root(label: str, root: Path) -> None:
        root = root.expanduser()
        if root.suffix == ".npz" or not root.is_dir():
            result.append(Candidate(label, root))
            return
        for name in spec.names:
            result.append(Candidate(label, root / name))
        result.append(Candidate(label, root))

    if data_dir is None:
        result.append(Candidate("data_dir argument", None, "not given"))
    else:
        add_root("data_dir argument", Path(data_dir))
    env = os.environ.get(DATA_ENV, "")
    roots = [part for part in env.split(os.pathsep) if part]
    if not roots:
        result.append(Candidate(f"${DATA_ENV}", None, "not set"))
    for root in roots:
        add_root(f"${DATA_ENV}", Path(root))
    result.append(Candidate("user cache", dataset_cache_dir(spec.name), is_cache=True))
    for system in SYSTEM_DATA_DIRS:
        label = "system directory"
        if spec.debian_package:
            label += f" (Debian package {spec.debian_package})"
        result.append(Candidate(label, system / spec.name))
    for bundled in BUNDLED_DATA_DIRS:
        if (bundled / spec.name).is_dir():  # only datasets that are shipped are mentioned
            result.append(Candidate(BUNDLED_LABEL, bundled / spec.name))
    return result


def probe(
    spec: ImageDatasetSpec, candidate: Candidate
) -> tuple[Found | None, str, dict[str, Path]]:
    """Look at one candidate place.

    Returns ``(found, note, present)``: ``found`` is a complete copy or None; ``note`` says in a
    few words what is there (for the not-found message); ``present`` maps the IDX stems present
    to their paths (used to complete a partial download in the cache).
    """
    path = candidate.path
    if path is None:
        return None, candidate.note, {}
    if path.is_file():
        if path.suffix == ".npz":
            return Found("npz", candidate.label, path.parent, npz=path), "found", {}
        return None, "is a file, not a directory or an .npz archive", {}
    if not path.is_dir():
        return None, "does not exist", {}
    present: dict[str, Path] = {}
    for data_file in spec.files:
        for name in (data_file.gz_name, data_file.stem):
            if (path / name).is_file():
                present[data_file.stem] = path / name
                break
    if len(present) == len(spec.files):
        return Found("idx", candidate.label, path, files=present), "found", present
    for name in spec.names:
        archive = path / f"{name}.npz"
        if archive.is_file():
            return Found("npz", candidate.label, path, npz=archive), "found", present
    if present:
        missing = [f.gz_name for f in spec.files if f.stem not in present]
        return None, f"incomplete, missing {', '.join(missing)}", present
    return None, "no dataset files", present
