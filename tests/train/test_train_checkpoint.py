"""Checkpoint files: round trip, atomic writes, and clear errors for bad files."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

from descend.train.checkpoint import (
    Unserializable, is_checkpoint, load_checkpoint, merge_unserializable, read_metadata,
    save_checkpoint,
)
from descend.train.errors import CheckpointError


def sample_state():
    rng = np.random.default_rng(0)
    return {
        "epoch": 3,
        "model": {"1.weight": rng.normal(size=(4, 3)).astype(np.float32), "1.bias": np.zeros(3, np.float32)},
        "optimizer": {"param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "param_shapes": [(4, 3), (3,)]}],
                      "state": [{"exp_avg": rng.normal(size=15)}], "step_count": 7},
        "rng": np.random.default_rng(5).bit_generator.state,
        "history": [{"loss": 0.5, "dev:loss": float("nan")}],
        "indices": {0: np.arange(3), 1: None},
        "schedule": lambda step: 0.1,
    }


def test_round_trip_preserves_arrays_values_and_types(tmp_path):
    state = sample_state()
    path = save_checkpoint(tmp_path / "ck.safetensors", state)
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 3
    for key, value in state["model"].items():
        assert loaded["model"][key].dtype == value.dtype
        assert np.array_equal(loaded["model"][key], value)
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert loaded["optimizer"]["param_groups"][0]["param_shapes"] == [(4, 3), (3,)]
    assert np.array_equal(loaded["optimizer"]["state"][0]["exp_avg"], state["optimizer"]["state"][0]["exp_avg"])
    assert loaded["rng"] == state["rng"]  # 128-bit integers survive JSON
    assert np.isnan(loaded["history"][0]["dev:loss"])
    assert np.array_equal(loaded["indices"][0], np.arange(3)) and loaded["indices"][1] is None
    assert isinstance(loaded["schedule"], Unserializable)
    merged = merge_unserializable(loaded, {"schedule": "live"})
    assert merged["schedule"] == "live"


def test_it_is_a_standard_safetensors_file_with_json_metadata(tmp_path):
    from safetensors.numpy import load_file
    from safetensors import safe_open

    path = save_checkpoint(tmp_path / "ck.safetensors", sample_state())
    tensors = load_file(str(path))
    assert "model/1.weight" in tensors
    with safe_open(str(path), "np") as f:
        meta = json.loads(f.metadata()["descend"])
    assert meta["format"] == "descend-checkpoint" and meta["state"]["epoch"] == 3
    assert read_metadata(path)["model"]["1.weight"] == {"__tensor__": "model/1.weight"}


def test_writes_are_atomic(tmp_path, monkeypatch):
    path = tmp_path / "ck.safetensors"
    save_checkpoint(path, {"epoch": 1, "w": np.ones(3)})
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk on fire"):
        save_checkpoint(path, {"epoch": 2, "w": np.zeros(3)})
    assert path.read_bytes() == before  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["ck.safetensors"]  # no temporary left behind


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path / "ck.safetensors", sample_state())
    data = path.read_bytes()
    for size in (len(data) - 10, len(data) // 2, 20, 4, 0):
        path.write_bytes(data[:size])
        with pytest.raises(CheckpointError, match="truncated|not a descend checkpoint"):
            load_checkpoint(path)
        assert not is_checkpoint(path)


def test_corrupted_tensor_bytes_fail_the_checksum(tmp_path):
    path = save_checkpoint(tmp_path / "ck.safetensors", sample_state())
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="corrupted"):
        load_checkpoint(path)


def test_foreign_files_are_clear_errors(tmp_path):
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"weight": np.ones(3, np.float32)}, str(other))
    with pytest.raises(CheckpointError, match="another program"):
        load_checkpoint(other)
    text = tmp_path / "data.csv"
    text.write_text("a,b\n1,2\n" * 100)
    with pytest.raises(CheckpointError, match="not a safetensors file|not a descend checkpoint"):
        load_checkpoint(text)
    header = json.dumps({"__metadata__": {"descend": json.dumps({"format": "descend-checkpoint", "version": 99})}}).encode()
    future = tmp_path / "future.safetensors"
    future.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(future)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="directory"):
        load_checkpoint(tmp_path)
