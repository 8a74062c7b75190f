"""The Trainer API on small generated problems: fit/evaluate/predict, the callbacks, the run
directory, the non-finite guard and exact resumption."""

from __future__ import annotations

import csv
import sys

import numpy as np
import pytest

import descend.random
from descend.data import Dataset
from descend.optim import SGD, Adam, schedules
from descend.train import (
    Callback,
    Checkpoint,
    CheckpointError,
    ConsoleLog,
    CSVLogger,
    EarlyStopping,
    LogFile,
    NonFiniteGuard,
    NonFiniteLossError,
    Plots,
    ProgressBar,
    ReduceLROnPlateau,
    SaveBest,
    TensorBoard,
    Trainer,
    build_model,
    load_checkpoint,
    mlp_config,
)


def blobs(n=600, classes=3, dim=5, seed=0, noise=1.0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(classes, dim))
    y = rng.integers(0, classes, n)
    x = (centers[y] + noise * rng.normal(size=(n, dim))).astype(np.float32)
    return Dataset(x, y.astype(np.int64))


def run_callbacks(run, checkpoint_every=None, extras=False):
    """The callbacks of a run directory (as ``descend train`` sets them up)."""
    callbacks = [LogFile(run / "logs.txt"), CSVLogger(run / "metrics.csv"),
                 Checkpoint(run / "checkpoint.safetensors", every=checkpoint_every)]
    if extras:
        callbacks += [TensorBoard(run), Plots(run)]
    return callbacks


def make_trainer(tmp_path=None, name="run", seed=0, dropout=0.0, optimizer="sgd", lr=0.05, callbacks=(),
                 task="multiclass", outputs=3, dim=5, extras=False, checkpoint_every=None, console=True, **kwargs):
    """A small MLP trainer with the console and the guard; with ``tmp_path`` a run directory."""
    descend.random.manual_seed(seed)
    init, shuffle, drop = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    model = build_model(mlp_config((dim,), outputs, [16], "relu", dropout), rng=init, dropout_rng=drop)
    if optimizer == "sgd":
        opt = SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True)
    else:
        opt = Adam(model.parameters(), lr=lr)
    standard = [ConsoleLog()] if console else []
    standard.append(NonFiniteGuard())
    if tmp_path is not None:
        standard += run_callbacks(tmp_path / name, checkpoint_every, extras)
        (tmp_path / name).mkdir(exist_ok=True)
    return Trainer(model, opt, task=task, rng=shuffle, callbacks=[*standard, *callbacks], **kwargs)


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
    assert logs == trainer.history[-1]
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
    assert out.err == ""
    assert trainer.state.global_step == 3 * 13 == trainer.optimizer.step_count
    assert trainer.metric_names == ("loss", "accuracy")


def test_evaluate_and_predict_need_no_optimizer(capsys):
    data = blobs(n=200)
    trained = make_trainer(console=False)
    trained.fit(data, epochs=2, batch_size=50)
    evaluator = Trainer(trained.model, task="multiclass", callbacks=[ConsoleLog()], eval_batch_size=64)
    logs = evaluator.evaluate(data, name="dev")
    assert logs == pytest.approx(trained.evaluate(data, name="dev"), rel=1e-6)  # other batches: float sums differ
    assert capsys.readouterr().out.startswith("Evaluation ") and set(logs) == {"dev:loss", "dev:accuracy"}
    assert np.array_equal(evaluator.predict(data), trained.predict(data))
    with pytest.raises(ValueError, match="fit needs an optimizer"):
        evaluator.fit(data, epochs=1, batch_size=50)


