"""Logging a trained model to MLflow twice: the Keras model and its ONNX export for serving.

The predictor serves the ONNX copy with onnxruntime (no TensorFlow). Both are MLflow models of the
same run; the registered version is the Keras one, and its ``onnx_model_uri`` tag points at the
ONNX model, so ``models:/Mnist_Best_Model@production`` leads to both.
"""

from __future__ import annotations

import tempfile
import warnings
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import keras
import mlflow
import numpy as np
import onnx
import onnxruntime
from mlflow.models import ModelSignature
from mlflow.types import Schema, TensorSpec

from trainer.models import INPUT_SHAPE, NUM_CLASSES
from trainer.tags import ONNX_URI_TAG

KERAS_ARTIFACT = "model"
ONNX_ARTIFACT = "onnx_model"
# Float32 probabilities from two runtimes agree far better than this; more means a broken export.
PARITY_TOLERANCE = 1e-4


@dataclass(frozen=True)
class LoggedModels:
    """Where the two logged copies of one trained model live."""

    keras_uri: str
    onnx_uri: str


def model_signature() -> ModelSignature:
    """(N, 28, 28, 1) float32 pixels in [0, 1] in; (N, 10) float32 class probabilities out."""
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, *INPUT_SHAPE), "image")]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, NUM_CLASSES), "probabilities")]),
    )


def _pinned(distribution: str) -> str:
    return f"{distribution}=={metadata.version(distribution)}"


def keras_requirements() -> list[str]:
    """Explicit requirements of the Keras model (inferring them costs ~10 s per model).

    TensorFlow's CPU wheel is ``tensorflow-cpu`` on x86-64 but plain ``tensorflow`` on arm64, so
    the pin carries environment markers and installs on both.
    """
    tf_version = _installed_version("tensorflow-cpu") or _installed_version("tensorflow")
    return [
        f'tensorflow-cpu=={tf_version}; platform_machine == "x86_64"',
        f'tensorflow=={tf_version}; platform_machine != "x86_64"',
        _pinned("keras"),
        _pinned("numpy"),
    ]


def onnx_requirements() -> list[str]:
    """Requirements to serve the ONNX copy: onnxruntime, never TensorFlow."""
    return [_pinned("onnx"), _pinned("onnxruntime"), _pinned("numpy")]


def _installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def export_onnx(model: keras.Model, folder: Path) -> Path:
    """Export ``model`` to ``folder/model.onnx`` with Keras' own exporter (uses tf2onnx)."""
    path = folder / "model.onnx"
    with warnings.catch_warnings():
        # tf2onnx probes the removed `np.object` alias; NumPy's FutureWarning about it is noise.
        warnings.filterwarnings("ignore", category=FutureWarning, module="keras.src.export")
        model.export(str(path), format="onnx", verbose=False)
    return path


class ExportMismatchError(Exception):
    """The ONNX export does not compute what the Keras model computes."""


def onnx_parity(model: keras.Model, onnx_model: onnx.ModelProto, images: np.ndarray) -> float:
    """Largest absolute difference between Keras and onnxruntime probabilities on ``images``."""
    session = onnxruntime.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    served = session.run(None, {session.get_inputs()[0].name: images.astype(np.float32)})[0]
    return float(np.abs(served - model.predict(images, verbose=0)).max())


def log_models(model: keras.Model, check_images: np.ndarray) -> LoggedModels:
    """Log the Keras model and its ONNX export to the active run; return both model URIs.

    The export is checked against the Keras model on ``check_images`` first (metric
    ``onnx_max_abs_diff``): a served model that disagrees with the trained one is an error.
    """
    signature = model_signature()
    with tempfile.TemporaryDirectory() as folder:
        onnx_model = onnx.load(str(export_onnx(model, Path(folder))))
    difference = onnx_parity(model, onnx_model, check_images)
    mlflow.log_metric("onnx_max_abs_diff", difference)
    if difference > PARITY_TOLERANCE:
        raise ExportMismatchError(f"ONNX export differs from the Keras model by {difference:.2e}")
    keras_info = mlflow.keras.log_model(
        model, name=KERAS_ARTIFACT, signature=signature, pip_requirements=keras_requirements()
    )
    onnx_info = mlflow.onnx.log_model(
        onnx_model,
        name=ONNX_ARTIFACT,
        signature=signature,
        pip_requirements=onnx_requirements(),
        save_as_external_data=False,  # a ~1 MB model is simplest to serve as one file
    )
    mlflow.set_tag(ONNX_URI_TAG, onnx_info.model_uri)
    return LoggedModels(keras_uri=keras_info.model_uri, onnx_uri=onnx_info.model_uri)
