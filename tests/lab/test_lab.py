"""descend.lab: every experiment's quick mode shows its qualitative result.

The experiments ran once, through ``descend lab all --quick`` (the ``quick_run`` fixture); these
tests assert on the numbers they wrote, recomputing each claim from the data rather than only
trusting the experiment's own ``checks``.
"""

from __future__ import annotations

import json
import subprocess
import sys

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


def test_cli_missing_mnist_is_one_clear_error(tmp_path, monkeypatch, capsys):
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
    code = "import sys, descend, descend.lab, descend.cli.lab; print('matplotlib' in sys.modules)"
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

    html = markdown_to_html("# T\n\nsome `code` and **bold** <x>, the MLE *is* biased\n\n"
                            "| a | \\|\\|w\\|\\| |\n|---|---|\n| 1 | 2 |\n\n"
                            "- [x] fine\n- [ ] broken\n\n![f](f.png)\n", heading_offset=1)
    assert "<h2>T</h2>" in html and "<code>code</code>" in html and "<strong>bold</strong>" in html
    assert "<em>is</em>" in html and "*is*" not in html  # emphasis is rendered, not literal
    assert "&lt;x&gt;" in html and "<td>1</td>" in html and "<td>2</td>" in html
    assert "<th>a</th>" in html and "<th>||w||</th>" in html  # the escaped pipes stay in one cell
    assert "FAILED" in html and "f.png" not in html


def test_md_table_escapes_pipes_so_the_table_renders():
    from descend.lab._common import md_table
    from descend.lab.report import markdown_to_html

    html = markdown_to_html(md_table(["lambda", "||w||"], [[0.1, 2.5], ["a|b", 3]]))
    assert html.count("<tr>") == 3 and "<th>||w||</th>" in html and "<td>a|b</td>" in html


# ------------------------------------------------------------------ the new experiments
def test_gd_variants_gradient_variance_is_trace_sigma_over_m(quick_run):
    data = quick_run.data("gd-variants")["data"]
    m = np.array(data["batch_sizes"])
    measured = np.array(data["measured_sq_error"])
    assert m[0] == 1 and m[-1] >= 256
    np.testing.assert_allclose(data["theory_sq_error"], data["trace_sigma"] / m)
    np.testing.assert_allclose(measured, data["trace_sigma"] / m, rtol=0.2)
    slope = np.polyfit(np.log(m), np.log(measured), 1)[0]
    assert abs(slope + 1) < 0.1
    one = data["excess_loss_after_one_epoch"]
    batch, mini, online = (one[k] for k in data["batch"])  # batch GD, minibatch, online
    assert mini < batch and online < batch
    ms = data["ms_per_epoch"]
    assert ms["minibatch SGD (m = 32)"] < ms["online SGD (m = 1)"]


def test_optimizer_internals_follow_the_lectures_derivations(quick_run):
    data = quick_run.data("optimizer-internals")["data"]
    alpha = data["alpha"]
    for v in ("lecture", "pytorch"):
        steps = np.array(data["adagrad_step"][v])
        t = np.arange(1, len(steps) + 1)[:, None]
        np.testing.assert_allclose(steps, np.broadcast_to(alpha / np.sqrt(t), steps.shape), rtol=1e-5)
        beta = data["rmsprop_beta"][v]
        assert data["rmsprop_first_r_over_g2"][v] == pytest.approx(1 - beta, abs=1e-12)
        weights = np.array(data["adam_weights"][v])
        b1 = data["adam_beta1"]
        i = np.arange(1, len(weights) + 1)
        np.testing.assert_allclose(weights, (1 - b1) * b1 ** (len(weights) - i), atol=1e-12)
        np.testing.assert_allclose(data["adam_weight_sums"][v], 1 - b1 ** i, atol=1e-12)
        assert data["adam0_vs_bias_corrected_rmsprop"][v] < 1e-9
        assert np.max(np.abs(np.array(data["adam_shat"][v]) - 1)) < 0.05
        assert data["adam_s"][v][0] == pytest.approx(0.1, abs=0.01)
    assert data["rmsprop_beta"] == {"lecture": 0.9, "pytorch": 0.99}
    assert data["nesterov_max_difference"] < 1e-12


