"""The built wheel carries MNIST: installed into a fresh virtual environment, with HOME and the
cache pointed at empty directories and no network, `descend train --epochs 1` trains MNIST.

How it stays offline and honest:

* the wheel is built from a copy of the project's files (``pip wheel --no-deps
  --no-build-isolation --no-index``), with the setuptools the tests run with;
* the fresh environment is made with ``python -m venv --without-pip``; descend is installed
  into it from the wheel alone (``pip --python VENV install --no-deps --no-index``);
* the dependencies (NumPy, tqdm, matplotlib, ...) come from the test environment's
  site-packages through a ``.pth`` file. Such a file only appends directories to ``sys.path``
  (the ``.pth`` files in them are not run), so the test environment's editable install of
  descend is not active, and the test checks that ``descend`` is imported from the fresh
  environment's own site-packages, with its data inside it;
* downloads point at a closed local port, so a download attempt would fail, and the cache
  must still be empty afterwards.

Skipped, with the reason, only where a wheel cannot be built or installed offline (no
setuptools or pip in the test environment, pip older than 22.3, which lacks ``--python``).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = (
    "descend/data/bundled/mnist/train-images-idx3-ubyte.gz",
    "descend/data/bundled/mnist/train-labels-idx1-ubyte.gz",
    "descend/data/bundled/mnist/t10k-images-idx3-ubyte.gz",
    "descend/data/bundled/mnist/t10k-labels-idx1-ubyte.gz",
    "descend/data/bundled/mnist/README.md",
)


def _requirements() -> None:
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("wheel test skipped: setuptools is not installed in the test environment, "
                    "so the wheel cannot be built offline (pip install setuptools)")
    try:
        import pip
    except ImportError:
        pytest.skip("wheel test skipped: pip is not installed in the test environment")
    if tuple(int(p) for p in pip.__version__.split(".")[:2]) < (22, 3):
        pytest.skip(f"wheel test skipped: pip {pip.__version__} lacks --python (needs 22.3+)")


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    )
    return result


def _copy_source(target: Path) -> Path:
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    shutil.copytree(ROOT / "descend", target / "descend",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def _site_packages(python: Path) -> Path:
    out = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    return Path(out.stdout.strip())


def test_the_wheel_trains_mnist_offline_in_a_fresh_environment(tmp_path: Path):
    _requirements()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DESCEND_", "PYTHON", "PIP_")) and k not in ("XDG_CACHE_HOME", "VIRTUAL_ENV")}
    env["PIP_NO_INDEX"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"

    # 1. build the wheel from a copy of the project's files
    source = _copy_source(tmp_path / "source")
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "-q", "-w", str(wheels), str(source)], env=env, cwd=tmp_path)
    (wheel,) = wheels.glob("descend-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert set(SHIPPED) <= names, f"the wheel lacks {set(SHIPPED) - names}"
    size = wheel.stat().st_size
    assert 10_000_000 < size < 20_000_000, f"wheel of {size} bytes"
    print(f"wheel {wheel.name}: {size:,} bytes")

    # 2. a fresh environment: the wheel for descend, the test environment for the dependencies
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env=env)
    python = venv / "bin" / "python"
    site_packages = _site_packages(python)
    dependencies = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    (site_packages / "zz_test_dependencies.pth").write_text("\n".join(dependencies) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "-q", str(wheel)], env=env, cwd=tmp_path)

    # 3. a new user: empty home and cache, no network, an empty working directory
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
               DESCEND_MNIST_URL="http://127.0.0.1:9/", DESCEND_FASHION_MNIST_URL="http://127.0.0.1:9/")
    where = _run([str(python), "-c", "import descend, descend.data.locations as l; "
                  "print(descend.__file__); print(l.BUNDLED_DATA_DIRS[0])"], env=env, cwd=work)
    module, bundled = (Path(line) for line in where.stdout.split())
    assert site_packages in module.parents, f"descend imported from {module}, not the wheel"
    assert site_packages in bundled.parents

    result = _run([str(venv / "bin" / "descend"), "train", "--epochs", "1"], env=env, cwd=work)
    output = result.stdout + result.stderr
    assert "Epoch 1/1" in output and "test:accuracy=" in output, output
    assert "was not found" not in output, output
    accuracy = float(output.split("test:accuracy=")[1].split()[0])
    assert accuracy > 0.8, output  # it learned MNIST, not noise
    assert not (home / ".cache" / "descend" / "datasets").exists()  # nothing was downloaded
