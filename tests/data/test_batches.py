"""Dataset and minibatching: a fresh permutation every epoch, every example once."""

from __future__ import annotations

import numpy as np
import pytest

from descend.data import Dataset, Splits


def make(n: int = 23) -> Dataset:
    x = np.arange(n * 6, dtype=np.float32).reshape(n, 2, 3)  # x[i, 0, 0] == 6 * i
    y = np.arange(n, dtype=np.int64)
    return Dataset(x, y)


def epoch_ids(data: Dataset, **kwargs) -> list[np.ndarray]:
    batches = []
    for x, y in data.batches(**kwargs):
        np.testing.assert_array_equal(x[:, 0, 0], 6 * y)  # inputs and targets stay paired
        batches.append(y.copy())
    return batches


@pytest.mark.parametrize("reuse_buffers", [False, True])
def test_each_example_once_per_epoch(reuse_buffers: bool):
    data = make(23)
    rng = np.random.default_rng(0)
    batches = epoch_ids(data, batch_size=5, rng=rng, reuse_buffers=reuse_buffers)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert sorted(np.concatenate(batches)) == list(range(23))
    assert data.num_batches(5) == 5


def test_new_permutation_every_epoch_and_reproducible_for_a_seed():
    data = make(40)
    rng = np.random.default_rng(123)
    first = np.concatenate(epoch_ids(data, batch_size=8, rng=rng))
    second = np.concatenate(epoch_ids(data, batch_size=8, rng=rng))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, np.arange(40))
    again = np.random.default_rng(123)
    np.testing.assert_array_equal(np.concatenate(epoch_ids(data, batch_size=8, rng=again)), first)
    np.testing.assert_array_equal(np.concatenate(epoch_ids(data, batch_size=8, rng=again)), second)
    np.testing.assert_array_equal(np.concatenate(epoch_ids(data, batch_size=8, rng=123)), first)
    # reusing buffers does not change the order
    reused = np.concatenate(
        epoch_ids(data, batch_size=8, rng=np.random.default_rng(123), reuse_buffers=True)
    )
    np.testing.assert_array_equal(reused, first)


def test_drop_last():
    data = make(23)
    batches = epoch_ids(data, batch_size=5, rng=np.random.default_rng(1), drop_last=True)
    assert [len(b) for b in batches] == [5, 5, 5, 5]
    assert len(set(np.concatenate(batches))) == 20
    assert data.num_batches(5, drop_last=True) == 4
    assert data.num_batches(5, drop_last=False) == 5
    assert list(make(3).batches(5, drop_last=True, rng=0)) == []
    assert [len(y) for _, y in make(3).batches(5, rng=0)] == [3]


def test_sequential_batches_are_read_only_views():
    data = make(10)
    batches = list(data.batches(4, shuffle=False))
    assert [list(y) for _, y in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x0, y0 = batches[0]
    assert np.shares_memory(x0, data.x) and not x0.flags.writeable and not y0.flags.writeable
    assert data.x.flags.writeable  # the dataset itself is untouched


def test_shuffled_batches_are_independent_arrays_unless_reused():
    data = make(12)
    batches = list(data.batches(4, rng=np.random.default_rng(0)))
    assert len({id(x) for x, _ in batches}) == 3
    assert all(not np.shares_memory(x, data.x) for x, _ in batches)
    ids = [y.copy() for _, y in batches]
    for (x, y), expected in zip(batches, ids):  # still valid after the epoch
        np.testing.assert_array_equal(y, expected)
        np.testing.assert_array_equal(x[:, 0, 0], 6 * expected)
    reused = [(x, y) for x, y in data.batches(4, rng=np.random.default_rng(0), reuse_buffers=True)]
    assert len({id(x) for x, _ in reused}) == 1  # one buffer, overwritten each batch


def test_dataset_without_targets():
    data = Dataset(np.zeros((7, 3), np.float32))
    batches = list(data.batches(3, rng=np.random.default_rng(0)))
    assert [x.shape[0] for x, _ in batches] == [3, 3, 1]
    assert all(y is None for _, y in batches)
    assert all(y is None for _, y in data.batches(3, rng=0, reuse_buffers=True))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "4", None])
def test_batch_size_is_validated(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        make().batches(bad)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        make().num_batches(bad)


def test_numpy_integer_batch_size_and_bad_rng():
    assert len(list(make(10).batches(np.int64(5), rng=0))) == 2
    with pytest.raises(TypeError, match="rng must be"):
        make().batches(4, rng=np.random.RandomState(0))


def test_dataset_validation_and_indexing():
    with pytest.raises(ValueError, match="x has 3 examples but y has 4"):
        Dataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one dimension"):
        Dataset(np.float32(1.0))
    data = make(10)
    assert len(data[2:5]) == 3 and len(data[np.array([1, 3])]) == 2
    np.testing.assert_array_equal(data[-1].y, [9])
    assert "Dataset(n=10" in repr(data)


def test_splits_unpack_and_describe():
    train, dev = make(5), make(2)
    splits = Splits(train, dev, None, task="multiclass", classes=("a", "b"), name="toy")
    a, b, c = splits
    assert a is train and b is dev and c is None
    assert splits.num_classes == 2 and splits.input_shape == (2, 3)
    assert "task='multiclass'" in repr(splits)
