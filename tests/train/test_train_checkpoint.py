"""Checkpoint files: round trip, atomic writes, and clear errors for bad files."""

from __future__ import annotations

import json
import os
import struct

import numpy as np
import pytest

from descend.train.checkpoint import (
    Unserializable,
    is_checkpoint,
    load_checkpoint,
    merge_unserializable,
    read_metadata,
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
    from safetensors import safe_open
    from safetensors.numpy import load_file

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


# ----------------------------------------------------------------------------- earlier versions' files

FIXTURES = __import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "runs"


def _fixture_problem():
    """The data and trainer of make_v0_1.py's API run (built with today's API)."""
    import descend.random
    from descend.data import Dataset
    from descend.optim import Adam, schedules
    from descend.train import EarlyStopping, ReduceLROnPlateau, Trainer, build_model, mlp_config

    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5).astype(np.int64)
    descend.random.manual_seed(7)
    init, shuffle, drop = (np.random.default_rng(s) for s in np.random.SeedSequence(7).spawn(3))
    model = build_model(mlp_config((3,), 3, [5], "relu", 0.25), rng=init, dropout_rng=drop)
    opt = Adam(model.parameters(), lr=schedules.cosine(0.05, total_steps=3 * 5, final=0.001))
    callbacks = [EarlyStopping("dev:loss", patience=5), ReduceLROnPlateau("dev:loss", patience=1, factor=0.5)]
    trainer = Trainer(model, opt, task="multiclass", rng=shuffle, callbacks=callbacks)
    return trainer, Dataset(x[:24], y[:24]), Dataset(x[24:], y[24:])


def test_a_mid_epoch_checkpoint_of_descend_0_1_resumes_bit_identically(tmp_path):
    """The old Trainer wrote it in epoch 2; the old Trainer's uninterrupted run is expected.npz."""
    import json
    import shutil

    shutil.copy(FIXTURES / "v0_1_mid" / "checkpoint.safetensors", tmp_path / "checkpoint.safetensors")
    trainer, train, dev = _fixture_problem()
    state = trainer.restore(tmp_path / "checkpoint.safetensors")
    assert (state["epochs_done"], state["step_in_epoch"], state["descend_version"]) == (1, 1, "0.1.0")
    trainer.fit(train, dev, epochs=3, batch_size=5)
    expected = np.load(FIXTURES / "v0_1_mid" / "expected.npz")
    for key, value in trainer.model.state_dict().items():
        assert np.array_equal(value, expected[f"model/{key}"]), key
    for i, group in enumerate(trainer.optimizer.state_dict()["state"]):
        for key, value in group.items():
            assert np.array_equal(value, expected[f"optimizer/{i}/{key}"]), key
    history = [{k: v for k, v in row.items() if k != "time"} for row in trainer.history]
    assert history == json.loads(expected["history"].tobytes())
    assert trainer.rng.bit_generator.state == json.loads(expected["shuffle_state"].tobytes())


def test_a_finished_run_of_descend_0_1_continues_with_more_epochs(tmp_path):
    import shutil

    from descend.data import load_dataset
    from descend.optim import Adam
    from descend.train import Trainer, model_from_checkpoint, read_metadata

    shutil.copy(FIXTURES / "v0_1" / "checkpoint.safetensors", tmp_path / "checkpoint.safetensors")
    metadata = read_metadata(tmp_path / "checkpoint.safetensors")
    assert metadata["finished"] and metadata["epochs_done"] == 1 and metadata["kind"] == "descend.train.Trainer"
    model, state = model_from_checkpoint(tmp_path / "checkpoint.safetensors")
    splits = load_dataset(str(FIXTURES / "tiny.csv"), target="y", seed=42)
    trainer = Trainer(model, Adam(model.parameters(), lr=0.01), task=state["task"], rng=0)
    trainer.restore(tmp_path / "checkpoint.safetensors")
    before = {k: v.copy() for k, v in model.state_dict().items()}
    assert trainer.state.finished
    trainer.fit(splits.train, splits.dev, epochs=1, batch_size=8)  # nothing left to train
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    trainer.fit(splits.train, splits.dev, epochs=2, batch_size=8)
    assert [row["epoch"] for row in trainer.history] == [1, 2] and trainer.state.global_step == 8
    assert not all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


