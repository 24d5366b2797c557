"""The suite's MNIST download (devkit/mnist.py), against a local HTTP server serving a Keras-format file."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from devkit.mnist import MnistUnavailableError, download, mnist_path, sha256_of
from devkit.processes import free_port
from trainer.data import load_raw


@pytest.fixture()
def served(tmp_path: Path):
    """A small file in Keras' mnist.npz layout, served over HTTP on loopback; yields (URL, SHA-256)."""
    folder = tmp_path / "site"
    folder.mkdir()
    rng = np.random.default_rng(0)
    np.savez(
        folder / "mnist.npz",
        x_train=rng.integers(0, 256, (30, 28, 28), dtype=np.uint8),
        y_train=np.arange(30) % 10,
        x_test=rng.integers(0, 256, (10, 28, 28), dtype=np.uint8),
        y_test=np.arange(10),
    )
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/mnist.npz", sha256_of(folder / "mnist.npz"), server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Keras home, and no MNIST configured."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("MNIST_SOURCE_PATH", raising=False)
    return tmp_path / "keras"


def test_missing_mnist_is_downloaded_into_keras_cache_once(served, keras_home, tmp_path):
    url, sha256, server = served
    path = mnist_path(url, sha256)
    assert path == keras_home / "datasets" / "mnist.npz"
    (x_train, _), (_, y_test), _ = load_raw(path)  # the trainer reads it as Keras' layout
    assert x_train.shape == (30, 28, 28) and list(y_test) == list(range(10))
    server.shutdown()  # the second time comes from the cache
    assert mnist_path(url, sha256) == path


def test_a_file_with_the_wrong_hash_is_refused_and_not_kept(served, keras_home, tmp_path):
    url, _, _ = served
    with pytest.raises(MnistUnavailableError, match="is not Keras' MNIST"):
        download(url, "0" * 64, tmp_path / "cache" / "mnist.npz")
    assert not any((tmp_path / "cache").iterdir()), "nothing half-downloaded is left"


def test_an_unreachable_download_is_a_clear_error(keras_home, tmp_path):
    with pytest.raises(MnistUnavailableError, match="could not download MNIST"):
        mnist_path(f"http://127.0.0.1:{free_port()}/mnist.npz", "0" * 64)


def test_a_local_file_overrides_the_download(keras_home, tmp_path, monkeypatch):
    local = tmp_path / "mine.npz"
    local.write_bytes(b"anything")
    monkeypatch.setenv("MNIST_SOURCE_PATH", str(local))
    assert mnist_path("http://127.0.0.1:9/never", "0" * 64) == local
