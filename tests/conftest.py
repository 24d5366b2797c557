"""Fixtures the whole suite shares: MNIST (the full file and a small slice), and MLflow's URIs restored.

Tests are marked by what they need: ``integration`` (real services the fixtures start), ``browser``
(real Chromium), ``e2e`` (the real Docker stack); the rest are marked ``unit`` here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest

from devkit.mnist import MnistUnavailableError, mnist_path

SLICE_TRAIN = 3000
SLICE_TEST = 1000
KINDS = ("integration", "browser", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs no real service as ``unit`` (``pytest -m unit`` runs just those)."""
    for item in items:
        if not any(item.get_closest_marker(kind) for kind in KINDS):
            item.add_marker(pytest.mark.unit)


@pytest.fixture(scope="session")
def mnist_full() -> Path:
    """Path of the full MNIST (devkit/mnist.py: MNIST_SOURCE_PATH, or Keras' download).

    The suite fails, never skips, without it.
    """
    try:
        return mnist_path()
    except MnistUnavailableError as exc:
        pytest.fail(f"{exc}; set MNIST_SOURCE_PATH to a Keras-format mnist.npz")


@pytest.fixture(scope="session")
def mnist_slice(mnist_full: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Keras-format .npz with the first 3,000 training and 1,000 test images, for fast runs."""
    path = tmp_path_factory.mktemp("data") / "mnist-slice.npz"
    with np.load(mnist_full) as data:
        np.savez(
            path,
            x_train=data["x_train"][:SLICE_TRAIN],
            y_train=data["y_train"][:SLICE_TRAIN],
            x_test=data["x_test"][:SLICE_TEST],
            y_test=data["y_test"][:SLICE_TEST],
        )
    return path


@pytest.fixture(autouse=True)
def mlflow_uris_restored() -> Iterator[None]:
    """Undo, after each test, any change to MLflow's process-wide tracking and registry URIs.

    A test (or the trainer run in-process) that calls ``mlflow.set_tracking_uri`` would otherwise send
    a later test's fluent calls, and any subprocess it starts, to an earlier test's server. MLflow
    mirrors both URIs into the environment, so the environment says what to restore; the same holds
    for the MLflow client settings the trainer and the predictor's entry point write there.
    """
    names = (
        "MLFLOW_TRACKING_URI",
        "MLFLOW_REGISTRY_URI",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
        "MLFLOW_HTTP_REQUEST_TIMEOUT",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    )
    # By hand: monkeypatch records nothing to undo for a variable that is not set yet.
    saved = {name: os.environ.get(name) for name in names}
    yield
    mlflow.set_tracking_uri(saved["MLFLOW_TRACKING_URI"])  # None: unset, as before the test
    mlflow.set_registry_uri(saved["MLFLOW_REGISTRY_URI"])
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
