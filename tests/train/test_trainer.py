"""The Trainer API on small generated problems: fit/evaluate/predict, callbacks, the run
directory, the non-finite-loss guard and exact resumption."""

from __future__ import annotations

import csv
import json
import sys

import numpy as np
import pytest

import descend.random
from descend.data import Dataset
from descend.optim import SGD, Adam, schedules
from descend.train import (
    Callback, EarlyStopping, NonFiniteLossError, ReduceLROnPlateau, RunLogger, SaveBest, Trainer,
    build_model, load_checkpoint, mlp_config,
)


def blobs(n=600, classes=3, dim=5, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(classes, dim))
    y = rng.integers(0, classes, n)
    x = (centers[y] + noise * rng.normal(size=(n, dim))).astype(np.float32)
    return Dataset(x, y.astype(np.int64))


def make_trainer(tmp_path=None, name="run", seed=0, dropout=0.0, optimizer="sgd", lr=0.05, callbacks=(),
                 task="multiclass", outputs=3, dim=5, extras=False, **kwargs):
    """A small MLP trainer; ``extras``: TensorBoard files and plots in the run directory."""
    descend.random.manual_seed(seed)
    init, shuffle, drop = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    model = build_model(mlp_config((dim,), outputs, [16], "relu", dropout), rng=init, dropout_rng=drop)
    if optimizer == "sgd":
        opt = SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    else:
        opt = Adam(model.parameters(), lr=lr)
    logger = RunLogger(None if tmp_path is None else tmp_path / name, tensorboard=extras, plots=extras)
    return Trainer(model, opt, task=task, rng=shuffle, logger=logger, callbacks=list(callbacks), **kwargs)


def weights(trainer):
    return trainer.model.state_dict()


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert np.array_equal(wa[key], wb[key]), key


def without_times(history):
    return [{k: v for k, v in row.items() if k != "time"} for row in history]


# ----------------------------------------------------------------------------- fit / evaluate / predict

def test_fit_evaluate_predict(capsys):
    data = blobs()
    trainer = make_trainer()
    logs = trainer.fit(data[:400], data[400:500], epochs=3, batch_size=32)
    assert logs is not trainer.history[-1] or logs == trainer.history[-1]
    assert [row["epoch"] for row in trainer.history] == [1, 2, 3]
    assert set(logs) == {"epoch", "time", "lr", "loss", "accuracy", "dev:loss", "dev:accuracy"}
    assert logs["dev:accuracy"] > 0.9
    assert trainer.history[-1]["loss"] < trainer.history[0]["loss"]
    test = trainer.evaluate(data[500:])
    assert set(test) == {"test:loss", "test:accuracy"}
    outputs = trainer.predict(data[500:])
    assert outputs.shape == (100, 3)
    assert trainer.predict(data.x[500:]).shape == (100, 3)
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 4 and lines[0].startswith("Epoch 1/3 ") and lines[3].startswith("Evaluation ")
    assert "lr=" not in lines[0]  # a constant learning rate is not printed
    assert out.err == ""  # no progress bar when stderr is not a terminal
    assert trainer.global_step == 3 * 13 == trainer.optimizer.step_count


def test_regression_and_binary_tasks_learn():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(800, 4)).astype(np.float32)
    y = (x @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=800)).astype(np.float32)
    reg = make_trainer(task="regression", outputs=1, dim=4, optimizer="adam", lr=0.01)
    logs = reg.fit((x[:600], y[:600]), (x[600:], y[600:]), epochs=15, batch_size=32)
    assert set(logs) >= {"loss", "mse", "dev:loss", "dev:mse"}
    assert logs["dev:loss"] < 0.05  # the noise variance is 0.01; predicting the mean gives ~6.5
    labels = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    binary = make_trainer(task="binary", outputs=1, dim=4, optimizer="adam", lr=0.01)
    logs = binary.fit((x[:600], labels[:600]), (x[600:], labels[600:]), epochs=10, batch_size=32)
    assert logs["dev:loss"] < 0.2 and logs["dev:accuracy"] > 0.95