def test_regression_and_binary_tasks_learn():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(800, 4)).astype(np.float32)
    y = (x @ np.array([1.5, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=800)).astype(np.float32)
    reg = make_trainer(task="regression", outputs=1, dim=4, optimizer="adam", lr=0.01, console=False)
    logs = reg.fit((x[:600], y[:600]), (x[600:], y[600:]), epochs=15, batch_size=32)
    assert set(logs) >= {"loss", "mse", "dev:loss", "dev:mse"}
    assert logs["dev:loss"] < 0.05  # the noise variance is 0.01; predicting the mean gives ~6.5
    labels = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    binary = make_trainer(task="binary", outputs=1, dim=4, optimizer="adam", lr=0.01, console=False)
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


def test_a_custom_train_step_is_still_guarded():
    data = blobs(n=200)

    class Custom(Trainer):
        def train_step(self, x, y):  # forgets check_loss: the loop checks after the step
            outputs = self.forward(x)
            loss = self.compute_loss(outputs, y)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            return {"loss": float("nan"), "outputs": outputs.data}

    descend.random.manual_seed(0)
    model = build_model(mlp_config((5,), 3, [8]))
    trainer = Custom(model, SGD(model.parameters(), lr=0.1), task="multiclass", callbacks=[NonFiniteGuard()])
    with pytest.raises(NonFiniteLossError):
        trainer.fit(data, epochs=1, batch_size=50)


def test_schedule_is_shown_and_stepped_per_update(capsys):
    data = blobs(n=200)
    descend.random.manual_seed(0)
    model = build_model(mlp_config((5,), 3, [8]))
    schedule = schedules.linear(0.1, 0.001, 2 * 4)
    trainer = Trainer(model, SGD(model.parameters(), lr=schedule), task="multiclass", callbacks=[ConsoleLog()])
    trainer.fit(data, epochs=2, batch_size=50)
    lines = capsys.readouterr().out.splitlines()
    assert " lr=0.0505 " in lines[0] and " lr=0.0010 " in lines[1]  # lr_final reached just after training
    assert trainer.history[-1]["lr"] == pytest.approx(0.001)


def test_limit_batches_is_a_smoke_run():
    data = blobs()
    trainer = make_trainer(console=False)
    seen = []

    class Count(Callback):
        def on_batch_end(self, trainer, step, logs):
            seen.append(step)

    trainer.fit(data[:400], data[400:], epochs=2, batch_size=10, limit_batches=3, callbacks=[Count()])
    assert seen == [1, 2, 3, 1, 2, 3]
    assert trainer.state.global_step == 6 and len(trainer.history) == 2
    with pytest.raises(ValueError, match="limit_batches must be a positive integer"):
        trainer.fit(data, epochs=3, batch_size=10, limit_batches=0)


# ----------------------------------------------------------------------------- run directory

def test_run_directory(tmp_path, capsys):
    data = blobs()
    trainer = make_trainer(tmp_path, extras=True)
    trainer.fit(data[:400], data[400:500], epochs=2, batch_size=50)
    trainer.evaluate(data[500:])
    trainer.close()
    run = tmp_path / "run"
    printed = capsys.readouterr().out.splitlines()
    logged = (run / "logs.txt").read_text().splitlines()
    assert printed == [line for line in logged if line.startswith(("Epoch", "Evaluation"))]
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert all(all(v != "" for v in r.values()) for r in rows)
    assert list(rows[0]) == ["epoch", "time", "lr", "loss", "accuracy", "dev:loss", "dev:accuracy"]
    for split in ("train", "dev", "test"):
        assert any(p.name.startswith("events.out.tfevents") for p in (run / split).iterdir())
    for plot in ("loss.png", "accuracy.png", "lr.png"):
        assert (run / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert load_checkpoint(run / "checkpoint.safetensors")["finished"] is True
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]


def test_tensorboard_is_optional_and_says_so_on_the_console(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import fails as if not installed
    data = blobs(n=200)
    trainer = make_trainer(tmp_path, extras=True)
    trainer.fit(data, epochs=2, batch_size=50)
    trainer.close()
    run = tmp_path / "run"
    assert not (run / "train").exists()
    assert (run / "logs.txt").read_text().count("tensorboardX is not installed") == 1
    out = capsys.readouterr()
    assert "tensorboardX" not in out.out
    assert out.err.count("TensorBoard logging skipped because tensorboardX is not installed") == 1  # 12.2


def test_log_file_refuses_a_symlink(tmp_path):
    from descend.fileio import WriteError

    target = tmp_path / "precious.txt"
    target.write_text("keep me\n")
    (tmp_path / "logs.txt").symlink_to(target)
    log = LogFile(tmp_path / "logs.txt")
    with pytest.raises(WriteError, match="symbolic link"):
        log.write("Epoch 1/1")
    assert target.read_text() == "keep me\n"


def test_progress_bar_shows_running_metrics_on_stderr(capsys):
    data = blobs(n=200)
    trainer = make_trainer(callbacks=[ProgressBar(enabled=True, refresh=0.0)])
    trainer.fit(data, epochs=1, batch_size=50)
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 1
    assert "Epoch 1/1" in out.err  # tqdm's description
    assert "loss=" in out.err and "accuracy=" in out.err  # the running metrics (12.5)


def test_progress_bar_switch(capsys):
    data = blobs(n=200)
    for bar in (ProgressBar(enabled=False), ProgressBar()):  # off, and auto: stderr is no terminal here
        make_trainer(callbacks=[bar]).fit(data, epochs=1, batch_size=50)
        assert capsys.readouterr().err == ""


def test_lr_plot_has_one_point_per_update(tmp_path):
    data = blobs(n=200)
    descend.random.manual_seed(0)
    model = build_model(mlp_config((5,), 3, [8]))
    schedule = schedules.cosine(0.1, total_steps=3 * 4, final=0.001)
    plots = Plots(tmp_path)
    trainer = Trainer(model, SGD(model.parameters(), lr=schedule), task="multiclass", callbacks=[plots])
    trainer.fit(data, epochs=3, batch_size=50)
    assert plots.lr == pytest.approx([schedule(t) for t in range(12)])
    assert (tmp_path / "lr.png").is_file()


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
    state = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")  # the final one: best weights
    assert state["finished"] is True
    for key, value in state["model"].items():
        assert np.array_equal(value, best[2][key])


@pytest.mark.parametrize("ending", ["last_epoch", "non_finite", "interrupt"])
def test_early_stopping_restores_whatever_ends_training(ending):
    data = blobs()
    best = {}

    class Remember(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            best[epoch] = trainer.model.state_dict()

    class End(Callback):
        def on_batch_end(self, trainer, step, logs):
            if trainer.state.epoch == 4 and step == 3:
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
    trainer = make_trainer(tmp_path, callbacks=[Spoil(at=2), SaveBest(tmp_path / "run" / "best.safetensors",
                                                                       monitor="dev:accuracy", metadata={"k": 1})])
    trainer.fit(data[:400], data[400:], epochs=4, batch_size=50)
    state = load_checkpoint(tmp_path / "run" / "best.safetensors")
    assert state["epochs_done"] == 2 and state["config"] == {"k": 1}
    # Without metadata of its own, the best checkpoint gets the rolling checkpoint's.
    other = make_trainer(tmp_path, name="other", callbacks=[SaveBest(tmp_path / "other" / "best.safetensors")])
    rolling = next(cb for cb in other.active_callbacks if isinstance(cb, Checkpoint))
    rolling.metadata = {"model": "described"}
    other.fit(data[:400], data[400:], epochs=1, batch_size=50)
    assert load_checkpoint(tmp_path / "other" / "best.safetensors")["config"] == {"model": "described"}
    assert state["history"][-1]["dev:accuracy"] == max(row["dev:accuracy"] for row in trainer.history)
    assert trainer.last_checkpoint.path.name == "checkpoint.safetensors"  # best is not the one to resume


def test_a_dev_monitor_without_a_dev_set_is_refused_before_training(capsys):
    data = blobs(n=200)
    trainer = make_trainer(callbacks=[EarlyStopping("dev:accuracy")])
    with pytest.raises(ValueError, match="monitors 'dev:accuracy', but fit got no dev set.*pass a dev set"):
        trainer.fit(data, epochs=1, batch_size=50)
    assert capsys.readouterr().out == "" and trainer.state.global_step == 0


def test_an_unknown_monitor_names_the_available_metrics():
    data = blobs(n=200)
    trainer = make_trainer(callbacks=[EarlyStopping("dev:f1")])
    with pytest.raises(ValueError, match="'dev:f1' is not in the epoch logs; available: lr, loss, accuracy, dev:loss, dev:accuracy"):
        trainer.fit(data[:150], data[150:], epochs=1, batch_size=50)


def test_callbacks_run_in_order_and_non_root_ranks_drop_printers():
    from descend.train import Strategy

    order = []

    class Probe(Callback):
        def __init__(self, name, order_=0):
            self.name, self.order = name, order_

        def on_epoch_end(self, trainer, epoch, logs):
            order.append(self.name)

    data = blobs(n=100)
    checkpoint_like, console_like, plain = Probe("checkpoint", 100), Probe("console", -20), Probe("plain")
    trainer = make_trainer(console=False, callbacks=[checkpoint_like, plain, console_like])
    trainer.fit(data, epochs=1, batch_size=50)
    assert order == ["console", "plain", "checkpoint"]

    class Rank1(Strategy):
        rank, world_size = 1, 2

    console = ConsoleLog()
    assert Rank1().filter_callbacks([console, plain]) == [plain]
    assert Strategy().filter_callbacks([console, plain]) == [console, plain]


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
    assert str(path) in message and "kept" in message and error.checkpoint == str(path)
    assert path.read_bytes() == good  # the last good checkpoint is untouched
    assert "Error: " in (tmp_path / "run" / "logs.txt").read_text()


def test_a_non_finite_first_loss_is_blamed_on_the_data_not_the_learning_rate():
    # 11.13: a target of 1e30 overflows the float32 forward pass before any update.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 4)).astype(np.float32)
    y = rng.normal(size=100).astype(np.float32)
    y[3] = 1e30
    trainer = make_trainer(task="regression", outputs=1, dim=4, console=False)
    with pytest.raises(NonFiniteLossError) as info:
        trainer.fit((x, y), epochs=1, batch_size=100)
    message = str(info.value)
    assert "before any update" in message and "learning rate is not the cause" in message
    assert "1e+30" in message and "targets" in message
    assert "probably too high" not in message


def test_nan_in_a_later_batch_is_blamed_on_the_data():
    x = blobs().x.copy()
    x[550, 2] = np.nan
    trainer = make_trainer(console=False)
    with pytest.raises(NonFiniteLossError, match="inputs range over .* with 1 NaN/inf"):
        trainer.fit((x, blobs().y), epochs=1, batch_size=600 // 4)


def test_a_huge_learning_rate_is_caught_as_divergence():
    # 11.13: the loss explodes but stays finite (as with --learning_rate 1e6 on MNIST).
    from descend.train import LossDivergedError

    data = blobs()
    trainer = make_trainer(lr=1e6, console=False)
    with pytest.raises(LossDivergedError, match=r"the loss diverged at epoch 1, step \d+ .*more than 100 times its best"):
        trainer.fit(data, epochs=2, batch_size=50)
    assert trainer.state.epochs_done == 0


def test_divergence_rule_ignores_noise_and_warm_restarts():
    class Fake:
        class state:
            epoch, step, global_step = 1, 1, 0

        last_checkpoint = None

        def describe_last_checkpoint(self):
            return "no checkpoint had been written yet"

        def current_lr(self):
            return 0.1

    from descend.train import LossDivergedError

    guard = NonFiniteGuard()
    rng = np.random.default_rng(0)
    # 2.3 down to 1e-4, noisy batches, then a warm restart lifts it 500x (still below the start).
    losses = np.concatenate([np.geomspace(2.3, 1e-4, 300), 5e-2 * np.ones(50)]) * rng.uniform(0.3, 3, 350)
    for value in losses:
        guard.on_before_update(Fake(), float(value), None, None)
    with pytest.raises(LossDivergedError):
        for value in np.geomspace(1.0, 1e6, 60):
            guard.on_before_update(Fake(), float(value), None, None)
    unlimited = NonFiniteGuard(divergence=None)
    for value in (2.3, 1e6, 1e30):
        unlimited.on_before_update(Fake(), value, None, None)
    with pytest.raises(ValueError, match="divergence must be"):
        NonFiniteGuard(divergence=0.5)


def test_non_finite_weights_are_never_checkpointed(tmp_path):
    # 11.3: weights that became NaN/inf in an update whose loss was still finite.
    data = blobs(n=200)

    class Blow(Callback):
        def on_batch_end(self, trainer, step, logs):
            if trainer.state.epoch == 2 and step == 4:  # the epoch's last update
                next(iter(trainer.model.parameters())).data[0, 0] = np.inf

    path = tmp_path / "run" / "checkpoint.safetensors"
    best = tmp_path / "run" / "best.safetensors"
    trainer = make_trainer(tmp_path, callbacks=[Blow(), SaveBest(best, monitor="dev:loss")])
    with pytest.raises(NonFiniteLossError) as info:
        trainer.fit(data[:150], data[150:], epochs=3, batch_size=40)
    message = str(info.value)
    assert "NaN or infinite" in message and f"the last good checkpoint, {path} (end of epoch 1), is kept" in message
    state = load_checkpoint(path)
    assert state["epochs_done"] == 1
    assert all(np.isfinite(v).all() for v in state["model"].values())
    assert load_checkpoint(best)["epochs_done"] == 1  # best.safetensors never gets the bad weights (8b)


def test_a_nan_dev_loss_is_never_checkpointed(tmp_path):
    data = blobs(n=200)
    dev_x = data.x[150:].copy()
    dev_x[0, 0] = np.nan  # finite weights, but the epoch's dev:loss is nan
    trainer = make_trainer(tmp_path)
    with pytest.raises(NonFiniteLossError, match="dev:loss is nan"):
        trainer.fit(data[:150], (dev_x, data.y[150:]), epochs=1, batch_size=50)
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()


# ----------------------------------------------------------------------------- interrupts and full disks

@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_an_interrupt_between_the_epoch_line_and_the_checkpoint_keeps_the_epoch(tmp_path, signame, capfd):
    # 11.4: the signal arrives after the epoch line was printed, before the checkpoint is written.
    import os
    import signal

    def sigterm_as_interrupt(signum, frame):  # what the command line installs
        raise KeyboardInterrupt

    signum = getattr(signal, signame)

    class Signal(Callback):
        order = 50  # after the console (-20), before the checkpoint (100)

        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                os.kill(os.getpid(), signum)

    previous = signal.signal(signal.SIGTERM, sigterm_as_interrupt)
    try:
        data = blobs(n=200)
        trainer = make_trainer(tmp_path, callbacks=[Signal()])
        with pytest.raises(KeyboardInterrupt):
            trainer.fit(data[:150], data[150:], epochs=4, batch_size=50)
    finally:
        signal.signal(signal.SIGTERM, previous)
    out = capfd.readouterr()
    assert out.out.count("Epoch 2/4") == 1 and "Epoch 3/4" not in out.out
    assert "Interrupt: finishing the epoch" in out.err
    state = load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")
    assert state["epochs_done"] == 2 and state["step_in_epoch"] == 0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers are restored
    assert (tmp_path / "run" / "logs.txt").read_text().splitlines()[-1] == "Interrupted after epoch 2."


def test_a_second_interrupt_stops_at_once(tmp_path, capfd):
    import os
    import signal

    class Twice(Callback):
        order = 50

        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)

    data = blobs(n=200)
    trainer = make_trainer(tmp_path, callbacks=[Twice()])
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(data[:150], data[150:], epochs=4, batch_size=50)
    assert capfd.readouterr().err.count("press Ctrl-C again") == 1
    assert load_checkpoint(tmp_path / "run" / "checkpoint.safetensors")["epochs_done"] == 1  # the previous one
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_checkpoint_metadata_must_be_json(tmp_path):
    with pytest.raises(ValueError, match="checkpoint metadata must be JSON-able"):
        Checkpoint(tmp_path / "checkpoint.safetensors", metadata={"schedule": lambda step: 0.1})
    with pytest.raises(ValueError, match="every must be a positive integer"):
        Checkpoint(tmp_path / "checkpoint.safetensors", every=0)


def test_a_full_disk_keeps_the_previous_checkpoint_and_says_which_file(tmp_path, monkeypatch):
    # 11.5: ENOSPC while writing the checkpoint of epoch 2.
    import errno
    import os

    from descend.train import RunWriteError

    data = blobs(n=200)
    path = tmp_path / "run" / "checkpoint.safetensors"

    class FillDisk(Callback):
        order = 95

        def on_epoch_end(self, trainer, epoch, logs):
            if epoch == 2:
                def full(fd):
                    raise OSError(errno.ENOSPC, "No space left on device")

                monkeypatch.setattr(os, "fsync", full)

    trainer = make_trainer(tmp_path, callbacks=[FillDisk()])
    with pytest.raises(RunWriteError) as info:
        trainer.fit(data[:150], data[150:], epochs=3, batch_size=50)
    monkeypatch.undo()
    error = info.value
    message = str(error)
    assert f"could not write {path}: No space left on device; its previous version is intact" in message
    assert f"the last good checkpoint, {path} (end of epoch 1), is kept" in message
    assert error.errno == errno.ENOSPC and error.path == str(path) and error.checkpoint == str(path)
    assert load_checkpoint(path)["epochs_done"] == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.safetensors", "logs.txt", "metrics.csv"]


def test_restore_removes_stale_temporary_files(tmp_path):
    # 11.9: a kill during a write leaves .checkpoint.safetensors.<pid>.<random>.tmp behind.
    import os

    data = blobs(n=100)
    make_trainer(tmp_path, console=False).fit(data, epochs=1, batch_size=50)
    run = tmp_path / "run"
    dead = run / ".checkpoint.safetensors.999999999.k2j3h4.tmp"
    alive = run / f".metrics.csv.{os.getpid()}.abc123.tmp"
    dead.write_bytes(b"x" * 1000)
    alive.write_bytes(b"y")
    trainer = make_trainer(console=False, callbacks=[ConsoleLog()])
    trainer.restore(run / "checkpoint.safetensors")
    assert not dead.exists() and alive.exists()


# ----------------------------------------------------------------------------- resumption

@pytest.mark.parametrize("interrupt_at", [7, 12, 24])  # mid-epoch, epoch end, later epoch
def test_resume_is_bit_identical(tmp_path, interrupt_at):
    """Interrupt after a checkpoint (every 4 updates + every epoch end), resume in a new trainer,
    compare with an uninterrupted run: weights, optimizer state, history and RNG states."""
    data = blobs(n=300)
    train, dev = data[:250], data[250:]

    def trainer(name, extra=()):
        return make_trainer(tmp_path, name=name, dropout=0.3, optimizer="adam", lr=0.01, checkpoint_every=4,
                            extras=True, console=False,
                            callbacks=[EarlyStopping("dev:loss", patience=10),
                                       ReduceLROnPlateau("dev:loss", patience=1, factor=0.5), *extra])

    reference = trainer("reference")
    reference.fit(train, dev, epochs=4, batch_size=40)

    class Stop(Callback):
        def on_batch_end(self, trainer, step, logs):
            if trainer.state.global_step == interrupt_at + 1:
                raise KeyboardInterrupt

    interrupted = trainer("resumed", [Stop()])
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(train, dev, epochs=4, batch_size=40)
    resumed = trainer("resumed")
    resumed.restore(tmp_path / "resumed" / "checkpoint.safetensors")
    resumed.fit(train, dev, epochs=4, batch_size=40)
    assert_same_weights(reference, resumed)
    a, b = reference.optimizer.state_dict(), resumed.optimizer.state_dict()
    assert a["step_count"] == b["step_count"] == 28
    for sa, sb in zip(a["state"], b["state"]):
        for key in sa:
            assert np.array_equal(sa[key], sb[key])
    assert without_times(reference.history) == without_times(resumed.history)
    assert reference.rng.bit_generator.state == resumed.rng.bit_generator.state
    plots = [cb for cb in resumed.active_callbacks if isinstance(cb, Plots)][0]
    assert len(plots.lr) == 28  # the per-update lr survives the interruption


def test_fit_with_more_epochs_continues_a_finished_run(tmp_path):
    data = blobs(n=300)
    reference = make_trainer(tmp_path, name="reference", console=False)
    reference.fit(data[:250], data[250:], epochs=3, batch_size=50)
    first = make_trainer(tmp_path, name="extended", console=False)
    first.fit(data[:250], data[250:], epochs=2, batch_size=50)
    assert load_checkpoint(tmp_path / "extended" / "checkpoint.safetensors")["finished"] is True
    again = make_trainer(tmp_path, name="extended", console=False)
    again.restore(tmp_path / "extended" / "checkpoint.safetensors")
    assert again.state.finished
    again.fit(data[:250], data[250:], epochs=3, batch_size=50)
    assert_same_weights(reference, again)
    assert without_times(reference.history) == without_times(again.history)


def test_resume_with_a_different_model_is_a_clear_error(tmp_path):
    data = blobs(n=100)
    make_trainer(tmp_path, console=False).fit(data, epochs=1, batch_size=50)
    descend.random.manual_seed(0)
    model = build_model(mlp_config((5,), 3, [32]))
    other = Trainer(model, SGD(model.parameters(), lr=0.1), task="multiclass")
    with pytest.raises(CheckpointError, match="does not fit this model"):
        other.restore(tmp_path / "run" / "checkpoint.safetensors")


def test_same_seed_same_history():
    data = blobs()
    a = make_trainer(dropout=0.2, console=False)
    a.fit(data[:400], data[400:], epochs=2, batch_size=50)
    b = make_trainer(dropout=0.2, console=False)
    b.fit(data[:400], data[400:], epochs=2, batch_size=50)
    assert without_times(a.history) == without_times(b.history)
    assert_same_weights(a, b)


def test_loop_state_round_trip():
    data = blobs(n=200)
    trainer = make_trainer(console=False)
    trainer.fit(data, epochs=2, batch_size=50)
    state = trainer.state.state_dict()
    assert {"epochs_done", "step_in_epoch", "global_step", "epochs", "batch_size", "finished", "history", "rng",
            "train_metrics", "callbacks"} == set(state)
    other = make_trainer(console=False)
    other.state.load_state_dict(state)
    again = other.state.state_dict()
    assert without_times(again.pop("history")) == without_times(state.pop("history"))
    assert again == state
