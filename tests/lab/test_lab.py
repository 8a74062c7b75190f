"""descend.lab: every experiment's quick mode shows its qualitative result.

The experiments ran once, through ``descend lab all --quick`` (the ``quick_run`` fixture); these
tests assert on the numbers they wrote, recomputing each claim from the data rather than only
trusting the experiment's own ``checks``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from descend import lab

NAMES = list(lab.EXPERIMENTS)


# ------------------------------------------------------------------------------ the run
def test_all_ran_and_every_check_holds(quick_run):
    assert quick_run.status == 0, quick_run.stdout
    for name in NAMES:
        payload = quick_run.data(name)
        assert payload["checks"], name
        failed = [k for k, ok in payload["checks"].items() if not ok]
        assert not failed, f"{name}: {failed}"
    assert "FAILED" not in quick_run.stdout
    assert "report:" in quick_run.stdout


@pytest.mark.parametrize("name", NAMES)
def test_each_experiment_writes_figures_data_and_summary(quick_run, name):
    d = quick_run.dir(name)
    pngs = sorted(d.glob("*.png"))
    assert pngs, f"{name} wrote no PNG"
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size > 5000
    summary = (d / "summary.md").read_text()
    assert summary.startswith(f"# {name} (quick mode)")
    for png in pngs:
        assert f"({png.name})" in summary
    payload = quick_run.data(name)
    assert payload["seconds"] > 0
    assert list(d.glob("*.csv")), f"{name} wrote no CSV"


def test_report_has_every_figure_inline(quick_run):
    report = (quick_run.root / "report.html").read_text()
    assert report.startswith("<!DOCTYPE html>")
    figures = [p for n in NAMES for p in quick_run.dir(n).iterdir() if p.suffix in (".png", ".gif")]
    assert report.count("data:image/png;base64,") == sum(p.suffix == ".png" for p in figures)
    assert report.count("data:image/gif;base64,") == sum(p.suffix == ".gif" for p in figures) >= 1
    for name in NAMES:
        assert f'<section id="{name}">' in report
    assert "<table>" in report and "FAILED" not in report
    assert "src=\"http" not in report  # self-contained


# ------------------------------------------------------------------------ the experiments
def test_capacity_test_error_is_u_shaped(quick_run):
    data = quick_run.data("capacity")["data"]
    degrees, test, train = data["degrees"], np.array(data["test_mse"]), np.array(data["train_mse"])
    best = int(np.argmin(test))
    assert 0 < best < len(degrees) - 1, (degrees, test)
    assert 2 <= degrees[best] <= 8
    assert test[0] > 2 * test[best] and test[-1] > 10 * test[best]  # under- and overfitting
    assert train[-1] < train[0]
    # trained by descend to (nearly) the least-squares fit
    np.testing.assert_allclose(train, data["lstsq_train_mse"], rtol=0.05, atol=0.005)
    sizes_test = data["size_test_mse"]
    assert sizes_test[-1] < sizes_test[0]


def test_weight_decay_lowers_the_high_degree_test_error(quick_run):
    data = quick_run.data("weight-decay")["data"]
    lambdas, test, train = data["lambdas"], np.array(data["test_mse"]), np.array(data["train_mse"])
    assert lambdas[0] == 0.0
    assert test.min() < 0.1 * test[0]
    assert train[int(np.argmin(test))] > train[0]
    norms = np.array(data["coef_norm"])
    assert norms[-1] < norms[0]


def test_biased_variance_estimator_matches_theory(quick_run):
    data = quick_run.data("estimator-bias")["data"]
    n = np.array(data["n"])
    sigma2 = data["sigma"] ** 2
    theory = (1 - 1 / n) * sigma2
    mean, sem = np.array(data["biased_mean"]), np.array(data["biased_sem"])
    assert np.all(np.abs(mean - theory) < 4 * sem)  # a 99.99% confidence interval
    # and it really is biased: the unbiased value is excluded for small N
    assert np.all(np.abs(mean - sigma2)[n <= 5] > 6 * sem[n <= 5])
    assert abs(data["mle_var"] - data["biased_formula_var"]) < 1e-3 * data["biased_formula_var"]


def test_mle_losses_equal_the_nll(quick_run):
    rows = quick_run.data("mle")["data"]["comparison"]
    assert [r["model"] for r in rows] == ["Normal, fixed variance", "Normal, predicted variance",
                                          "Bernoulli", "Categorical"]
    for r in rows:
        assert abs(r["loss_as_nll"] - r["numpy_nll"]) < 1e-9, r
    fixed, predicted = rows[0], rows[1]
    assert predicted["test_nll"] < fixed["test_nll"] - 0.1


def test_adam_and_momentum_reach_rosenbrock_minimum_sgd_does_not(quick_run):
    data = quick_run.data("trajectories")["data"]
    rosen = data["final_distance"]["rosenbrock"]
    lr = data["functions"]["rosenbrock"]["lr"]
    assert lr["SGD"] == lr["Momentum"]  # the same rate
    assert rosen["Adam"] < 0.05 and rosen["Momentum"] < 0.05
    assert rosen["SGD"] > 0.1
    assert set(data["final_distance"]) == {"quadratic", "rosenbrock", "beale", "saddle"}
    for fn in data["final_distance"].values():
        assert set(fn) == {"SGD", "Momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam"}
    gif = quick_run.dir("trajectories") / "trajectories.gif"
    assert gif.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    from PIL import Image

    with Image.open(gif) as im:
        assert im.n_frames >= 5


def test_every_schedule_is_plotted_and_drives_the_optimizer(quick_run):
    data = quick_run.data("schedules")["data"]
    from descend.optim import schedules as S

    constructors = {"constant", "linear", "polynomial", "exponential", "inverse_sqrt", "step",
                    "multistep", "cosine", "cosine_restarts", "one_cycle", "warmup", "join"}
    covered = {name.split()[0] for name in data["values"]}
    assert constructors <= covered, constructors - covered
    assert all(data["optimizer_agrees"].values())
    total = data["total_steps"]
    for name, values in data["values"].items():
        assert len(values) == total + 1
    assert data["values"]["cosine"][total // 2] == pytest.approx(0.05)
    assert data["values"]["linear"][0] == S.linear(0.1, 0.0, total)(0)


def test_robbins_monro_one_over_t_beats_a_constant_rate(quick_run):
    data = quick_run.data("robbins-monro")["data"]
    final = data["final_distance"]
    assert final["1/t"] < final["constant"]
    assert final["1/t^2"] > final["1/t"]
    assert data["sum_alpha"]["1/t^2"] < data["sum_alpha"]["1/t"] < data["sum_alpha"]["constant"]


def test_landscape_minimum_along_the_interpolation_is_the_solution(quick_run):
    data = quick_run.data("landscape")["data"]
    alphas = np.array(data["alphas"])
    objective = np.array(data["interp_train_objective"])
    assert alphas[np.argmin(objective)] == pytest.approx(1.0)
    at0 = int(np.argmin(np.abs(alphas)))
    at1 = int(np.argmin(np.abs(alphas - 1)))
    assert objective[at1] < 0.5 * objective[at0]
    assert np.all(np.diff(objective[at0:at1 + 1]) < 0)  # falls all the way from init to solution
    surface = np.array(data["surface_train_objective"])
    c = surface.shape[0] // 2
    assert surface[c, c] == surface.min()


def test_double_descent_peaks_at_the_interpolation_threshold(quick_run):
    data = quick_run.data("double-descent")["data"]
    widths = data["widths"]
    test = dict(zip(widths, data["test_error"]))
    n = data["n_train"]
    threshold = data["threshold_width"]
    assert (threshold + 1) * 10 == data["threshold_parameters"] == n * 10
    smaller = max(w for w in widths if w <= threshold // 2)
    much_larger = min(w for w in widths if w >= 10 * n)
    assert test[threshold] > test[smaller] + 0.05
    assert test[threshold] > test[much_larger] + 0.05
    train = dict(zip(widths, data["train_error"]))
    assert train[threshold] < 0.02 and train[much_larger] < 0.02


# ------------------------------------------------------------------------------- pieces
def test_missing_mnist_gives_the_data_layers_error(tmp_path, monkeypatch):
    from descend.data import DatasetNotFoundError, locations

    monkeypatch.delenv("DESCEND_DATA", raising=False)
    monkeypatch.setenv("DESCEND_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(locations, "SYSTEM_DATA_DIRS", ())
    monkeypatch.setattr(locations, "BUNDLED_DATA_DIRS", ())  # as if descend shipped no MNIST
    for fn in (lab.landscape, lab.double_descent):
        with pytest.raises(DatasetNotFoundError, match="MNIST was not found"):
            fn(tmp_path / "out", quick=True, data_dir=tmp_path / "nothing", download=False,
               verbose=False)


def test_cli_missing_mnist_is_one_line(tmp_path, monkeypatch, capsys):
    from descend.cli import main
    from descend.data import locations

    monkeypatch.delenv("DESCEND_DATA", raising=False)
    monkeypatch.setenv("DESCEND_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(locations, "SYSTEM_DATA_DIRS", ())
    monkeypatch.setattr(locations, "BUNDLED_DATA_DIRS", ())  # as if descend shipped no MNIST
    status = main(["lab", "landscape", "--quick", "--quiet", "--no_download", "--data_dir",
                   str(tmp_path / "nothing"), "--logdir", str(tmp_path / "run")])
    assert status == 1
    err = capsys.readouterr().err
    # one error, no traceback; the data layer's message lists its places on further lines
    errors = [line for line in err.splitlines() if line.startswith("descend lab: error:")]
    assert errors == ["descend lab: error: MNIST was not found. Looked in, in this order:"], err
    assert "Traceback" not in err and err.rstrip().endswith("See docs/data.md.")


def test_cli_rejects_an_unknown_experiment(capsys):
    from descend.cli import main

    assert main(["lab", "nonsense"]) == 1
    assert "unknown experiment 'nonsense'" in capsys.readouterr().err


def test_cli_list(capsys):
    from descend.cli import main

    assert main(["lab", "list"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert name in out


def test_run_by_name_and_result(tmp_path):
    result = lab.run("schedules", tmp_path / "s", quick=True, verbose=False, total_steps=50)
    assert isinstance(result, lab.Result) and result.passed and result.quick
    assert result.out_dir == tmp_path / "s"
    assert [p.name for p in result.figures] == ["schedules.png", "schedules_overlay.png"]
    assert json.loads((tmp_path / "s" / "data.json").read_text())["data"]["total_steps"] == 50
    with pytest.raises(ValueError, match="unknown experiment"):
        lab.run("nope")


def test_import_does_not_import_matplotlib():
    code = "import sys, descend, descend.lab, descend.lab.commands; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_filter_normalized_direction():
    from descend.lab.landscape import filter_normalized_direction

    rng = np.random.default_rng(0)
    params = [rng.standard_normal((20, 7)).astype(np.float32), rng.standard_normal(7).astype(np.float32)]
    d = filter_normalized_direction(params, rng)
    np.testing.assert_allclose(np.linalg.norm(d[0], axis=0), np.linalg.norm(params[0], axis=0), rtol=1e-5)
    assert not d[1].any()


def test_legendre_features_are_orthonormal():
    from descend.lab._poly import features

    x = np.linspace(-1, 1, 200_001)
    phi = features(x, 8)
    gram = np.trapezoid(phi[:, :, None] * phi[:, None, :], x, axis=0) / 2
    np.testing.assert_allclose(gram, np.eye(9), atol=1e-6)
    np.testing.assert_allclose(phi[:, 3] / np.sqrt(7), 0.5 * (5 * x**3 - 3 * x))


def test_nll_formulas_against_the_densities():
    from descend.lab.mle import nll_bernoulli, nll_categorical, nll_normal

    rng = np.random.default_rng(1)
    y, mu, var = rng.standard_normal(5), rng.standard_normal(5), rng.uniform(0.5, 2, 5)
    density = np.exp(-(y - mu) ** 2 / (2 * var)) / np.sqrt(2 * np.pi * var)
    assert nll_normal(y, mu, var) == pytest.approx(-np.mean(np.log(density)))
    z, b = rng.standard_normal(6), rng.integers(0, 2, 6)
    p = 1 / (1 + np.exp(-z))
    assert nll_bernoulli(b, z) == pytest.approx(-np.mean(b * np.log(p) + (1 - b) * np.log(1 - p)))
    logits, c = rng.standard_normal((4, 3)), rng.integers(0, 3, 4)
    soft = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert nll_categorical(c, logits) == pytest.approx(-np.mean(np.log(soft[np.arange(4), c])))


def test_markdown_to_html():
    from descend.lab.report import markdown_to_html

    html = markdown_to_html("# T\n\nsome `code` and **bold** <x>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
                            "- [x] fine\n- [ ] broken\n\n![f](f.png)\n", heading_offset=1)
    assert "<h2>T</h2>" in html and "<code>code</code>" in html and "<strong>bold</strong>" in html
    assert "&lt;x&gt;" in html and "<td>1</td><td>2</td>" in html and "<th>a</th>" in html
    assert "FAILED" in html and "f.png" not in html