# ----------------------------------------------------------------------------- hostile metadata (11.10)

def test_a_tiny_checkpoint_asking_for_a_huge_model_is_refused_before_building(tmp_path, monkeypatch):
    import time

    from descend.train import models
    from descend.train.models import mlp_config, model_from_checkpoint

    weights = {"1.weight": np.zeros((3, 4), np.float32), "1.bias": np.zeros(4, np.float32),
               "3.weight": np.zeros((4, 2), np.float32), "3.bias": np.zeros(2, np.float32)}
    config = {"model": mlp_config((3,), 2, [20000, 20000])}
    path = save_checkpoint(tmp_path / "evil.safetensors", {"kind": "descend.train.Trainer", "model": weights,
                                                           "config": config})
    assert path.stat().st_size < 6000
    monkeypatch.setattr(models, "build_model", lambda *a, **k: pytest.fail("built the model before checking it"))
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match=r"implies the parameters .* but the file stores"):
        model_from_checkpoint(path)
    config["model"] = mlp_config((3,), 2, [4])
    config["model"]["outputs"] = 5
    save_checkpoint(path, {"kind": "descend.train.Trainer", "model": weights, "config": config})
    with pytest.raises(CheckpointError, match=r"implies 3.weight of shape \(4, 5\), but the file stores \(4, 2\)"):
        model_from_checkpoint(path)
    config["model"]["hidden_layers"] = [-4]
    save_checkpoint(path, {"kind": "descend.train.Trainer", "model": weights, "config": config})
    with pytest.raises(CheckpointError, match="invalid model description: hidden layer sizes must be positive"):
        model_from_checkpoint(path)
    assert time.perf_counter() - start < 5


def test_model_from_checkpoint_rebuilds_the_model_and_leaves_the_default_generator_alone(tmp_path):
    import descend.random
    from descend.train.models import build_model, mlp_config, model_from_checkpoint

    config = mlp_config((4,), 3, [6], "tanh", 0.5)
    model = build_model(config, rng=np.random.default_rng(0))
    path = save_checkpoint(tmp_path / "ck.safetensors", {"model": dict(model.state_dict()), "config": {"model": config}})
    descend.random.manual_seed(3)
    before = descend.random.default_rng().bit_generator.state
    rebuilt, _ = model_from_checkpoint(path)
    assert descend.random.default_rng().bit_generator.state == before
    assert not rebuilt.training
    for key, value in model.state_dict().items():
        assert np.array_equal(rebuilt.state_dict()[key], value)
    with pytest.raises(CheckpointError, match="no model description"):
        model_from_checkpoint(save_checkpoint(tmp_path / "bare.safetensors", {"model": dict(model.state_dict())}))


def test_reading_metadata_reads_only_the_header(tmp_path, monkeypatch):
    from descend.train.checkpoint import tensor_shapes

    path = save_checkpoint(tmp_path / "ck.safetensors", {"epoch": 1, "w": np.zeros((300, 400), np.float32)})
    assert tensor_shapes(path) == {"w": ("F32", (300, 400))}
    size = path.stat().st_size
    with open(path, "r+b") as f:  # a file cut short is still caught from the header alone
        f.truncate(size - 1000)
    with pytest.raises(CheckpointError, match="truncated"):
        read_metadata(path)


def test_check_description_takes_the_stored_weights():
    from descend.train.models import build_model, check_description, mlp_config

    config = mlp_config((4,), 3, [6])
    weights = build_model(config).state_dict()
    assert check_description(config, weights) == config
    with pytest.raises(CheckpointError, match="implies 1.weight of shape \\(4, 6\\), but the file stores \\(4, 7\\)"):
        check_description(config, {**weights, "1.weight": np.zeros((4, 7))})
    with pytest.raises(CheckpointError, match="lacks input_shape"):
        check_description({"kind": "mlp"}, weights)