def test_train_step_and_compute_loss_can_be_overridden():
    data = blobs()
    calls = []

    class Custom(Trainer):
        def compute_loss(self, outputs, targets):
            calls.append(len(targets))
            return super().compute_loss(outputs, targets) * 1.0

    descend.random.manual_seed(0)
    model = build_model(mlp_config((5,), 3, [8]))
    trainer = Custom(model, SGD(model.parameters(), lr=0.1), task="multiclass")
    trainer.fit(data, epochs=1, batch_size=100)
    assert calls == [100] * 6


def test_schedule_is_shown_and_stepped_per_update(capsys):
    data = blobs(n=200)
    descend.random.manual_seed(0)
    model = build_model(mlp_config((5,), 3, [8]))
    schedule = schedules.linear(0.1, 0.001, 2 * 4)
    trainer = Trainer(model, SGD(model.parameters(), lr=schedule), task="multiclass")
    trainer.fit(data, epochs=2, batch_size=50)
    lines = capsys.readouterr().out.splitlines()
    assert " lr=0.0505 " in lines[0] and " lr=0.0010 " in lines[1]  # lr_final reached just after training
    assert trainer.history[-1]["lr"] == pytest.approx(0.001)


# ----------------------------------------------------------------------------- run directory

def test_run_directory(tmp_path, capsys):
    data = blobs()
    trainer = make_trainer(tmp_path, extras=True)
    trainer.logger.write_options({"lr": 0.05, "note": "test"})
    trainer.fit(data[:400], data[400:500], epochs=2, batch_size=50)
    trainer.evaluate(data[500:])
    trainer.close()
    run = tmp_path / "run"
    printed = capsys.readouterr().out.splitlines()
    logged = (run / "logs.txt").read_text().splitlines()
    assert printed == [line for line in logged if line.startswith(("Epoch", "Evaluation"))]
    assert json.loads((run / "options.json").read_text()) == {"lr": 0.05, "note": "test"}
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(all(v != "" for v in r.values()) for r in rows)
    assert list(rows[0]) == ["epoch", "time", "lr", "loss", "accuracy", "dev:loss", "dev:accuracy"]
    for split in ("train", "dev", "test"):
        assert any(p.name.startswith("events.out.tfevents") for p in (run / split).iterdir())
    for plot in ("loss.png", "accuracy.png", "lr.png"):
        assert (run / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_checkpoint(run / "checkpoint.safetensors")["finished"] is True


def test_tensorboard_is_optional(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails as if not installed
    data = blobs(n=200)
    trainer = make_trainer(tmp_path, extras=True)
    trainer.fit(data, epochs=1, batch_size=50)
    trainer.close()
    run = tmp_path / "run"
    assert not (run / "train").exists()
    assert "tensorboardX is not installed" in (run / "logs.txt").read_text()
    assert "tensorboardX" not in capsys.readouterr().out


def test_progress_bar_goes_to_stderr(capsys):
    data = blobs(n=200)
    trainer = make_trainer(progress=True)
    trainer.fit(data, epochs=1, batch_size=50)
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 1
    assert "Epoch 1/1" in out.err  # tqdm's description


# ----------------------------------------------------------------------------- callbacks

class Spoil(Callback):
    """Makes the dev accuracy fall after epoch ``at`` by scrambling the weights."""

    def __init__(self, at):
        self.at = at

    def on_epoch_begin(self, trainer, epoch):
        if epoch > self.at:
            for p in trainer.model.parameters():
                p.data[...] = np.random.default_rng(epoch).normal(size=p.data.shape) * 3


def test_early_stopping_stops_and_restores_best_weights(tmp_path, capsys):
    data = blobs()
    best = {}

    class Remember(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            best[epoch] = trainer.model.state_dict()

    stopper = EarlyStopping("dev:accuracy", patience=2)
    trainer = make_trainer(tmp_path, callbacks=[Remember(), Spoil(at=2), stopper])
    trainer.fit(data[:400], data[400:], epochs=10, batch_size=50)
    assert len(trainer.history) == 4  # epochs 3 and 4 got worse: stopped after 4
    assert stopper.best_epoch == 2
    for key, value in weights(trainer).items():
        assert np.array_equal(value, best[2][key])
    err = capsys.readouterr().err
    assert "Early stopping after epoch 4" in err and "Restored the weights of epoch 2" in err


@pytest.mark.parametrize("ending", ["last_epoch", "non_finite", "interrupt"])
def test_early_stopping_restores_whatever_ends_training(ending):
    data = blobs()
    best = {}

    class Remember(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            best[epoch] = trainer.model.state_dict()

    class End(Callback):
        def on_batch_end(self, trainer, step, logs):
            if trainer.epoch == 4 and step == 3:
                if ending == "interrupt":
                    raise KeyboardInterrupt
                if ending == "non_finite":
                    for p in trainer.model.parameters():
                        p.data[...] = np.nan

    trainer = make_trainer(callbacks=[Remember(), Spoil(at=2), End(), EarlyStopping("dev:accuracy", patience=5)])
    if ending == "last_epoch":
        trainer.fit(data[:400], data[400:], epochs=4, batch_size=50)
    else:
        with pytest.raises(KeyboardInterrupt if ending == "interrupt" else NonFiniteLossError):
            trainer.fit(data[:400], data[400:], epochs=10, batch_size=50)
    for key, value in weights(trainer).items():
        assert np.array_equal(value, best[2][key])


class Inject(Callback):
    """Puts a made-up metric ``score`` (one value per epoch) into the epoch logs."""

    def __init__(self, values):
        self.values = values

    def on_epoch_end(self, trainer, epoch, logs):
        logs["score"] = self.values[epoch - 1]


def test_reduce_lr_on_plateau(capsys):
    data = blobs()
    plateau = ReduceLROnPlateau("score", mode="max", factor=0.5, patience=1)
    trainer = make_trainer(callbacks=[Inject([0.9, 0.8, 0.7]), plateau])
    trainer.fit(data[:400], data[400:], epochs=3, batch_size=50)
    lrs = [row["lr"] for row in trainer.history]
    assert lrs == [0.05, 0.05, 0.025]  # a row's lr is the one in use when the epoch ended
    out = capsys.readouterr()
    assert " lr=0.0500 " in out.out.splitlines()[0]  # lr is printed when it can change
    assert "Reducing the learning rate after epoch 2" in out.err


def test_reduce_lr_on_plateau_scales_a_schedule():
    data = blobs(n=200)
    descend.random.manual_seed(0)
    model = build_model(mlp_config((5,), 3, [8]))
    schedule = schedules.linear(0.1, 0.0, 40)
    trainer = Trainer(model, SGD(model.parameters(), lr=schedule), task="multiclass",
                      callbacks=[Inject([0.9, 0.8, 0.7]), ReduceLROnPlateau("score", mode="max", factor=0.5, patience=1)])
    trainer.fit(data[:150], data[150:], epochs=3, batch_size=50)
    assert trainer.history[1]["lr"] == pytest.approx(schedule(6))
    assert trainer.history[2]["lr"] == pytest.approx(0.5 * schedule(9))


def test_save_best(tmp_path):
    data = blobs()
    trainer = make_trainer(tmp_path, callbacks=[Spoil(at=2), SaveBest(monitor="dev:accuracy")])
    trainer.fit(data[:400], data[400:], epochs=4, batch_size=50)
    state = load_checkpoint(tmp_path / "run" / "best.safetensors")
    assert state["epochs_done"] == 2
    assert state["history"][-1]["dev:accuracy"] == max(row["dev:accuracy"] for row in trainer.history)


def test_callback_errors_name_the_missing_metric():
    data = blobs(n=200)
    trainer = make_trainer(callbacks=[EarlyStopping("dev:accuracy")])
    with pytest.raises(ValueError, match="dev:accuracy.*not in the epoch logs.*pass a dev set"):
        trainer.fit(data, epochs=1, batch_size=50)


# ----------------------------------------------------------------------------- non-finite guard

def test_non_finite_loss_stops_with_epoch_and_step_and_keeps_the_checkpoint(tmp_path):
    data = blobs()
    trainer = make_trainer(tmp_path, lr=0.05)
    trainer.fit(data, epochs=1, batch_size=50)
    path = tmp_path / "run" / "checkpoint.safetensors"
    good = path.read_bytes()
    trainer.optimizer.lr = 1e6
    with pytest.raises(NonFiniteLossError) as info:
        trainer.fit(data, epochs=3, batch_size=50)
    error = info.value
    assert error.epoch == 2 and error.step >= 2
    message = str(error)
    assert f"at epoch 2, step {error.step}" in message
    assert str(path) in message and "kept" in message
    assert path.read_bytes() == good  # the last good checkpoint is untouched


# ----------------------------------------------------------------------------- resumption

@pytest.mark.parametrize("interrupt_at", [7, 12, 24])  # mid-epoch, epoch end, later epoch
def test_resume_is_bit_identical(tmp_path, interrupt_at):
    """Interrupt after a checkpoint (every 4 updates + every epoch end), resume in a new trainer,
    compare with an uninterrupted run: weights, optimizer state, history and RNG states."""
    data = blobs(n=300)
    train, dev = data[:250], data[250:]

    def trainer(name, extra=()):
        return make_trainer(tmp_path, name=name, dropout=0.3, optimizer="adam", lr=0.01, checkpoint_every=4,
                            callbacks=[EarlyStopping("dev:loss", patience=10), ReduceLROnPlateau("dev:loss", patience=1, factor=0.5), *extra])

    reference = trainer("reference")
    reference.fit(train, dev, epochs=4, batch_size=40)

    class Stop(Callback):
        def on_batch_end(self, trainer, step, logs):
            if trainer.global_step == interrupt_at + 1:
                raise KeyboardInterrupt

    interrupted = trainer("resumed", [Stop()])
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(train, dev, epochs=4, batch_size=40)
    resumed = trainer("resumed")
    resumed.fit(train, dev, epochs=4, batch_size=40, resume=tmp_path / "resumed" / "checkpoint.safetensors")
    assert_same_weights(reference, resumed)
    a, b = reference.optimizer.state_dict(), resumed.optimizer.state_dict()
    assert a["step_count"] == b["step_count"] == 28
    for sa, sb in zip(a["state"], b["state"]):
        for key in sa:
            assert np.array_equal(sa[key], sb[key])
    assert without_times(reference.history) == without_times(resumed.history)
    assert reference.rng.bit_generator.state == resumed.rng.bit_generator.state


def test_resume_with_a_different_model_is_a_clear_error(tmp_path):
    from descend.train import CheckpointError

    data = blobs(n=100)
    make_trainer(tmp_path).fit(data, epochs=1, batch_size=50)
    descend.random.manual_seed(0)
    model = build_model(mlp_config((5,), 3, [32]))
    other = Trainer(model, SGD(model.parameters(), lr=0.1), task="multiclass")
    with pytest.raises(CheckpointError, match="does not fit this model"):
        other.load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")


def test_same_seed_same_history():
    data = blobs()
    a = make_trainer(dropout=0.2)
    a.fit(data[:400], data[400:], epochs=2, batch_size=50)
    b = make_trainer(dropout=0.2)
    b.fit(data[:400], data[400:], epochs=2, batch_size=50)
    assert without_times(a.history) == without_times(b.history)
    assert_same_weights(a, b)
