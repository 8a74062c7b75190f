"""The run directory: never clobbered, locked for the life of a run, nothing left on failure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from descend.run.rundir import RunDirectory, RunDirectoryError


def test_new_directory_is_created_locked_and_released(tmp_path):
    path = tmp_path / "run"
    claimed = RunDirectory.claim_new(path)
    assert path.is_dir() and (path / ".lock").exists()
    with pytest.raises(RunDirectoryError, match="in use by another descend process"):
        RunDirectory.claim_new(path)
    with pytest.raises(RunDirectoryError, match="in use"):
        RunDirectory.claim_existing(path)
    claimed.release()
    assert not (path / ".lock").exists()


def test_lock_holds_against_another_process(tmp_path):
    path = tmp_path / "run"
    claimed = RunDirectory.claim_new(path)
    code = (
        "import sys\nfrom descend.run.rundir import RunDirectory, RunDirectoryError\n"
        f"try:\n    RunDirectory.claim_existing({str(path)!r})\nexcept RunDirectoryError as e:\n"
        "    print(e); sys.exit(3)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 3, result.stderr
    assert "in use" in result.stdout
    claimed.release()


def test_a_directory_of_other_files_is_refused_even_with_overwrite(tmp_path):
    (tmp_path / "logs.txt").write_text("my own notes\n")
    (tmp_path / "thesis.tex").write_text("x")
    for overwrite in (False, True):
        with pytest.raises(RunDirectoryError, match="does not hold a descend run"):
            RunDirectory.claim_new(tmp_path, overwrite=overwrite)
    assert (tmp_path / "logs.txt").read_text() == "my own notes\n"
    assert not (tmp_path / ".lock").exists()


def test_an_earlier_run_is_refused_unless_overwrite(tmp_path):
    (tmp_path / "options.json").write_text("{}")
    (tmp_path / "logs.txt").write_text("old\n")
    with pytest.raises(RunDirectoryError, match="--resume .*--overwrite"):
        RunDirectory.claim_new(tmp_path)
    assert (tmp_path / "logs.txt").read_text() == "old\n"
    claimed = RunDirectory.claim_new(tmp_path, overwrite=True)
    assert not (tmp_path / "logs.txt").exists() and not (tmp_path / "options.json").exists()
    claimed.release()


def test_overwrite_never_deletes_foreign_files_in_a_run(tmp_path):
    (tmp_path / "options.json").write_text("{}")
    (tmp_path / "notes.md").write_text("mine")
    with pytest.raises(RunDirectoryError, match="not a descend run's"):
        RunDirectory.claim_new(tmp_path, overwrite=True)
    assert (tmp_path / "notes.md").exists() and (tmp_path / "options.json").exists()


def test_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(RunDirectoryError, match="is a file, not a directory"):
        RunDirectory.claim_new(target)


def test_abandon_leaves_nothing_behind(tmp_path):
    path = tmp_path / "new" / "run"
    claimed = RunDirectory.claim_new(path)
    (path / "options.json").write_text("{}")
    claimed.abandon()
    assert not path.exists()
    existing = tmp_path / "empty"
    existing.mkdir()
    claimed = RunDirectory.claim_new(existing)
    (existing / "logs.txt").write_text("x")
    claimed.abandon()
    assert existing.is_dir() and os.listdir(existing) == []


def test_claim_existing_removes_stale_temp_files(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    stale = tmp_path / f".checkpoint.safetensors.{dead}.abc123.tmp"
    stale.write_bytes(b"x" * 100)
    live = tmp_path / f".checkpoint.safetensors.{os.getpid()}.def456.tmp"
    live.write_bytes(b"y")
    claimed = RunDirectory.claim_existing(tmp_path)
    assert not stale.exists() and live.exists()
    claimed.release()