def test_mle_properties_consistency_and_efficiency(quick_run):
    data = quick_run.data("mle-properties")["data"]
    assert data["fit_max_difference"] < 1e-4
    p = np.array(data["p_mu"])
    assert p[0] > 0.3 and p[-1] < 0.01
    assert np.all(np.abs(p - np.array(data["p_mu_exact"])) < 0.1)
    sizes = np.array(data["sizes"])
    normal = data["m_mse"]["normal"]
    cr = data["cramer_rao"]["normal"]
    np.testing.assert_allclose(normal["mean"], cr, rtol=0.1)
    ratio = np.array(normal["median"]) / np.array(normal["mean"])
    assert np.all(ratio[sizes >= 20] > 1.3)
    assert ratio[-1] == pytest.approx(np.pi / 2, rel=0.1)
    laplace = data["m_mse"]["laplace"]
    assert np.all((np.array(laplace["mean"]) > np.array(laplace["median"]))[sizes >= 20])


def test_curvature_power_iteration_and_the_stable_rate(quick_run):
    data = quick_run.data("curvature")["data"]
    q, n = data["quadratic"], data["network"]
    assert q["lambda_max_power"] == pytest.approx(max(q["eigenvalues"]), rel=1e-6)
    assert n["lambda_max_power"] == pytest.approx(n["lambda_max_full"], rel=1e-3)
    assert n["lambda_max_full"] == pytest.approx(max(n["spectrum"]))
    for c in ("0.5", "0.9"):
        losses = np.array(q["losses"][c])
        assert losses[-1] < 1e-3 * losses[0]
        net = np.array(n["losses"][c])
        assert net.max() <= net[0] * (1 + 1e-9)
    for c in ("1.1", "1.5"):
        losses = [v for v in q["losses"][c] if v is not None]
        assert losses[-1] > 1e6 * losses[0]
        assert max(n["losses"][c]) > 10 * n["losses"][c][0]


def test_schedule_training_rates_and_the_benefit_of_decay(quick_run):
    from descend.optim import schedules as S

    data = quick_run.data("schedule-training")["data"]
    total, lr = data["total_updates"], data["lr"]
    expected = {"constant": S.constant(lr), "linear": S.linear(lr, 0.0, total),
                "exponential": S.exponential(lr, final=lr / 100, total_steps=total),
                "cosine": S.cosine(lr, total), "inverse_sqrt": S.inverse_sqrt(lr)}
    for name, schedule in expected.items():
        used = data["lr_per_update"][name]
        assert len(used) == total
        np.testing.assert_allclose(used, [schedule(t) for t in range(total)], rtol=1e-12)
    final = data["final_dev_accuracy"]
    assert max(v for k, v in final.items() if k != "constant") > final["constant"]
    assert final["inverse_sqrt"] < min(final["constant"], final["cosine"])


def test_residual_landscape_is_smoother_with_skip_connections(quick_run):
    from descend.lab.residual_landscape import surface_roughness

    data = quick_run.data("residual-landscape")["data"]
    plain = surface_roughness(np.array(data["plain_surface"]))
    residual = surface_roughness(np.array(data["residual_surface"]))
    assert plain["nonconvex_fraction"] == data["plain_nonconvex_fraction"]
    assert plain["nonconvex_fraction"] > residual["nonconvex_fraction"]
    assert data["residual_epoch_loss"][-1] < data["plain_epoch_loss"][-1]
    assert np.max(data["plain_surface"]) > 10 * np.max(data["residual_surface"])


def test_surface_roughness_on_known_surfaces():
    from descend.lab.residual_landscape import surface_roughness

    a, b = np.meshgrid(np.linspace(-1, 1, 21), np.linspace(-1, 1, 21))
    bowl = surface_roughness(a**2 + 2 * b**2)
    assert bowl == {"nonconvex_fraction": 0.0, "local_minima": 1}
    egg = surface_roughness(np.cos(6 * a) * np.cos(6 * b) + a**2)
    assert egg["nonconvex_fraction"] > 0.3 and egg["local_minima"] >= 4


