"""descend.fileio: atomic writes that never lose, follow or leave anything behind."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys

import pytest

from descend import fileio
from descend.fileio import WriteError, atomic_write, atomic_writer, is_temp_file, open_append, remove_stale_temp_files


def temp_files(directory):
    return [p.name for p in directory.iterdir() if is_temp_file(p)]


def test_atomic_write_replaces_and_is_readable_by_others(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    atomic_write(path, "new")
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    atomic_write(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert temp_files(tmp_path) == []


def test_a_failure_inside_the_block_keeps_the_old_file(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_writer(path) as file:
            file.write("half")
            raise RuntimeError("killed")
    assert path.read_text() == "old" and temp_files(tmp_path) == []


def test_a_full_disk_is_named_and_the_old_file_kept(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.safetensors"
    path.write_text("good")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    with pytest.raises(WriteError) as error:
        atomic_write(path, "new")
    assert str(error.value) == f"could not write {path}: No space left on device; its previous version is intact"
    assert error.value.errno == errno.ENOSPC
    assert path.read_text() == "good" and temp_files(tmp_path) == []


def test_a_symlink_at_the_destination_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "out.txt"
    link.symlink_to(victim)
    atomic_write(link, "new")
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and link.read_text() == "new"


def test_temporary_names_are_unpredictable(tmp_path, monkeypatch):
    names = set()
    real = fileio.tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real(*args, **kwargs)
        names.add(os.path.basename(name))
        return fd, name

    monkeypatch.setattr(fileio.tempfile, "mkstemp", spy)
    for _ in range(3):
        atomic_write(tmp_path / "x", "x")
    assert len(names) == 3 and all(name.startswith(f".x.{os.getpid()}.") for name in names)


def test_open_append_refuses_a_symlink_and_a_non_file(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious")
    link = tmp_path / "logs.txt"
    link.symlink_to(victim)
    with pytest.raises(WriteError, match="it is a symbolic link"):
        open_append(link)
    assert victim.read_text() == "precious"
    (tmp_path / "dir").mkdir()
    with pytest.raises(WriteError):
        open_append(tmp_path / "dir")
    with open_append(tmp_path / "new.txt") as file:
        file.write("line\n")
    assert (tmp_path / "new.txt").read_text() == "line\n"


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True).stdout)
    stale = tmp_path / f".checkpoint.safetensors.{dead}.k2j3.tmp"
    mine = tmp_path / f".checkpoint.safetensors.{os.getpid()}.a1b2.tmp"
    other = tmp_path / "notes.tmp"
    for path in (stale, mine, other):
        path.write_text("x")
    assert remove_stale_temp_files(tmp_path) == [stale]
    assert mine.exists() and other.exists() and not stale.exists()
