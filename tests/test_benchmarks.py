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


def _flush_denormal_supported() -> bool:
    from descend import kernels

    supported = kernels.set_flush_denormal(False)  # False: changes nothing, says whether it could
    return supported


def test_quick_run_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    frameworks = "descend,descend-numpy,torch,jax,jax-step,numpy,floor"
    ftz = _flush_denormal_supported()
    if ftz:  # descend with set_flush_denormal(True)
        frameworks += ",descend-ftz"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick", "--max_steps", "5",
         "--workloads", "W1,W5,IMPORT", "--frameworks", frameworks, "--json", str(out), "--data_dir", _mnist_dir()],
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
        if ftz:
            assert results["workloads"][key]["frameworks"]["descend-ftz"]["median_s"] > 0
    assert results["imports"]["median_s"]["descend"] > 0
    assert results["imports"]["heavy_modules_loaded"] == "[]"


def test_descend_bench_command_is_registered():
    from descend.cli import COMMANDS, _discover_commands

    if "bench" not in COMMANDS:
        _discover_commands()
    assert "bench" in COMMANDS


# ------------------------------------------------------- errors: one line, no traceback
def _descend(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "descend", *args], capture_output=True,
                          text=True, env=env, timeout=120, **kwargs)


@pytest.mark.parametrize("args,message", [
    (["--data_dir", "/nonexistent"], "--data_dir /nonexistent: no such directory"),
    (["--workloads", "W9"], "--workloads: unknown workload(s) W9; choose from W1"),
    (["--frameworks", "tensorflow"], "--frameworks: unknown framework(s) tensorflow; choose from descend"),
])
def test_bench_errors_are_one_clear_line(args, message, tmp_path):
    proc = _descend("bench", "--quick", "--json", "-", *args, cwd=str(tmp_path))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("descend bench: error: "), proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr and not list(tmp_path.iterdir())


def test_harness_script_errors_are_one_clear_line():
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--workloads", "W9"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("benchmarks/bench.py: error: --workloads: unknown workload(s) W9; "
                                          "choose from W1, W2, W3, W4, W5, E2E, IMPORT, or a sweep variant")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_ctrl_c_during_start_up_is_a_clean_interrupt(tmp_path):
    import signal
    import time

    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "descend", "bench", "--quick", "--workloads", "W1,W2",
         "--frameworks", "descend,numpy,floor", "--json", "-", "--data_dir", _mnist_dir()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=str(tmp_path),
        start_new_session=True)
    # Wait until the harness is starting its workers, then press Ctrl-C (SIGINT to the
    # terminal's process group, which is this session).
    line = proc.stderr.readline()
    assert "running W1" in line, line
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().endswith("descend bench: interrupted"), err


def test_bench_finds_the_mnist_that_ships_with_descend(tmp_path, monkeypatch):
    """Offline, with an empty home and no $DESCEND_DATA, `descend bench` reads the shipped copy
    (it used to look only in --data_dir, $DESCEND_DATA and the cache, and stopped there)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("DESCEND_DATA", raising=False)
    assert find_mnist(None) == mnist_dir()
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-m", "descend", "bench", "--quick", "--workloads", "W2",
                          "--frameworks", "descend,floor", "--json", str(tmp_path / "b.json")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "b.json").read_text())["workloads"]["W2"]["frameworks"]
    assert result["descend"]["median_s"] > 0 and result["floor"]["median_s"] > 0


@pytest.mark.parametrize("core,avx512,expected", [
    ("Haswell", True, True), ("Zen", True, True), ("SkylakeX", True, False), ("Haswell", False, False)])
def test_the_report_says_when_numpys_blas_skips_avx512(core, avx512, expected):
    import bench

    info = {"blas": f"openblas 0.3.31 {core} threads=1"}
    results = dict(machine=dict(avx512=avx512, openblas_env={"OPENBLAS_CORETYPE": core}),
                   workloads={"W1": dict(frameworks={"floor": dict(info=info)})})
    note = bench.blas_note(results)
    assert (note is not None) == expected
    if expected:
        assert f"its {core} kernels" in note and f"OPENBLAS_CORETYPE={core}" in note