def test_double_descent_heatmap_training_time_and_label_noise(quick_run):
    data = quick_run.data("double-descent")["data"]
    heat = np.array(data["heatmap_test_error"])
    assert heat.shape == (len(data["widths"]), len(data["heatmap_steps"]))
    j = data["widths"].index(data["threshold_width"])
    curve = heat[j]
    best = int(np.argmin(curve))
    assert curve[best:].max() - curve[best] > 0.05  # falls, then rises as the noise is fitted
    assert curve[-1] == pytest.approx(data["test_error"][j])  # the heat map ends at the result
    peaks = np.array(data["noise_peaks"])
    assert list(data["noise_levels"]) == sorted(data["noise_levels"])
    assert np.all(np.diff(peaks) > 0)


def test_double_descent_noise_sweep_at_its_own_level_is_the_first_repetition(quick_run):
    data = quick_run.data("double-descent")["data"]
    widths, noise_widths = data["widths"], data["noise_widths"]
    first = np.array(data["test_error_runs"][0])
    own = np.array(data["noise_test_error"][str(data["label_noise"])])
    assert own.tolist() == first[[widths.index(p) for p in noise_widths]].tolist()


def test_double_descent_features_of_width_p_are_the_widest_layers_first_p_units():
    from descend.lab.double_descent import RandomFeatures

    rng = np.random.default_rng(0)
    x, x_test = rng.random((30, 12)).astype(np.float32), rng.random((7, 12)).astype(np.float32)
    weights = rng.standard_normal((12, 20)).astype(np.float32)
    layer = RandomFeatures(x, x_test, weights)
    mu = x.mean(axis=0)
    for p in (1, 5, 20):
        f_train, f_test = layer.features(p)
        raw, raw_test = (np.maximum((v - mu) @ weights[:, :p], 0.0) for v in (x, x_test))
        c = raw.mean(axis=0)
        s = np.linalg.norm(raw - c, 2) / np.sqrt(len(x))
        np.testing.assert_allclose(f_train, (raw - c) / s, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(f_test, (raw_test - c) / s, rtol=1e-5, atol=1e-6)
        assert np.linalg.norm(f_train, 2) == pytest.approx(np.sqrt(len(x)), rel=1e-5)


def test_trajectories_sgd_zigzags_where_momentum_follows_the_valley(quick_run):
    data = quick_run.data("trajectories")["data"]
    assert data["paths_every"]["quadratic"] == 1
    sgd = np.array(data["paths"]["quadratic"]["SGD"])[:21, 1]
    momentum = np.array(data["paths"]["quadratic"]["Momentum"])[:21, 1]
    crossings = lambda y: int(np.sum(np.sign(y[1:]) != np.sign(y[:-1])))
    assert crossings(sgd) >= 15  # across the valley floor at nearly every step
    assert crossings(momentum) <= 3
    assert data["functions"]["quadratic"]["lr"]["Momentum"] == pytest.approx(
        0.1 * data["functions"]["quadratic"]["lr"]["SGD"])


def test_gif_keeps_every_optimizers_colour(quick_run):
    from matplotlib.colors import to_rgb
    from PIL import Image

    from descend.lab.trajectories import COLORS

    with Image.open(quick_run.dir("trajectories") / "trajectories.gif") as im:
        im.seek(im.n_frames - 1)
        pixels = np.asarray(im.convert("RGB")).reshape(-1, 3)
    colours = {tuple(c) for c in np.unique(pixels, axis=0)}
    for name, colour in COLORS.items():
        assert tuple(int(round(255 * c)) for c in to_rgb(colour)) in colours, name


def test_report_names_the_lecture_slide_claim_and_function(quick_run):
    report = (quick_run.root / "report.html").read_text()
    for name, entry in lab.LECTURE.items():
        section = report.split(f'<section id="{name}">', 1)[1].split("</section>", 1)[0]
        assert "Lecture:" in section and "Claim checked:" in section
        fn = lab.EXPERIMENTS[name].__name__
        assert f"<code>descend.lab.{fn}</code>" in section
        assert 'href="file://' in section
    assert "<em>" in report or "<strong>" in report
    assert "|---|" not in report  # every markdown table was rendered


# -------------------------------------------------------------- failures and the variant
def test_run_all_goes_on_after_a_failure_and_reports_it(tmp_path, monkeypatch):
    from descend.data import locations

    monkeypatch.delenv("DESCEND_DATA", raising=False)
    monkeypatch.setenv("DESCEND_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(locations, "SYSTEM_DATA_DIRS", ())
    monkeypatch.setattr(locations, "BUNDLED_DATA_DIRS", ())  # as if descend shipped no MNIST
    results, report = lab.run_all(tmp_path / "out", quick=True, verbose=False, download=False,
                                  data_dir=tmp_path / "nothing",
                                  names=["schedules", "landscape", "optimizer-internals"])
    assert [r.name for r in results] == ["schedules", "landscape", "optimizer-internals"]
    assert results[0].passed and results[2].passed
    assert not results[1].passed and "MNIST was not found" in results[1].error
    html = report.read_text()
    assert "FAILED to run" in html and "MNIST was not found" in html
    assert html.count("data:image/png;base64,") == len(results[0].figures) + len(results[2].figures)


def test_cli_all_exits_nonzero_after_running_everything(tmp_path, monkeypatch, capsys):
    from descend.cli import main
    from descend.data import locations

    monkeypatch.delenv("DESCEND_DATA", raising=False)
    monkeypatch.setenv("DESCEND_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(locations, "SYSTEM_DATA_DIRS", ())
    monkeypatch.setattr(locations, "BUNDLED_DATA_DIRS", ())  # as if descend shipped no MNIST
    subset = {k: lab.EXPERIMENTS[k] for k in ("landscape", "schedules")}
    monkeypatch.setattr(lab, "EXPERIMENTS", subset)
    status = main(["lab", "all", "--quick", "--quiet", "--no_download", "--data_dir",
                   str(tmp_path / "nothing"), "--logdir", str(tmp_path / "run")])
    out = capsys.readouterr().out
    assert status == 1
    assert "landscape" in out and "FAILED to run" in out
    assert "schedules" in out and "report:" in out
    assert (tmp_path / "run" / "schedules" / "schedules.png").is_file()


def test_variant_reaches_every_optimizer(tmp_path, monkeypatch):
    from descend.optim import Optimizer

    seen: list[str] = []
    original = Optimizer.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self.variant)

    monkeypatch.setattr(Optimizer, "__init__", spy)
    for name in ("schedules", "estimator-bias", "gd-variants", "robbins-monro", "weight-decay"):
        seen.clear()
        result = lab.run(name, tmp_path / name, quick=True, verbose=False, variant="lecture")
        assert seen and set(seen) == {"lecture"}, name
        assert result.variant == "lecture"
        assert json.loads((tmp_path / name / "data.json").read_text())["variant"] == "lecture"
        assert "Optimizer formulas: lecture" in result.summary
    with pytest.raises(ValueError, match="unknown optimizer variant"):
        lab.run("schedules", tmp_path / "x", quick=True, verbose=False, variant="keras")


def test_cli_variant_option(tmp_path, capsys):
    from descend.cli import main

    status = main(["lab", "optimizer-internals", "--quick", "--quiet", "--variant", "lecture",
                   "--logdir", str(tmp_path / "run")])
    assert status == 0
    assert json.loads((tmp_path / "run" / "data.json").read_text())["variant"] == "lecture"
    capsys.readouterr()
    assert main(["lab", "schedules", "--variant", "keras"]) != 0
    assert "invalid choice: 'keras'" in capsys.readouterr().err
