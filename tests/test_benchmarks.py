"""Smoke test of the benchmark harness (benchmarks/bench.py): it runs end to end in --quick
mode and writes its JSON. No timing assertions, and nothing about PyTorch's numbers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import find_mnist  # noqa: E402
from shared_data import mnist_dir  # noqa: E402


def _mnist_dir():
    path = mnist_dir()
    return None if path is None else str(find_mnist(str(path)))


pytestmark = pytest.mark.skipif(_mnist_dir() is None, reason="MNIST is not available here")


def test_quick_run_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--max_steps", "5",
         "--workloads", "W1,W5,IMPORT", "--frameworks", "descend,descend-static,torch,jax,numpy,floor", "--json", str(out), "--data_dir", _mnist_dir()],
        capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert "| W1 |" in proc.stdout and "| W5 |" in proc.stdout
    for key in ("W1", "W5"):
        descend = results["workloads"][key]["frameworks"]["descend"]
        assert descend["median_s"] > 0 and descend["peak_rss_mb"] > 0
        assert 0.0 <= descend["dev_acc"] <= 1.0
        assert results["workloads"][key]["frameworks"]["floor"]["median_s"] > 0
    assert results["imports"]["median_s"]["descend"] > 0
    assert results["imports"]["heavy_modules_loaded"] == "[]"


def test_descend_bench_command_is_registered():
    from descend.cli import COMMANDS, _discover_commands

    if "bench" not in COMMANDS:
        _discover_commands()
    assert "bench" in COMMANDS
