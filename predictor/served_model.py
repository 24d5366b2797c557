"""The model as served: an onnxruntime session and the registry facts about it.

The registered version (``<name>@<alias>``) is a Keras model; its ``onnx_model_uri`` tag points at
the ONNX copy logged by the same run, which is what this service runs with onnxruntime.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnxruntime

ONNX_FILE = "model.onnx"


@dataclass(frozen=True)
class ModelInfo:
    """Which registered version is served, and since when."""

    name: str
    version: str
    alias: str
    run_id: str
    onnx_uri: str
    loaded_at: str = ""
    source: str = "registry"  # or "cache" when loaded from the local copy

    def public(self) -> dict[str, str]:
        """The registry facts every prediction carries (the API's "model" object)."""
        return {"name": self.name, "version": self.version, "alias": self.alias, "run_id": self.run_id}


@dataclass
class LoadedModel:
    """An onnxruntime session with the registry facts about it."""

    info: ModelInfo
    session: onnxruntime.InferenceSession
    input_name: str = field(init=False)

    def __post_init__(self) -> None:
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (N, 10), for images of shape (N, 28, 28, 1) in [0, 1]."""
        return self.session.run(None, {self.input_name: batch.astype(np.float32)})[0]


def load_onnx(path: Path, info: ModelInfo) -> LoadedModel:
    """Create an onnxruntime session for ``path`` and check it answers like an MNIST classifier."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # one request, one core: gunicorn's workers give the parallelism
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    model = LoadedModel(info=info, session=session)
    probabilities = model.predict(np.zeros((1, 28, 28, 1), np.float32))
    if probabilities.shape != (1, 10):
        raise ValueError(f"model answers with shape {probabilities.shape}, expected (1, 10)")
    return model


def stamped(info: ModelInfo, source: str) -> ModelInfo:
    """``info`` marked as loaded now, from ``source``."""
    return replace(info, loaded_at=datetime.now(UTC).isoformat(timespec="seconds"), source=source)
