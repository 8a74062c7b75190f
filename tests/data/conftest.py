"""Fixtures for the data-layer tests: an isolated environment, the MNIST copy that ships with
descend, a local HTTP server on 127.0.0.1 and a tiny MNIST-format dataset with its own
checksums."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import shutil
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from descend.data import catalog, locations  # noqa: E402
from descend.data.idx import write_idx  # noqa: E402

SHIPPED_MNIST = locations.BUNDLED_DATA_DIRS[0] / "mnist"
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No DESCEND_* variables, HOME and the system data directory inside tmp_path, no shipped
    datasets, and downloads pointed at a closed local port, so no test reads the real cache or
    the network, and a dataset is found only where the test puts it."""
    for name in ("DESCEND_DATA", "DESCEND_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(locations, "SYSTEM_DATA_DIRS", (tmp_path / "system",))
    monkeypatch.setattr(locations, "BUNDLED_DATA_DIRS", (tmp_path / "bundled",))
    for spec in catalog.IMAGE_DATASETS.values():
        monkeypatch.setenv(spec.url_env, "http://127.0.0.1:9/")  # discard port: refused
    return tmp_path


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The MNIST copy that ships with descend (never skipped: it is part of the package)."""
    missing = [name for name in MNIST_FILES if not (SHIPPED_MNIST / name).is_file()]
    assert not missing, f"the shipped MNIST copy lacks {missing} in {SHIPPED_MNIST}"
    return SHIPPED_MNIST


@pytest.fixture(scope="session")
def mnist(mnist_dir: Path):
    """MNIST loaded once for the session (about 0.7 s)."""
    from descend.data import load_mnist

    return load_mnist(mnist_dir, download=False)


@pytest.fixture(scope="session")
def mnist_files() -> tuple[str, ...]:
    return MNIST_FILES


@pytest.fixture(scope="session")
def link_mnist():
    """link_mnist(source, target): a directory of symlinks to the MNIST files."""
    return _link_mnist


@pytest.fixture(scope="session")
def copy_mnist():
    """copy_mnist(source, target): a directory with copies of the MNIST files."""
    return _copy_mnist


def _link_mnist(source: Path, target: Path) -> Path:
    """A directory of symlinks to the MNIST files (cheap copies)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in MNIST_FILES:
        (target / name).symlink_to(source / name)
    return target


def _copy_mnist(source: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in MNIST_FILES:
        shutil.copyfile(source / name, target / name)
    return target


# --------------------------------------------------------------------------- HTTP server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.requested.append(self.path)  # type: ignore[attr-defined]
        super().do_GET()


class LocalServer:
    def __init__(
        self, directory: Path, handler: type[http.server.BaseHTTPRequestHandler] | None = None
    ):
        handler_class = handler or partial(_QuietHandler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self.httpd.requested = []  # type: ignore[attr-defined]
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    @property
    def requested(self) -> list[str]:
        return self.httpd.requested  # type: ignore[attr-defined]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def serve() -> Iterator:
    """serve(directory) starts a local HTTP server for that directory and returns it."""
    servers: list[LocalServer] = []

    def start(directory: Path, handler=None) -> LocalServer:
        server = LocalServer(directory, handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


# --------------------------------------------------------------------------- a tiny dataset


@dataclasses.dataclass
class Tiny:
    spec: catalog.ImageDatasetSpec
    directory: Path  # holds its four .gz files
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tiny:
    """An MNIST-format dataset of 12 training and 4 test images with its own checksums,
    registered under the name "tiny" (dev = last 3 training images)."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, 12, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, 4, dtype=np.uint8),
    }
    directory = tmp_path / "tiny-source"
    directory.mkdir()
    files = []
    for stem, array in arrays.items():
        write_idx(directory / f"{stem}.gz", array)
        content = gzip.decompress((directory / f"{stem}.gz").read_bytes())
        files.append(catalog.DataFile(stem, hashlib.sha256(content).hexdigest(), len(content)))
    spec = catalog.ImageDatasetSpec(
        name="tiny",
        title="Tiny",
        aliases=(),
        train_images=files[0],
        train_labels=files[1],
        test_images=files[2],
        test_labels=files[3],
        url="http://127.0.0.1:9/",
        url_env="DESCEND_TINY_URL",
        classes=tuple(range(10)),
        train_size=9,
        dev_size=3,
        test_size=4,
    )
    monkeypatch.setitem(catalog.IMAGE_DATASETS, "tiny", spec)
    monkeypatch.setenv("DESCEND_TINY_URL", "http://127.0.0.1:9/")
    return Tiny(spec, directory, *arrays.values())
