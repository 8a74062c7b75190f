"""The README's example trains a tiny network whose loss falls."""

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_tiny_network_example_loss_falls():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "tiny_network.py")],
                         capture_output=True, text=True, check=True).stdout
    losses = [float(v) for v in re.findall(r"loss=([0-9.]+)", out)]
    assert len(losses) == 5
    assert losses[-1] < 0.25 * losses[0]
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))
