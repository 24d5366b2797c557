"""The full MNIST for the tests and benchmarks: a local file, or Keras' own copy, downloaded once.

Where it comes from, in order: ``MNIST_SOURCE_PATH`` (a machine that cannot reach the download sets
it; this project's CI does in ``.ci/run``); Keras' cache (``~/.keras/datasets/mnist.npz``, where
``keras.datasets.mnist.load_data()`` keeps it, so the trainer and the tests share one download),
fetched from Keras' URL and checked against its published SHA-256 when it is missing. Standard
library only: ``python devkit/mnist.py`` prints the path, for a Makefile on a machine with nothing
installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

# What keras.datasets.mnist.load_data() downloads, and the hash Keras checks it against.
KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


class MnistUnavailableError(Exception):
    """MNIST is neither on disk nor downloadable."""


def keras_cache() -> Path:
    """Where Keras keeps its download of MNIST (``KERAS_HOME`` or ``~/.keras``)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "mnist.npz"


def sha256_of(path: Path) -> str:
    """The file's SHA-256, as hex."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download(url: str, sha256: str, target: Path, timeout: float = 60) -> Path:
    """``url`` saved as ``target`` if its SHA-256 is ``sha256``; nothing is left behind when it is not."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".mnist-", delete=False) as partial:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                shutil.copyfileobj(response, partial)
        except OSError as exc:
            Path(partial.name).unlink()
            raise MnistUnavailableError(f"could not download MNIST from {url}: {exc}") from exc
    got = sha256_of(Path(partial.name))
    if got != sha256:
        Path(partial.name).unlink()
        raise MnistUnavailableError(f"the file at {url} is not Keras' MNIST (SHA-256 {got}, expected {sha256})")
    return Path(partial.name).replace(target)


def mnist_path(url: str = KERAS_MNIST_URL, sha256: str = KERAS_MNIST_SHA256) -> Path:
    """A local Keras-format mnist.npz: the configured file, or Keras' cache (downloaded if needed)."""
    if configured := os.environ.get("MNIST_SOURCE_PATH"):
        if not Path(configured).is_file():
            raise MnistUnavailableError(f"MNIST_SOURCE_PATH={configured} is not a file")
        return Path(configured)
    cached = keras_cache()
    if cached.is_file() and sha256_of(cached) == sha256:
        return cached
    return download(url, sha256, cached)


if __name__ == "__main__":
    try:
        print(mnist_path())
    except MnistUnavailableError as exc:
        sys.exit(f"error: {exc}; set MNIST_SOURCE_PATH to a Keras-format mnist.npz")
