"""descend.data: datasets as NumPy arrays, and minibatching.

Image datasets (MNIST, Fashion-MNIST) are found locally or downloaded, verified by SHA-256 and
split 55,000 / 5,000 / 10,000 as in the course; MNIST ships with descend, so it loads offline.
A user's own CSV or ``.npz`` table is split, standardised with training statistics (features,
and a regression target), its text columns encoded as categories, and its task (regression,
binary, multiclass) inferred from its target column. Everything comes back as :class:`Splits`
of :class:`Dataset` objects, whose :meth:`Dataset.batches` yields shuffled minibatches for
training; ``splits.notes`` says what the user should know about how the data was read.

Typical use::

    from descend.data import load_mnist
    train, dev, test = load_mnist()                 # images (N, 28, 28) float32, labels int64
    rng = np.random.default_rng(42)
    for epoch in range(10):
        for x, y in train.batches(50, rng=rng):     # a fresh permutation every epoch
            ...

Where the data is looked for, environment variables and offline use: docs/data.md.
"""

from .catalog import FASHION_MNIST, MNIST, ImageDatasetSpec
from .dataset import Dataset, Splits, Task
from .errors import (
    DataFormatError,
    DatasetCorruptError,
    DatasetError,
    DatasetNotFoundError,
    DownloadError,
)
from .idx import parse_idx, read_idx, write_idx
from .load import available_datasets, load_dataset
from .locations import cache_dir
from .mnist import download_dataset, load_fashion_mnist, load_image_dataset, load_mnist
from .standardize import Standardizer
from .tabular import TabularSchema, infer_task, load_tabular, read_table

__all__ = [
    # loading
    "load_dataset",
    "load_mnist",
    "load_fashion_mnist",
    "load_image_dataset",
    "load_tabular",
    "download_dataset",
    "available_datasets",
    "cache_dir",
    # containers
    "Dataset",
    "Splits",
    "Task",
    # tabular preprocessing
    "TabularSchema",
    "Standardizer",
    "infer_task",
    "read_table",
    # IDX format
    "read_idx",
    "parse_idx",
    "write_idx",
    # dataset descriptions
    "ImageDatasetSpec",
    "MNIST",
    "FASHION_MNIST",
    # errors
    "DatasetError",
    "DatasetNotFoundError",
    "DatasetCorruptError",
    "DownloadError",
    "DataFormatError",
]
