"""A tiny but real ONNX classifier (a linear layer + softmax) for API tests that need a model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def linear_classifier(path: Path, seed: int = 0, favourite: int | None = None) -> Path:
    """Write an ONNX model mapping (N, 28, 28, 1) images to 10 softmax probabilities.

    With ``favourite`` the bias makes that digit win for any input (to tell two versions apart).
    """
    rng = np.random.default_rng(seed)
    weights = rng.normal(0, 0.01, (784, 10)).astype(np.float32)
    bias = np.zeros(10, np.float32)
    if favourite is not None:
        bias[favourite] = 50.0
    graph = helper.make_graph(
        nodes=[
            helper.make_node("Reshape", ["image", "shape"], ["flat"]),
            helper.make_node("MatMul", ["flat", "weights"], ["logits0"]),
            helper.make_node("Add", ["logits0", "bias"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        name="linear",
        inputs=[helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 28, 28, 1])],
        outputs=[helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        initializer=[
            numpy_helper.from_array(np.array([-1, 784], np.int64), "shape"),
            numpy_helper.from_array(weights, "weights"),
            numpy_helper.from_array(bias, "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def register_as_production(tracking_uri: str, onnx_path: Path, model_name: str = "Mnist_Best_Model") -> str:
    """Log ``onnx_path`` to a new run and register it as ``model_name@production``; returns the version.

    The version carries the tag ``onnx_model_uri``, as the trainer writes it and the predictor reads it.
    """
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run():
        info = mlflow.onnx.log_model(onnx.load(str(onnx_path)), name="onnx_model", save_as_external_data=False)
    client = MlflowClient(tracking_uri)
    version = mlflow.register_model(info.model_uri, model_name)
    client.set_model_version_tag(model_name, version.version, "onnx_model_uri", info.model_uri)
    client.set_registered_model_alias(model_name, "production", version.version)
    return str(version.version)
