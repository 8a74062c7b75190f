"""Unit tests of the trainer's pieces: formatting, metrics, models, tasks, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from descend.train.formatting import epoch_line, evaluation_line, format_value
from descend.train.metrics import Accuracy, MeanLoss, MeanSquaredError, MetricList
from descend.train.models import build_model, describe, mlp_config, output_units
from descend.train.tasks import TASKS, Bernoulli, Categorical, Normal, Task, decode_outputs, get_task

# ----------------------------------------------------------------------------- formatting

@pytest.mark.parametrize("value, text", [
    (0.83, "0.8300"), (0.906, "0.9060"), (12.3456789, "12.3457"), (0.0, "0.0000"),
    (1e-5, "1.00e-05"), (-1.5e-4, "-1.50e-04"), (2e-4, "0.0002"), (1.999e-4, "2.00e-04"),
    (float("nan"), "nan"), (float("inf"), "inf"),
])
def test_format_value(value, text):
    assert format_value(value) == text


def test_epoch_and_evaluation_lines_have_the_course_format():
    logs = {"loss": 0.83, "accuracy": 0.796, "dev:loss": 0.378, "dev:accuracy": 0.906}
    assert epoch_line(1, 10, 1.43, logs) == (
        "Epoch 1/10 1.4s loss=0.8300 accuracy=0.7960 dev:loss=0.3780 dev:accuracy=0.9060"
    )
    assert epoch_line(2, 10, 1.0, {"lr": 1e-5, **logs}).startswith("Epoch 2/10 1.0s lr=1.00e-05 loss=")
    assert evaluation_line(0.31, {"test:loss": 0.5, "test:accuracy": 0.9}) == (
        "Evaluation 0.3s test:loss=0.5000 test:accuracy=0.9000"
    )


# ----------------------------------------------------------------------------- metrics

def test_metrics_weight_batches_by_size_and_reset():
    loss = MeanLoss()
    loss.update(np.zeros((3, 2)), np.zeros(3), 1.0)
    loss.update(np.zeros((1, 2)), np.zeros(1), 5.0)
    assert loss.compute() == pytest.approx((3 * 1.0 + 5.0) / 4)
    loss.reset()
    assert np.isnan(loss.compute())


def test_accuracy_multiclass_and_binary():
    acc = Accuracy()
    acc.update(np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]]), np.array([0, 1, 1]), 0.0)
    assert acc.compute() == pytest.approx(2 / 3)
    binary = Accuracy()
    binary.update(np.array([[1.2], [-0.3], [0.4], [-2.0]]), np.array([1.0, 0.0, 0.0, 0.0]), 0.0)
    assert binary.compute() == pytest.approx(3 / 4)


def test_mse_metric_is_the_mean_over_examples():
    mse = MeanSquaredError()
    mse.update(np.array([[1.0], [2.0]]), np.array([0.0, 0.0]), 0.0)
    mse.update(np.array([[3.0]]), np.array([1.0]), 0.0)
    assert mse.compute() == pytest.approx((1 + 4 + 4) / 3)


def test_metric_list_state_round_trip_is_exact():
    metrics = MetricList([MeanLoss(), Accuracy()])
    rng = np.random.default_rng(0)
    for _ in range(5):
        metrics.update(rng.normal(size=(7, 3)), rng.integers(0, 3, 7), float(rng.random()))
    other = MetricList([MeanLoss(), Accuracy()])
    other.load_state_dict(metrics.state_dict())
    assert other.compute() == metrics.compute()
    with pytest.raises(ValueError, match="same name"):
        MetricList([MeanLoss(), MeanLoss()])


# ----------------------------------------------------------------------------- models, tasks

def test_mlp_is_the_course_network():
    config = mlp_config((28, 28), 10, [128], "relu", 0.0)
    model = build_model(config, rng=np.random.default_rng(0))
    assert describe(config) == "784-128-10 relu"
    shapes = {name: p.data.shape for name, p in model.named_parameters()}
    assert shapes == {"1.weight": (784, 128), "1.bias": (128,), "3.weight": (128, 10), "3.bias": (10,)}
    w = model[1].weight.data
    limit = np.sqrt(6 / (784 + 128))  # Glorot uniform
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    assert not model[1].bias.data.any()
    assert [type(m).__name__ for m in model] == ["Flatten", "Linear", "ReLU", "Linear"]


def test_mlp_with_dropout_and_no_hidden_layers():
    model = build_model(mlp_config((5,), 1, [8, 8], "tanh", 0.5))
    assert [type(m).__name__ for m in model] == ["Flatten", "Linear", "Tanh", "Dropout", "Linear", "Tanh", "Dropout", "Linear"]
    assert [type(m).__name__ for m in build_model(mlp_config((5,), 3, [], "relu", 0))] == ["Flatten", "Linear"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(input_shape=(5,), outputs=2, hidden_layers=[0]), "hidden layer sizes"),
    (dict(input_shape=(5,), outputs=2, activation="gelu"), "activation"),
    (dict(input_shape=(5,), outputs=2, dropout=1.0), "dropout"),
])
def test_mlp_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mlp_config(**kwargs)


def test_output_units_and_decoding():
    assert output_units("multiclass", 10) == 10
    assert output_units("binary", 2) == 1
    assert output_units("regression", None) == 1
    decoded = decode_outputs("multiclass", np.array([[0.0, 1.0], [3.0, 0.0]]))
    assert decoded["class"].tolist() == [1, 0]
    assert np.allclose(decoded["probabilities"].sum(axis=1), 1)
    decoded = decode_outputs("binary", np.array([[0.0], [100.0], [-100.0]]))
    assert decoded["class"].tolist() == [0, 1, 0]
    assert np.allclose(decoded["probabilities"][:, 1], [0.5, 1.0, 0.0])
    assert decode_outputs("regression", np.array([[1.5], [2.0]]))["value"].tolist() == [1.5, 2.0]


def test_tasks_are_the_lectures_output_distributions():
    assert {name: cls().distribution for name, cls in TASKS.items()} == {
        "multiclass": "Categorical", "binary": "Bernoulli", "regression": "Normal"}
    assert get_task("classification") == Categorical() and get_task(Normal) == Normal()
    task = Bernoulli()
    assert get_task(task) is task
    with pytest.raises(ValueError, match="unknown task 'ordinal'; use one of multiclass, binary, regression"):
        get_task("ordinal")
    for name, cls in TASKS.items():
        task = cls()
        assert isinstance(task, Task) and task.name == name
        assert tuple(m.name for m in task.metrics()) == task.metric_names and task.metric_names[0] == "loss"
        assert task.metrics()[0] is not task.metrics()[0]  # fresh objects
        assert task.default_monitor.partition(":")[2] in task.metric_names
    assert [get_task(n).default_monitor for n in TASKS] == ["dev:accuracy", "dev:accuracy", "dev:loss"]


def test_task_losses_are_the_negative_log_likelihoods():
    import descend

    z = np.array([[2.0, -1.0, 0.5], [0.1, 0.2, 3.0]], dtype=np.float64)
    y = np.array([0, 2])
    expected = -np.mean(np.log(np.exp(z) / np.exp(z).sum(1, keepdims=True))[np.arange(2), y])
    assert float(Categorical().loss()(descend.tensor(z), y).data) == pytest.approx(expected)
    eps = 0.1
    target = (1 - eps) * np.eye(3)[y] + eps / 3
    smoothed = -np.mean((target * np.log(np.exp(z) / np.exp(z).sum(1, keepdims=True))).sum(1))
    assert float(Categorical().loss(eps)(descend.tensor(z), y).data) == pytest.approx(smoothed)
    logits, labels = np.array([[1.5], [-0.5]]), np.array([1.0, 0.0])
    p = 1 / (1 + np.exp(-logits[:, 0]))
    nll = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    assert float(Bernoulli().loss()(descend.tensor(logits), labels).data) == pytest.approx(nll)
    values, targets = np.array([[1.0], [3.0]]), np.array([0.0, 1.0])
    assert float(Normal().loss()(descend.tensor(values), targets).data) == pytest.approx((1 + 4) / 2)
    with pytest.raises(ValueError, match="label_smoothing applies to classification"):
        Normal().loss(0.1)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\)"):
        Categorical().loss(1.0)


def test_task_output_units_and_decoding():
    assert Categorical().output_units(10) == 10 and Bernoulli().output_units(2) == 1
    assert Normal().output_units(None, 3) == 3
    with pytest.raises(ValueError, match="at least 2 classes"):
        Categorical().output_units(1)
    decoded = Bernoulli().decode(np.array([[-800.0], [0.0], [800.0]]))  # no overflow warnings
    assert decoded["probabilities"][:, 1].tolist() == [0.0, 0.5, 1.0]


# ----------------------------------------------------------------------------- lazy imports

def test_import_descend_stays_light():
    code = (
        "import sys, descend, descend.train, descend.cli\n"
        "heavy = [m for m in ('matplotlib', 'tqdm', 'tensorboardX', 'safetensors', 'threadpoolctl', 'torch')"
        " if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
