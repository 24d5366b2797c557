"""Loading MNIST: Keras' own download by default, or a local ``mnist.npz`` in Keras' layout."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SIDE = 28
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
# Where keras.datasets.mnist.load_data() downloads from; recorded as the dataset's source in MLflow.
KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


class DataError(Exception):
    """The MNIST data could not be loaded or does not look like MNIST."""


@dataclass(frozen=True)
class MnistSplits:
    """Training, validation and test sets as float32 images in [0, 1] of shape (N, 28, 28, 1)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def load_raw(path: Path | None) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray], str]:
    """Return ``((x_train, y_train), (x_test, y_test), source)`` as stored (uint8 images).

    With ``path`` the file is read with NumPy and validated; without it Keras downloads (and
    caches) the dataset exactly as ``keras.datasets.mnist.load_data()`` does for any user.
    """
    if path is None:
        import keras  # imported here: loading a local file must not pay TensorFlow's import cost

        try:
            train, test = keras.datasets.mnist.load_data()
        except Exception as exc:
            raise DataError(
                f"could not download MNIST with Keras ({exc}); set MNIST_PATH to a local mnist.npz"
            ) from exc
        source = KERAS_MNIST_URL
    else:
        train, test = _read_npz(path)
        source = path.resolve().as_uri()
    _validate(*train, "training")
    _validate(*test, "test")
    return train, test, source


def _read_npz(path: Path) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    if not path.is_file():
        raise DataError(f"MNIST file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [key for key in NPZ_KEYS if key not in data.files]
            if missing:
                raise DataError(f"{path} is not a Keras mnist.npz: missing {', '.join(missing)}")
            arrays = {key: data[key] for key in NPZ_KEYS}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path} is not a readable .npz file ({exc})") from exc
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _validate(images: np.ndarray, labels: np.ndarray, name: str) -> None:
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(f"{name} images must have shape (N, 28, 28), got {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{name} labels must be a vector of {len(images)} entries, got {labels.shape}")
    if len(images) == 0:
        raise DataError(f"{name} set is empty")
    if images.dtype != np.uint8:
        raise DataError(f"{name} images must be uint8 pixels 0-255, got {images.dtype}")
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9:
        raise DataError(f"{name} labels must be integers 0-9")


def to_model_input(images: np.ndarray) -> np.ndarray:
    """Scale uint8 images to float32 in [0, 1] with a trailing channel axis: (N, 28, 28, 1)."""
    return (images.astype(np.float32) / 255.0)[..., np.newaxis]


def load_splits(
    path: Path | None,
    train_limit: int = 0,
    test_limit: int = 0,
    validation_fraction: float = 0.1,
) -> MnistSplits:
    """Load MNIST and return train/validation/test splits ready for the model.

    ``train_limit``/``test_limit`` keep only the first N images (0 keeps all) for fast runs; the
    validation set is the last ``validation_fraction`` of the (limited) training images, so it
    never overlaps the official test set.
    """
    (x_train, y_train), (x_test, y_test), source = load_raw(path)
    if train_limit:
        x_train, y_train = x_train[:train_limit], y_train[:train_limit]
    if test_limit:
        x_test, y_test = x_test[:test_limit], y_test[:test_limit]
    n_val = max(1, round(len(x_train) * validation_fraction))
    if n_val >= len(x_train):
        raise DataError(f"{len(x_train)} training images are too few to hold out a validation set")
    return MnistSplits(
        x_train=to_model_input(x_train[:-n_val]),
        y_train=y_train[:-n_val].astype(np.int64),
        x_val=to_model_input(x_train[-n_val:]),
        y_val=y_train[-n_val:].astype(np.int64),
        x_test=to_model_input(x_test),
        y_test=y_test.astype(np.int64),
        source=source,
    )


# The evaluation and training sets the trainer ships (trainer/data/README.md says what each is).
# Real people's pen-drawn digits (UJI Pen Characters v2), drawn on the page's canvas and
# preprocessed by the predictor's pipeline: every run is evaluated on them, never trained on them.
# Synthetic drawings of the way the page sends digits (trainer/datagen/handwriting.py): an evaluation set,
# and the writing styles mixed into training (never the same drawing).
DATA_DIR = Path(__file__).resolve().parent / "data"
REAL_PENS = DATA_DIR / "real_pens.npz"
DRAWN_EVALUATION = DATA_DIR / "drawn_digits_eval.npz"
DRAWN_TRAINING = DATA_DIR / "drawn_digits_train.npz"


@dataclass(frozen=True)
class DrawnDigits:
    """Drawn digits as the model sees them: images (N, 28, 28, 1) in [0, 1], labels, and a group each.

    The group is a synthetic drawing's writing style, or a real drawing's writer.
    """

    x: np.ndarray
    y: np.ndarray
    style: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.y)


def load_drawn(path: Path, limit: int = 0, group: str = "allograph") -> DrawnDigits:
    """A drawn-digit set (``x`` uint8 28x28, ``y``, and ``group``), the first ``limit`` of it (0 = all)."""
    if not path.is_file():
        raise DataError(f"drawn-digit set not found: {path} (devkit/ writes it; see trainer/data/README.md)")
    with np.load(path, allow_pickle=False) as data:
        x, y, style = data["x"], data["y"], data[group]
    if limit:
        x, y, style = x[:limit], y[:limit], style[:limit]
    _validate(x, y, "drawn-digit")
    return DrawnDigits(to_model_input(x), y.astype(np.int64), style, path.resolve().as_uri())


def load_real_pens(path: Path = REAL_PENS) -> DrawnDigits:
    """Real people's pen-drawn digits, grouped by writer."""
    return load_drawn(path, group="writer")
