"""Huge values are standardised in float64 instead of zeroing a column; statistics that are not
finite are refused when a schema is loaded; NaN and infinity in the data are reported where
they are (column and row), never left for training to blame on the learning rate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from descend.data import DataFormatError, Standardizer, TabularSchema, load_tabular


def write(path: Path, header: str, rows: list[list[object]]) -> Path:
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_a_value_of_1e308_does_not_zero_its_column(tmp_path: Path):
    a = [1.0, 2.0, 3.0, 1e308, 5.0, 6.0]
    path = write(tmp_path / "big.csv", "a,b,y", [[v, i, i * 0.5] for i, v in enumerate(a)])
    splits = load_tabular(path, "y", dev_fraction=0, test_fraction=0)
    column = splits.train.x[:, 0].astype(np.float64)
    # standardisation does not depend on the scale: the same column divided by 1e300
    small = np.array(a) / 1e300
    expected = (small - small.mean()) / small.std()
    np.testing.assert_allclose(column, expected, rtol=1e-6)
    assert column[3] > 2 and np.ptp(column) > 2  # not all zero
    stats = splits.schema.standardizer
    assert np.isfinite(stats.mean).all() and np.isfinite(stats.std).all()


def test_values_near_both_ends_of_float64(tmp_path: Path):
    x = np.array([[-1.7e308], [1.7e308], [0.0], [1.0]])
    fitted = Standardizer.fit(x)
    np.testing.assert_allclose(fitted.transform(x)[:, 0], (x[:, 0] / 1e308 - (x[:, 0] / 1e308).mean())
                               / (x[:, 0] / 1e308).std(), rtol=1e-6, atol=1e-6)
    # ordinary data: exactly the textbook formula (no change for anyone's existing runs)
    ordinary = np.random.default_rng(0).normal(3, 2, (50, 4))
    plain = Standardizer.fit(ordinary)
    np.testing.assert_array_equal(plain.mean, ordinary.mean(axis=0))
    np.testing.assert_array_equal(plain.std, ordinary.std(axis=0))


def test_a_regression_target_of_1e308_is_standardised(tmp_path: Path):
    path = write(tmp_path / "t.csv", "a,y", [[i, 1e308 if i == 3 else i] for i in range(10)])
    splits = load_tabular(path, "y", dev_fraction=0, test_fraction=0)
    assert np.isfinite(splits.train.y).all() and splits.train.y[3] > 2
    np.testing.assert_allclose(splits.schema.decode_target(splits.train.y.astype(np.float64))[3], 1e308,
                               rtol=1e-6)
    with pytest.raises(DataFormatError, match=r"column 'y' at t.csv line 5: the value 1e\+308 does not "
                       r"fit float32 .* standardize_target=True"):
        load_tabular(path, "y", standardize_target=False)


def test_unstandardised_features_beyond_float32_are_refused(tmp_path: Path):
    path = write(tmp_path / "f.csv", "a,b,y", [[i, 1e39 if i == 4 else i, i] for i in range(10)])
    with pytest.raises(DataFormatError, match=r"column 'b' at f.csv line 6: the value 1e\+39 does not "
                       r"fit float32 .* standardize=True"):
        load_tabular(path, "y", standardize=False, dev_fraction=0, test_fraction=0)


def test_a_dev_value_that_overflows_after_standardisation_is_refused(tmp_path: Path):
    train = write(tmp_path / "train.csv", "a,y", [[1e-150 * (i % 2), i] for i in range(10)])
    dev = write(tmp_path / "dev.csv", "a,y", [[0, 1], [1.0, 2]])
    with pytest.raises(DataFormatError, match=r"column 'a' at dev.csv line 3: the value 1 is 2e\+150 "
                       r"standard deviations from the training mean"):
        load_tabular(train, "y", dev=dev, test_fraction=0)


@pytest.mark.parametrize(
    "statistics, message",
    [
        ({"mean": [0.0, 1.0], "std": [1.0, float("inf")]}, r"column 'b' are mean=1.0, std=inf"),
        ({"mean": [float("nan"), 1.0], "std": [1.0, 1.0]}, r"column 'a' are mean=nan"),
        ({"mean": [0.0, 1.0], "std": [1.0, 0.0]}, r"column 'b' are .* std=0.0"),
        ({"mean": [0.0, 1.0], "std": [1.0, -2.0]}, r"column 'b' .* finite and positive"),
        ({"mean": [0.0], "std": [1.0]}, r"for 1 columns, but there are 2 \('a', 'b'\)"),
        ({"mean": "x", "std": [1.0]}, r"malformed|shapes"),
    ],
)
def test_stored_statistics_that_are_not_finite_are_refused(tmp_path: Path, statistics, message):
    path = write(tmp_path / "d.csv", "a,b,y", [[i, i * i, i * 0.5] for i in range(20)])
    stored = load_tabular(path, "y").schema.to_dict()
    stored["standardizer"] = statistics
    text = json.dumps(stored)  # as in a checkpoint (json writes Infinity/NaN)
    with pytest.raises(DataFormatError, match=r"the stored table schema is damaged: .*" + message):
        TabularSchema.from_dict(json.loads(text))
    with pytest.raises(ValueError, match=message):
        Standardizer.from_dict(statistics, names=["a", "b"])


def test_stored_target_statistics_and_other_damage_are_refused(tmp_path: Path):
    path = write(tmp_path / "d.csv", "a,y", [[i, i * 0.5] for i in range(20)])
    good = load_tabular(path, "y").schema.to_dict()
    cases = [
        ({"target_standardizer": {"mean": [0.0], "std": [float("inf")]}}, r"column 'y' are mean=0.0, std=inf"),
        ({"task": "clustering"}, r"unknown task 'clustering'"),
        ({"classes": [0, 1]}, r"a regression schema with classes"),
        ({"features": "a"}, r"features must be a list of column names"),
        ({"categories": {"zz": ["p"]}}, r"categories for 'zz', which is not a feature"),
    ]
    for change, message in cases:
        with pytest.raises(DataFormatError, match=r"the stored table schema is damaged: .*" + message):
            TabularSchema.from_dict({**good, **change})
    missing = dict(good)
    del missing["target"]
    with pytest.raises(DataFormatError, match=r"damaged: no entry 'target'"):
        TabularSchema.from_dict(missing)


@pytest.mark.parametrize(
    "cell, kind",
    [("nan", r"NaN \(missing\)"), ("inf", "infinite"), ("-inf", "infinite"), ("1e309", "infinite")],
)
def test_nan_and_infinity_in_a_feature_are_reported_by_column_and_line(tmp_path: Path, cell, kind):
    rows = [[i, cell if i == 6 else i * 0.1, i] for i in range(10)]
    path = write(tmp_path / "n.csv", "a,b,y", rows)
    with pytest.raises(DataFormatError, match=rf"feature column 'b' has 1 NaN/infinite value\(s\), "
                       rf"the first \({kind}\) at n.csv line 8"):
        load_tabular(path, "y")
    # in data to predict as well, where the training data was clean
    clean = write(tmp_path / "clean.csv", "a,b,y", [[i, i * 0.1, i] for i in range(10)])
    schema = load_tabular(clean, "y").schema
    with pytest.raises(DataFormatError, match=r"feature column 'b' .* at n.csv line 8"):
        schema.load(path)


def test_nan_in_an_npz_table_and_in_a_target(tmp_path: Path):
    npz = tmp_path / "t.npz"
    np.savez(npz, a=np.array([1.0, 2.0, np.inf, 4.0]), y=np.arange(4.0))
    with pytest.raises(DataFormatError, match=r"feature column 'a' .* \(infinite\) at t.npz row 2"):
        load_tabular(npz, "y")
    target = write(tmp_path / "t.csv", "a,y", [[i, "nan" if i == 2 else i * 0.5] for i in range(6)])
    with pytest.raises(DataFormatError, match=r"target column 'y' .* \(NaN \(missing\)\) at t.csv line 4"):
        load_tabular(target, "y")
