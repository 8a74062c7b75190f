"""The image datasets descend knows by name: their files, checksums, mirrors and classes.

The SHA-256 checksums are of the *decompressed* IDX content, so a file is accepted whether it was
stored gzip-compressed (by any compressor, at any level) or uncompressed: different copies of
MNIST in circulation differ in their ``.gz`` bytes but not in their content.

Where the checksums come from:

* MNIST: computed from the reference copy the project tests against, whose labels and pixel
  statistics are those of the official data set (60,000 + 10,000 images).
* Fashion-MNIST: computed from the files of Debian's package ``dataset-fashion-mnist``
  (version 0.0~git20200523.55506a9-1), which packages the upstream repository's data.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DataFile", "ImageDatasetSpec", "MNIST", "FASHION_MNIST", "IMAGE_DATASETS", "get_spec"]


@dataclass(frozen=True)
class DataFile:
    """One IDX file of a dataset: its name (without ``.gz``) and the SHA-256 of its content."""

    stem: str
    sha256: str
    size: int  # bytes of decompressed content

    @property
    def gz_name(self) -> str:
        return self.stem + ".gz"


@dataclass(frozen=True)
class ImageDatasetSpec:
    """Everything the loader needs to know about an MNIST-format dataset."""

    name: str  # canonical name, also the cache and system directory name
    title: str  # for messages
    aliases: tuple[str, ...]  # other accepted names (directory names, npz stems)
    train_images: DataFile
    train_labels: DataFile
    test_images: DataFile
    test_labels: DataFile
    url: str  # base URL; the file's .gz name is appended
    url_env: str  # environment variable that overrides ``url``
    classes: tuple[object, ...]
    image_shape: tuple[int, int] = (28, 28)
    train_size: int = 55_000  # first 55,000 of the official training set
    dev_size: int = 5_000  # the remaining 5,000
    test_size: int = 10_000
    debian_package: str | None = None

    @property
    def files(self) -> tuple[DataFile, DataFile, DataFile, DataFile]:
        return (self.train_images, self.train_labels, self.test_images, self.test_labels)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


MNIST = ImageDatasetSpec(
    name="mnist",
    title="MNIST",
    aliases=(),
    train_images=DataFile(
        "train-images-idx3-ubyte",
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        47_040_016,
    ),
    train_labels=DataFile(
        "train-labels-idx1-ubyte",
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        60_008,
    ),
    test_images=DataFile(
        "t10k-images-idx3-ubyte",
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        7_840_016,
    ),
    test_labels=DataFile(
        "t10k-labels-idx1-ubyte",
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
        10_008,
    ),
    url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    url_env="DESCEND_MNIST_URL",
    classes=tuple(range(10)),
)

FASHION_MNIST = ImageDatasetSpec(
    name="fashion-mnist",
    title="Fashion-MNIST",
    aliases=("fashion_mnist", "fashion"),
    train_images=DataFile(
        "train-images-idx3-ubyte",
        "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        47_040_016,
    ),
    train_labels=DataFile(
        "train-labels-idx1-ubyte",
        "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        60_008,
    ),
    test_images=DataFile(
        "t10k-images-idx3-ubyte",
        "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        7_840_016,
    ),
    test_labels=DataFile(
        "t10k-labels-idx1-ubyte",
        "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        10_008,
    ),
    url="https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    url_env="DESCEND_FASHION_MNIST_URL",
    classes=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    debian_package="dataset-fashion-mnist",
)

IMAGE_DATASETS: dict[str, ImageDatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST)}

# sha256 -> (dataset title, file stem), to recognise a file of another known dataset
KNOWN_CONTENT: dict[str, tuple[str, str]] = {
    f.sha256: (spec.title, f.stem) for spec in IMAGE_DATASETS.values() for f in spec.files
}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def get_spec(name: str) -> ImageDatasetSpec | None:
    """The spec of a known image dataset by name or alias (case- and ``-``/``_``-insensitive)."""
    key = _normalise(name)
    for spec in IMAGE_DATASETS.values():
        if key in {_normalise(n) for n in spec.names}:
            return spec
    return None
