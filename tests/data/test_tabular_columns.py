"""Choosing a table's columns (features=, drop=, "did you mean"), and text feature columns:
one-hot categories stored with the schema, or a clear error with the way out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from descend.data import DataFormatError, TabularSchema, load_dataset, load_tabular

CITIES = ("Brno", "Praha", "Ostrava")


def houses(path: Path, n: int = 30, city: bool = True) -> Path:
    rng = np.random.default_rng(3)
    header = "size,rooms,city,id,price" if city else "size,rooms,id,price"
    lines = [header]
    for i in range(n):
        size, rooms = 40 + rng.integers(0, 100), 1 + rng.integers(0, 5)
        cells = [str(size), str(rooms)] + ([CITIES[i % 3]] if city else []) + [f"h{i:04d}"]
        lines.append(",".join(cells + [str(150_000 + 2_000 * size + 10_000 * rooms)]))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_drop_leaves_columns_out_and_keeps_file_order(tmp_path: Path):
    splits = load_tabular(houses(tmp_path / "h.csv"), "price", drop=["id"])
    assert splits.schema.features == ("size", "rooms", "city")
    assert splits.schema.input_names == ("size", "rooms", "city=Brno", "city=Ostrava", "city=Praha")
    assert splits.train.x.shape[1] == 5
    same = load_dataset(tmp_path / "h.csv", target="price", drop=["id", "city"])
    assert same.schema.features == ("size", "rooms") and same.train.x.shape[1] == 2
    chosen = load_dataset(tmp_path / "h.csv", target="price", features=["rooms", "size"])
    assert chosen.schema.features == ("rooms", "size")


@pytest.mark.parametrize(
    "options, message",
    [
        ({"features": ["sise"]}, r"no feature column\(s\) 'sise' \(did you mean 'size'\?\); the columns are 'size'"),
        ({"drop": ["City"]}, r"no column\(s\) to drop named 'City' \(did you mean 'city'\?\)"),
        ({"drop": ["idd", "xyz"]}, r"'idd' \(did you mean 'id'\?\), 'xyz'; the columns"),
        ({"drop": ["price"]}, r"drop= names the target column 'price'"),
        ({"features": ["size"], "drop": ["id"]}, r"either features= .* or drop= .*, not both"),
        ({"drop": ["id", "id"]}, r"drop= names the column\(s\) 'id' twice"),
        ({"drop": ["size", "rooms", "city", "id"]}, r"no feature columns besides the target"),
    ],
)
def test_column_choice_errors(tmp_path: Path, options: dict, message: str):
    with pytest.raises(DataFormatError, match=message):
        load_tabular(houses(tmp_path / "h.csv"), "price", **options)


def test_a_mistyped_target_gets_a_suggestion(tmp_path: Path):
    with pytest.raises(DataFormatError, match=r"no target column 'prise' \(did you mean 'price'\?\)"):
        load_tabular(houses(tmp_path / "h.csv"), "prise")


def test_column_names_must_be_a_list_not_a_string(tmp_path: Path):
    with pytest.raises(TypeError, match="drop must be a sequence"):
        load_tabular(houses(tmp_path / "h.csv"), "price", drop="id")


def test_image_datasets_take_no_column_options():
    with pytest.raises(TypeError, match="drop apply only to tabular files"):
        load_dataset("mnist", drop=["x"])


def test_a_text_column_is_one_hot_with_categories_stored(tmp_path: Path):
    path = houses(tmp_path / "h.csv")
    splits = load_tabular(path, "price", drop=["id"], standardize=False, dev_fraction=0,
                          test_fraction=0)
    assert splits.schema.categories == {"city": ("Brno", "Ostrava", "Praha")}
    x = splits.train.x
    expected = np.array([[c == k for k in ("Brno", "Ostrava", "Praha")] for c in CITIES * 10], float)
    np.testing.assert_array_equal(x[:, 2:], expected)
    assert any("feature column 'city' is text: one-hot encoded as 3 inputs" in n for n in splits.notes)

    restored = TabularSchema.from_dict(json.loads(json.dumps(splits.schema.to_dict())))
    assert restored == splits.schema
    np.testing.assert_array_equal(restored.load(path).x, x)  # new data encoded identically

    new = tmp_path / "new.csv"
    new.write_text("size,rooms,city,price\n50,2,Praha,1\n60,3,Plzen,2\n")
    with pytest.raises(DataFormatError, match=r"new.csv line 3: feature column 'city' has the "
                       r"value 'Plzen', which is not one of the categories seen in training"):
        restored.load(new)
    new.write_text("size,rooms,city,price\n50,2,,1\n")
    with pytest.raises(DataFormatError, match=r"line 2: text feature column 'city' has a missing"):
        restored.load(new)


def test_text_columns_that_cannot_be_categories_name_the_way_out(tmp_path: Path):
    path = houses(tmp_path / "h.csv")
    with pytest.raises(DataFormatError, match=r"feature column 'id' is text with 30 distinct values "
                       r"in 30 rows .* like an identifier .* drop=\['id'\] \(command line: --drop id\)"):
        load_tabular(path, "price")
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("a,b,y\n1,2,3\n2,two,4\n3,3,5\n4,4,6\n")
    with pytest.raises(DataFormatError, match=r"feature column 'b' is not numeric: the value 'two' at "
                       r"mixed.csv line 3. .*fix the value, or leave the column out with drop=\['b'\]"):
        load_tabular(mixed, "y")
    empty = tmp_path / "empty.csv"
    empty.write_text("a,b,y\n1,x,3\n2,,4\n3,x,5\n4,y,6\n")
    with pytest.raises(DataFormatError, match=r"empty.csv line 3: text feature column 'b' has a "
                       r"missing \(empty\) value; fill it, or leave the column out"):
        load_tabular(empty, "y")


def test_npz_string_columns_are_categories_too(tmp_path: Path):
    path = tmp_path / "t.npz"
    colour = np.array(["red", "green", "red", "blue"] * 5)
    np.savez(path, size=np.arange(20.0), colour=colour, y=np.arange(20.0) * 2)
    splits = load_tabular(path, "y", standardize=False, dev_fraction=0, test_fraction=0)
    assert splits.schema.input_names == ("size", "colour=blue", "colour=green", "colour=red")
    np.testing.assert_array_equal(splits.train.x[:4, 1:], [[0, 0, 1], [0, 1, 0], [0, 0, 1], [1, 0, 0]])


def test_a_text_column_in_a_separate_dev_file(tmp_path: Path):
    train = tmp_path / "train.csv"
    train.write_text("a,c,y\n" + "".join(f"{i},{'pq'[i % 2]},{i}.5\n" for i in range(10)))
    dev = tmp_path / "dev.csv"
    dev.write_text("a,c,y\n1,r,2.5\n2,p,3.5\n")
    splits = load_tabular(train, "y", dev=dev, test_fraction=0)
    assert splits.schema.categories == {"c": ("p", "q", "r")}  # every file's categories
    numeric_dev = tmp_path / "numeric_dev.csv"
    numeric_dev.write_text("a,c,y\n1,7,2.5\n")
    with pytest.raises(DataFormatError, match="numeric_dev.csv: feature column 'c' is numeric, but text"):
        load_tabular(train, "y", dev=numeric_dev, test_fraction=0)
