import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from devkit.processes import REPO_ROOT
from trainer.data import DataError, load_raw, load_splits


def write_npz(path: Path, **overrides) -> Path:
    arrays = {
        "x_train": np.zeros((20, 28, 28), np.uint8),
        "y_train": np.arange(20) % 10,
        "x_test": np.zeros((5, 28, 28), np.uint8),
        "y_test": np.arange(5),
    }
    arrays.update(overrides)
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


def test_slice_loads_with_mnist_shapes_dtypes_and_range(mnist_slice):
    with np.load(mnist_slice) as data:
        n_train, n_test = len(data["x_train"]), len(data["x_test"])
    splits = load_splits(mnist_slice, validation_fraction=0.1)
    assert splits.x_train.shape == (n_train * 9 // 10, 28, 28, 1)
    assert splits.x_val.shape == (n_train // 10, 28, 28, 1)
    assert splits.x_test.shape == (n_test, 28, 28, 1)
    assert splits.x_train.dtype == np.float32
    assert splits.x_train.min() == 0.0 and splits.x_train.max() == 1.0
    assert set(np.unique(splits.y_train)) == set(range(10))
    assert splits.source.startswith("file://")


def test_validation_is_the_tail_of_training_and_limits_apply(mnist_slice):
    splits = load_splits(mnist_slice, train_limit=1000, test_limit=100, validation_fraction=0.2)
    (x_train, _), _, _ = load_raw(mnist_slice)
    assert len(splits.x_train) == 800 and len(splits.x_val) == 200 and len(splits.x_test) == 100
    np.testing.assert_array_equal(splits.x_val[-1, ..., 0], x_train[999] / np.float32(255))


def test_full_file_is_the_original_mnist(mnist_full):
    (x_train, y_train), (x_test, y_test), _ = load_raw(mnist_full)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert list(y_train[:5]) == [5, 0, 4, 1, 9]
    assert np.bincount(y_test).tolist()[:2] == [980, 1135]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"y_test": None}, "missing y_test"),
        ({"x_train": np.zeros((20, 32, 32), np.uint8)}, r"shape \(N, 28, 28\)"),
        ({"x_train": np.zeros((20, 28, 28), np.float64)}, "uint8"),
        ({"y_train": np.arange(19) % 10}, "vector of 20"),
        ({"y_test": np.array([0, 1, 2, 3, 11])}, "labels must be integers 0-9"),
        ({"x_test": np.zeros((0, 28, 28), np.uint8), "y_test": np.zeros(0, int)}, "empty"),
    ],
)
def test_malformed_files_are_clear_errors(tmp_path, overrides, message):
    path = write_npz(tmp_path / "bad.npz", **overrides)
    with pytest.raises(DataError, match=message):
        load_raw(path)


def test_missing_and_non_npz_files_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_raw(tmp_path / "absent.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive")
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        load_raw(garbage)


def test_keras_download_failure_suggests_mnist_path(monkeypatch):
    import keras

    def offline():
        raise OSError("network unreachable")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError, match="set MNIST_PATH"):
        load_raw(None)


def test_too_few_images_for_validation_is_an_error(tmp_path):
    path = write_npz(tmp_path / "tiny.npz", x_train=np.zeros((1, 28, 28), np.uint8), y_train=np.array([3]))
    with pytest.raises(DataError, match="too few"):
        load_splits(path)


def test_cli_with_a_bad_file_exits_non_zero_and_logs_nothing(tmp_path):
    store = tmp_path / "store"
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "--mnist-path", str(tmp_path / "absent.npz"), "--local-store", str(store)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "MLFLOW_TRACKING_URI": ""},
    )
    assert result.returncode == 2
    assert "error: MNIST file not found" in result.stderr
    assert "Traceback" not in result.stderr
    assert not store.exists(), "nothing may be logged when the data is bad"
