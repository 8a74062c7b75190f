"""A user's own tables: task inference, standardisation with train statistics, splits, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from descend.data import (
    DataFormatError,
    DatasetNotFoundError,
    Standardizer,
    TabularSchema,
    load_dataset,
    load_tabular,
)


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def table(tmp_path: Path, target_values: list[object], name: str = "data.csv") -> Path:
    rng = np.random.default_rng(7)
    rows = [[f"{rng.normal():.4f}", f"{rng.uniform(0, 100):.3f}", t] for t in target_values]
    return write_csv(tmp_path / name, ["x1", "x2", "target"], rows)


# --------------------------------------------------------------------------- task inference


def test_real_valued_target_is_regression(tmp_path: Path):
    splits = load_tabular(table(tmp_path, [0.5, 1.25, -3, 2, 7.5] * 4), "target")
    assert splits.task == "regression" and splits.classes is None and splits.num_classes is None
    assert splits.train.y.dtype == np.float32 and splits.train.x.dtype == np.float32
    assert splits.schema.task_reason == "real-valued target"


def test_zero_one_target_is_binary(tmp_path: Path):
    splits = load_tabular(table(tmp_path, [0, 1, 1, 0, 1] * 4), "target")
    assert splits.task == "binary" and splits.classes == (0, 1)
    assert splits.train.y.dtype == np.float32
    assert set(np.unique(splits.train.y)) == {0.0, 1.0}


def test_integer_classes_are_multiclass(tmp_path: Path):
    splits = load_tabular(
        table(tmp_path, [0, 1, 2, 3] * 5), "target", dev_fraction=0, test_fraction=0
    )
    assert splits.task == "multiclass" and splits.classes == (0, 1, 2, 3)
    assert splits.train.y.dtype == np.int64
    np.testing.assert_array_equal(splits.train.y, [0, 1, 2, 3] * 5)
    assert splits.dev is None and splits.test is None


def test_decimal_point_means_real_valued(tmp_path: Path):
    splits = load_tabular(table(tmp_path, ["0.0", "1.0", "2.0"] * 4), "target")
    assert splits.task == "regression"


def test_integers_not_0_to_k_are_regression_unless_told(tmp_path: Path):
    path = table(tmp_path, [1, 2, 3, 4, 5] * 4)
    inferred = load_tabular(path, "target")
    assert inferred.task == "regression"
    assert "task='multiclass'" in inferred.schema.task_reason
    told = load_tabular(path, "target", task="multiclass", dev_fraction=0, test_fraction=0)
    assert told.task == "multiclass" and told.classes == (1, 2, 3, 4, 5)
    np.testing.assert_array_equal(told.train.y, [0, 1, 2, 3, 4] * 4)
    np.testing.assert_array_equal(told.schema.decode_target(told.train.y[:5]), [1, 2, 3, 4, 5])


def test_string_labels(tmp_path: Path):
    labels = ["setosa", "virginica", "versicolor", "setosa"] * 5
    splits = load_tabular(table(tmp_path, labels), "target", dev_fraction=0, test_fraction=0)
    assert splits.task == "multiclass"
    assert splits.classes == ("setosa", "versicolor", "virginica")
    np.testing.assert_array_equal(splits.train.y, [0, 2, 1, 0] * 5)
    assert list(splits.schema.decode_target(np.array([2, 0]))) == ["virginica", "setosa"]
    two = load_tabular(
        table(tmp_path, ["yes", "no", "no"] * 5, "two.csv"),
        "target",
        dev_fraction=0,
        test_fraction=0,
    )
    assert two.task == "binary" and two.classes == ("no", "yes")
    np.testing.assert_array_equal(two.train.y, np.array([1, 0, 0] * 5, dtype=np.float32))


def test_task_override_errors(tmp_path: Path):
    with pytest.raises(
        DataFormatError, match="task='binary' needs a target with two distinct values"
    ):
        load_tabular(table(tmp_path, [0, 1, 2] * 5), "target", task="binary")
    with pytest.raises(DataFormatError, match="task='regression' needs a numeric target"):
        load_tabular(table(tmp_path, ["a", "b"] * 5, "s.csv"), "target", task="regression")
    with pytest.raises(ValueError, match="task must be one of"):
        load_tabular(table(tmp_path, [0, 1] * 5, "t.csv"), "target", task="classification")
    # two values that are not 0/1 may be binary when asked
    splits = load_tabular(
        table(tmp_path, [3, 7] * 5, "u.csv"),
        "target",
        task="binary",
        dev_fraction=0,
        test_fraction=0,
    )
    assert splits.classes == (3, 7)
    np.testing.assert_array_equal(splits.train.y, [0.0, 1.0] * 5)


# --------------------------------------------------------------------------- standardisation and splits


def test_standardisation_uses_training_statistics_only(tmp_path: Path):
    rng = np.random.default_rng(0)
    train_raw = rng.normal([10.0, -5.0, 3.0], [2.0, 0.5, 0.0], size=(40, 3))
    dev_raw = rng.normal([100.0, 50.0, 3.0], [1.0, 1.0, 0.0], size=(10, 3))  # far away
    train_y, dev_y = rng.normal(size=40), rng.normal(size=10)
    train_file = write_csv(
        tmp_path / "train.csv", ["a", "b", "c", "y"], [[*r, t] for r, t in zip(train_raw, train_y)]
    )
    dev_file = write_csv(
        tmp_path / "dev.csv", ["y", "c", "b", "a"], [[t, *r[::-1]] for r, t in zip(dev_raw, dev_y)]
    )
    splits = load_tabular(train_file, "y", dev=dev_file, test_fraction=0)
    assert splits.test is None and len(splits.train) == 40 and len(splits.dev) == 10
    raw_train = np.array([[float(f"{v}") for v in row] for row in train_raw])
    mean, std = raw_train.mean(axis=0), raw_train.std(axis=0)
    std[2] = 1.0  # constant feature: std 0 -> 1
    np.testing.assert_allclose(splits.schema.standardizer.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(splits.schema.standardizer.std, std, rtol=1e-12)
    np.testing.assert_allclose(splits.train.x, (raw_train - mean) / std, atol=1e-5)
    np.testing.assert_allclose(
        splits.dev.x, (dev_raw - mean) / std, rtol=1e-5
    )  # columns reordered in the file
    assert np.all(splits.train.x[:, 2] == 0.0)
    assert abs(splits.dev.x[:, 0].mean()) > 10  # not re-centred on its own statistics
    # the regression target too is standardised with the training split's statistics only
    y_mean, y_std = train_y.mean(), train_y.std()
    np.testing.assert_allclose(splits.schema.target_standardizer.mean, [y_mean], rtol=1e-12)
    np.testing.assert_allclose(splits.dev.y, (dev_y - y_mean) / y_std, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(splits.schema.decode_target(splits.dev.y), dev_y, rtol=1e-5, atol=1e-6)


def test_fraction_split_is_seeded_disjoint_and_complete(tmp_path: Path):
    n = 50
    rows = [[i, i % 2] for i in range(n)]
    path = write_csv(tmp_path / "ids.csv", ["id", "label"], rows)

    def ids(splits, part):
        data = getattr(splits, part)
        return np.round(splits.schema.standardizer.inverse_transform(data.x)[:, 0]).astype(int)

    a = load_tabular(path, "label", dev_fraction=0.2, test_fraction=0.1, seed=1)
    assert (len(a.train), len(a.dev), len(a.test)) == (35, 10, 5)
    parts = [ids(a, p) for p in ("train", "dev", "test")]
    assert sorted(np.concatenate(parts)) == list(range(n))
    assert all(list(p) == sorted(p) for p in parts)  # file order kept within a split
    for part, values in zip(("train", "dev", "test"), parts):
        np.testing.assert_array_equal(getattr(a, part).y, values % 2)
    b = load_tabular(path, "label", dev_fraction=0.2, test_fraction=0.1, seed=1)
    c = load_tabular(path, "label", dev_fraction=0.2, test_fraction=0.1, seed=2)
    np.testing.assert_array_equal(ids(a, "dev"), ids(b, "dev"))
    assert not np.array_equal(ids(a, "dev"), ids(c, "dev"))
    with pytest.raises(ValueError, match="dev_fraction must be in"):
        load_tabular(path, "label", dev_fraction=1.5)
    with pytest.raises(ValueError, match="below 1"):
        load_tabular(path, "label", dev_fraction=0.5, test_fraction=0.5)
    with pytest.raises(ValueError, match="either dev="):
        load_tabular(path, "label", dev=path, dev_fraction=0.2)


def test_npz_table_with_columns_blocks_and_text_target(tmp_path: Path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(30, 3))
    path = tmp_path / "table.npz"
    np.savez(path, x=x, age=np.arange(30), species=np.array(["a", "b", "c"] * 10))
    splits = load_tabular(path, "species", dev_fraction=0, test_fraction=0, standardize=False)
    assert splits.schema.features == ("x[0]", "x[1]", "x[2]", "age")
    assert splits.task == "multiclass" and splits.classes == ("a", "b", "c")
    np.testing.assert_allclose(splits.train.x[:, :3], x, rtol=1e-6)
    np.testing.assert_array_equal(splits.train.x[:, 3], np.arange(30))
    assert splits.schema.standardizer is None
    np.savez(tmp_path / "bin.npz", f=x[:, 0], y=np.array([True, False] * 15))
    assert load_tabular(tmp_path / "bin.npz", "y").task == "binary"


def test_schema_transforms_new_data_and_round_trips(tmp_path: Path):
    train = write_csv(
        tmp_path / "train.csv", ["a", "b", "cls"], [[i, 2 * i, "xyz"[i % 3]] for i in range(30)]
    )
    splits = load_tabular(train, "cls")
    schema = splits.schema
    predict = write_csv(tmp_path / "new.csv", ["b", "a", "id"], [[4, 2, "p"], [60, 30, "q"]])
    data = schema.load(predict)
    assert data.y is None
    expected = (
        np.array([[2.0, 4.0], [30.0, 60.0]]) - schema.standardizer.mean
    ) / schema.standardizer.std
    np.testing.assert_allclose(data.x, expected, rtol=1e-6)
    with pytest.raises(DataFormatError, match="no target column 'cls'"):
        schema.load(predict, require_target=True)
    unknown = write_csv(tmp_path / "unknown.csv", ["a", "b", "cls"], [[1, 2, "x"], [1, 2, "w"]])
    with pytest.raises(DataFormatError, match="'w' is not one of the classes"):
        schema.load(unknown)
    restored = TabularSchema.from_dict(json.loads(json.dumps(schema.to_dict())))
    assert restored == schema
    np.testing.assert_array_equal(restored.load(predict).x, data.x)
    assert Standardizer.from_dict(schema.standardizer.to_dict()) == schema.standardizer


def test_load_dataset_dispatches_files(tmp_path: Path):
    path = table(tmp_path, [0, 1] * 10)
    assert load_dataset(path, target="target").task == "binary"
    assert load_dataset(str(path), target="target", task="regression", seed=3).task == "regression"
    with pytest.raises(DataFormatError, match="needs the name of its target column"):
        load_dataset(path)
    with pytest.raises(DatasetNotFoundError, match="neither a known dataset"):
        load_dataset("cifar-10")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "content, target, message",
    [
        ("a,b,y\n1,2,3\n", "z", r"no target column 'z'; the columns are 'a', 'b', 'y'"),
        (
            "a,b,y\n1,red,3\n2,blue,4\n3,green,5\n",
            "y",
            r"feature column 'b' is text with 3 distinct values in 3 rows .* drop=\['b'\] "
            r"\(command line: --drop b\)",
        ),
        (
            "a,b,y\n1,2,3\n2,,4\n",
            "y",
            r"feature column 'b' is not numeric: a missing value at bad.csv line 3",
        ),
        (
            "a,b,y\n1,2,3\n2,nan,4\n",
            "y",
            r"feature column 'b' has 1 NaN/infinite value\(s\), the first \(NaN \(missing\)\) at bad.csv line 3",
        ),
        (
            "a,b,y\n1,inf,3\n2,1,4\n",
            "y",
            r"feature column 'b' has 1 NaN/infinite value\(s\), the first \(infinite\) at bad.csv line 2",
        ),
        ("a,b,y\n1,2,3\n2,1,nan\n", "y", r"target column 'y' has 1 NaN/infinite"),
        (
            "a,b,y\n1,2,3\n2,1,\n",
            "y",
            r"target column 'y' has 1 missing \(empty\) value\(s\), the first at bad.csv line 3",
        ),
        (
            "a,b,y\n1,2,3\n2,1,NA\n",
            "y",
            r"mixes numbers .* and a missing value \('NA'\) at bad.csv line 3",
        ),
        ("", "y", "the file is empty"),
        ("  \n\n", "y", "the file is empty"),
        ("a,b,y\n", "y", "has a header line but no data rows"),
        ("a,b,y\n1,2\n", "y", "line 2: 2 fields, but the header has 3"),
        ("a,a,y\n1,2,3\n", "y", "names column 'a' twice"),
        ("y\n1\n2\n", "y", "no feature columns besides the target 'y'"),
        ("a,b,y\n1,2,k\n3,4,k\n", "y", "single label 'k'"),
    ],
)
def test_bad_csv_input(tmp_path: Path, content: str, target: str, message: str):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataFormatError, match=message):
        load_tabular(path, target)


def test_file_errors(tmp_path: Path):
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_tabular(tmp_path / "missing.csv", "y")
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(DataFormatError, match="unsupported file type"):
        load_tabular(tmp_path / "data.xlsx", "y")
    np.savez(tmp_path / "ragged.npz", a=np.zeros(3), y=np.zeros(4))
    with pytest.raises(DataFormatError, match="different numbers of rows"):
        load_tabular(tmp_path / "ragged.npz", "y")
    np.savez(tmp_path / "objects.npz", a=np.zeros(3), y=np.array([{}, {}, {}], dtype=object))
    with pytest.raises(DataFormatError, match="holds Python objects"):
        load_tabular(tmp_path / "objects.npz", "y")
    write_csv(tmp_path / "few.csv", ["a", "y"], [[1, 0.5], [2, 1.5]])
    with pytest.raises(DataFormatError, match="leave no training rows"):
        load_tabular(tmp_path / "few.csv", "y", dev_fraction=0.4, test_fraction=0.4)
    with pytest.raises(DataFormatError, match=r"no feature column\(s\) 'c'"):
        load_tabular(tmp_path / "few.csv", "y", features=["c"])
