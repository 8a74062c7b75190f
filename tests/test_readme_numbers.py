"""The README's main job: `descend train` prints the epoch and test lines the README shows.

The README quotes a transcript of the default run; one seed gives bit-identical results, so
every metric it shows (not the times) must be what descend prints today, to the last digit.
"""

import re

from tables import REPO, run_cli

METRICS = re.compile(r"^(Epoch \d+/\d+|Evaluation) [0-9.]+s (.*)$")


def _metric_lines(text: str) -> list[str]:
    """The metrics of every epoch and evaluation line, without the (machine-dependent) time."""
    matches = (METRICS.match(line.strip()) for line in text.splitlines())
    return [f"{m.group(1)} {m.group(2)}" for m in matches if m]


def _readme_transcript() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("Run directory: logs/train-", 1)[1].split("```", 1)[0]
    return _metric_lines(block)


def test_readme_main_job_prints_the_readme_numbers(tmp_path):
    quoted = _readme_transcript()
    assert len(quoted) >= 3, quoted  # epoch 1, ..., the last epoch and the test evaluation
    proc = run_cli("train", "--logdir", str(tmp_path / "run"), "--no_progress", cwd=tmp_path,
                   timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    printed = _metric_lines(proc.stdout + proc.stderr)
    missing = [line for line in quoted if line not in printed]
    assert not missing, f"README lines not printed by `descend train`: {missing}\nprinted: {printed}"
