"""The plots: drawn by a helper process that imported matplotlib while the run trained, or in
this process when the helper is off, missing or fails; the same files either way."""

from __future__ import annotations

import numpy as np
import pytest

import descend.random
from descend.data import Dataset
from descend.optim import SGD
from descend.train import Plots, Trainer, build_model, mlp_config
from descend.train.callbacks import plots as plots_module

FILES = {"loss.png", "accuracy.png", "lr.png"}


def fit(tmp_path, plots):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 4)).astype(np.float32)
    data = Dataset(x, (x[:, 0] > 0).astype(np.int64))
    descend.random.manual_seed(0)
    model = build_model(mlp_config((4,), 2, [6]))
    Trainer(model, SGD(model.parameters(), lr=0.1), task="multiclass", callbacks=[plots]).fit(
        data, epochs=2, batch_size=40)
    return {p.name for p in tmp_path.iterdir()}


def test_the_helper_draws_the_plots(tmp_path, monkeypatch):
    drawn = []
    real = plots_module._Helper.draw

    def spy(self, job, timeout=120.0):
        drawn.append(self.process.pid)
        return real(self, job, timeout)

    monkeypatch.setattr(plots_module._Helper, "draw", spy)
    assert FILES <= fit(tmp_path, Plots(tmp_path))
    assert len(drawn) == 1


@pytest.mark.parametrize("how", ["off", "fails", "cannot start"])
def test_plots_are_drawn_here_when_the_helper_is_off_or_fails(tmp_path, monkeypatch, how):
    if how == "fails":
        monkeypatch.setattr(plots_module._Helper, "draw", lambda self, job, timeout=120.0: (_ for _ in ()).throw(
            RuntimeError("boom")))
    if how == "cannot start":
        def refuse(*args, **kwargs):
            raise OSError("no processes left")

        monkeypatch.setattr(plots_module.subprocess, "Popen", refuse)
    assert FILES <= fit(tmp_path, Plots(tmp_path, background=how != "off"))


def test_a_prestarted_helper_is_taken_and_a_run_without_epochs_closes_it(tmp_path):
    Plots.prestart()
    spare = Plots._spare
    assert spare is not None
    plots = Plots(tmp_path)
    plots.on_train_begin(type("T", (), {"state": type("S", (), {"global_step": 0})()})())
    assert plots._helper is spare and Plots._spare is None
    plots.on_train_end(type("T", (), {"history": []})(), {})
    assert spare.process.poll() is not None  # closed, nothing left running
