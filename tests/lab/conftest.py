"""Fixtures of the lab tests: the MNIST copy, and ONE quick run of every experiment.

``descend lab all --quick`` is run once per test session (through the command line's ``main``)
and the tests read what it wrote: each experiment's ``data.json``, its figures and the HTML
report. That keeps the whole lab test run within a couple of minutes on two cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared_data import REPO, mnist_dir  # noqa: F401  (tests import both from here)


@pytest.fixture(scope="session")
def mnist() -> Path:
    return mnist_dir()  # the copy that ships with descend: never skipped


class QuickRun:
    """What ``descend lab all --quick`` left in its run directory."""

    def __init__(self, root: Path, status: int, stdout: str) -> None:
        self.root = root
        self.status = status
        self.stdout = stdout

    def data(self, name: str) -> dict:
        payload = json.loads((self.root / name / "data.json").read_text())
        assert payload["name"] == name and payload["mode"] == "quick"
        return payload

    def dir(self, name: str) -> Path:
        return self.root / name


@pytest.fixture(scope="session")
def quick_run(mnist: Path, tmp_path_factory: pytest.TempPathFactory) -> QuickRun:
    import contextlib
    import io

    from descend.cli import main

    root = tmp_path_factory.mktemp("lab") / "all"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = main(["lab", "all", "--quick", "--quiet", "--logdir", str(root),
                       "--data_dir", str(mnist), "--no_download"])
    return QuickRun(root, status, out.getvalue())
