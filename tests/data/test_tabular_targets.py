"""Regression targets are standardised with the training split's float64 statistics, stored
with the schema and inverted by ``schema.decode_target``; a target that silently changes the
task is announced in ``splits.notes``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from descend.data import TabularSchema, load_dataset, load_tabular


def write(path: Path, header: str, rows: list[list[object]]) -> Path:
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def houses(tmp_path: Path, n: int = 200) -> tuple[Path, np.ndarray]:
    rng = np.random.default_rng(5)
    size = rng.uniform(40, 160, n).round(1)
    price = (60_000 + 1_500 * size + rng.normal(0, 5_000, n)).round(0)
    return write(tmp_path / "houses.csv", "size,price", list(zip(size, price))), price


def test_regression_targets_are_standardised_with_training_statistics(tmp_path: Path):
    path, price = houses(tmp_path)
    splits = load_tabular(path, "price", seed=1)
    train_rows = np.sort(np.random.default_rng(1).permutation(len(price))[:160])
    y_train = price[train_rows]  # float64, exactly as in the file
    stats = splits.schema.target_standardizer
    assert stats.mean.dtype == np.float64
    np.testing.assert_allclose(stats.mean, [y_train.mean()], rtol=1e-15)
    np.testing.assert_allclose(stats.std, [y_train.std()], rtol=1e-14)
    assert abs(float(splits.train.y.mean())) < 1e-6 and abs(float(splits.train.y.std()) - 1) < 1e-6
    np.testing.assert_allclose(splits.train.y, (y_train - y_train.mean()) / y_train.std(), rtol=1e-6,
                               atol=1e-6)
    # decode_target is the inverse, in float64, for any shape of predictions
    decoded = splits.schema.decode_target(splits.train.y.astype(np.float64))
    np.testing.assert_allclose(decoded, y_train, rtol=1e-7)
    assert splits.schema.decode_target(np.zeros((3, 1))).shape == (3, 1)
    np.testing.assert_allclose(splits.schema.decode_target(np.zeros(2)), [y_train.mean()] * 2, rtol=1e-15)
    assert splits.notes == []  # the default, no surprise: not worth a note


def test_the_statistics_travel_with_the_schema_and_new_data_is_encoded_alike(tmp_path: Path):
    path, price = houses(tmp_path)
    splits = load_tabular(path, "price", dev_fraction=0, test_fraction=0)
    stored = json.loads(json.dumps(splits.schema.to_dict()))
    assert stored["target_standardizer"] == splits.schema.target_standardizer.to_dict()
    restored = TabularSchema.from_dict(stored)
    assert restored == splits.schema
    again = restored.load(path)  # the predict/evaluate path
    np.testing.assert_array_equal(again.y, splits.train.y)
    np.testing.assert_allclose(restored.decode_target(again.y), price, rtol=1e-7)


def test_a_schema_stored_by_an_older_version_loads_without_target_statistics(tmp_path: Path):
    path, price = houses(tmp_path)
    old = load_tabular(path, "price").schema.to_dict()
    del old["target_standardizer"], old["categories"]
    schema = TabularSchema.from_dict(old)
    assert schema.target_standardizer is None and schema.categories == {}
    np.testing.assert_array_equal(schema.decode_target(np.array([1.5, 2.0])), [1.5, 2.0])


def test_standardising_the_target_can_be_turned_off(tmp_path: Path):
    path, price = houses(tmp_path)
    for options in ({"standardize_target": False}, {"standardize": False}):
        splits = load_dataset(path, target="price", dev_fraction=0, test_fraction=0, **options)
        assert splits.schema.target_standardizer is None
        np.testing.assert_array_equal(splits.train.y, price.astype(np.float32))
    on = load_tabular(path, "price", standardize=False, standardize_target=True)
    assert on.schema.standardizer is None and on.schema.target_standardizer is not None


def test_classification_targets_are_not_standardised(tmp_path: Path):
    path = write(tmp_path / "c.csv", "a,y", [[i, i % 3] for i in range(30)])
    splits = load_tabular(path, "y")
    assert splits.task == "multiclass" and splits.schema.target_standardizer is None
    np.testing.assert_array_equal(splits.schema.decode_target(np.array([2, 0])), [2, 0])


# --------------------------------------------------------------------------- notes


def test_one_minus_one_among_zero_one_labels_is_announced(tmp_path: Path):
    labels = [i % 2 for i in range(100)]
    labels[17] = -1
    path = write(tmp_path / "labels.csv", "a,y", [[i, v] for i, v in enumerate(labels)])
    splits = load_tabular(path, "y")
    assert splits.task == "regression"
    (note,) = [n for n in splits.notes if "treated as regression" in n]
    assert "-1 in 1 row (labels.csv line 19)" in note and "0 in 50 rows" in note
    assert "1 in 49 rows" in note and "task='multiclass' (command line: --task multiclass)" in note
    told = load_tabular(path, "y", task="multiclass")
    assert told.task == "multiclass" and not any("treated as" in n for n in told.notes)


def test_ratings_as_regression_are_announced_but_real_values_are_not(tmp_path: Path):
    ratings = write(tmp_path / "r.csv", "a,y", [[i, 1 + i % 5] for i in range(50)])
    assert any("treated as regression" in n for n in load_tabular(ratings, "y").notes)
    prices = write(tmp_path / "p.csv", "a,y", [[i, 1000 + 7 * i] for i in range(50)])  # 50 values
    assert not any("treated as regression" in n for n in load_tabular(prices, "y").notes)
    real = write(tmp_path / "f.csv", "a,y", [[i, i / 3] for i in range(50)])
    assert not any("treated as regression" in n for n in load_tabular(real, "y").notes)


def test_a_target_with_one_value_is_announced(tmp_path: Path):
    path = write(tmp_path / "ones.csv", "a,y", [[i, 1] for i in range(40)])
    splits = load_tabular(path, "y")
    assert splits.task == "binary"
    assert splits.notes == [
        "target 'y' has the single value 1 in every row: there is nothing to learn (the model can "
        "only predict that value); is 'y' the right column?"
    ]
    constant = write(tmp_path / "c.csv", "a,y", [[i, 2.5] for i in range(40)])
    assert any("single value 2.5" in n for n in load_tabular(constant, "y").notes)


def test_a_class_missing_from_the_training_split_is_announced(tmp_path: Path):
    rows = [[i, "common" if i % 2 else "other"] for i in range(40)] + [[99, "rare"]]
    path = write(tmp_path / "rare.csv", "a,y", rows)
    seed = next(s for s in range(100)
                if 40 not in np.random.default_rng(s).permutation(41)[:33])  # "rare" not in train
    splits = load_tabular(path, "y", seed=seed)
    assert splits.classes == ("common", "other", "rare")
    assert splits.notes == [
        "class 'rare' of target 'y' has no example in the training split (1 row in the file, the "
        "first at rare.csv line 42): the model cannot learn it"
    ]


def test_ordinary_data_has_no_notes(tmp_path: Path):
    path = write(tmp_path / "ok.csv", "a,b,y", [[i, i * i, i % 3] for i in range(60)])
    assert load_tabular(path, "y").notes == []
    assert load_tabular(write(tmp_path / "bin.csv", "a,y", [[i, i % 2] for i in range(60)]), "y").notes == []


def test_image_datasets_have_an_empty_list_of_notes(mnist):
    assert mnist.notes == []
