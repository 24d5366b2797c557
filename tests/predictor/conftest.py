"""The predictor's fixtures: settings, a tiny real ONNX model, and the Flask ``app`` and its test ``client``."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from devkit.onnx_model import linear_classifier
from predictor.app import configure_mlflow_client, create_app
from predictor.model_manager import ModelManager
from predictor.served_model import LoadedModel, ModelInfo, load_onnx
from predictor.settings import PredictorSettings

INFO = ModelInfo("Mnist_Best_Model", "4", "production", "run-abc", "models:/m-1", "2026-11-26T00:00:00+00:00")


@pytest.fixture(autouse=True)
def mlflow_client_configured() -> None:
    """MLflow's client set up as the predictor's entry point does it (tests build managers directly)."""
    configure_mlflow_client(PredictorSettings())


@pytest.fixture()
def settings(tmp_path: Path) -> PredictorSettings:
    """Small limits, a cache of this test's own, a tracking server that is never there, no prediction log."""
    return PredictorSettings(
        model_cache_dir=tmp_path / "cache",
        max_body_bytes=300_000,
        prediction_log=False,
        max_image_pixels=1_000_000,
        mlflow_tracking_uri="http://127.0.0.1:9",
    )


@pytest.fixture()
def favourite() -> int:
    """The digit the test model answers, whatever it is shown."""
    return 3


@pytest.fixture()
def model(tmp_path: Path, favourite: int) -> LoadedModel:
    """A real onnxruntime session of a linear classifier that always answers ``favourite``."""
    return load_onnx(linear_classifier(tmp_path / "m.onnx", favourite=favourite), INFO)


@pytest.fixture()
def manager(settings: PredictorSettings, model: LoadedModel) -> ModelManager:
    """A model manager serving ``model``, not started: the test decides what it serves."""
    manager = ModelManager(settings)
    manager.model = model
    manager.problem = ""
    return manager


@pytest.fixture()
def app(settings: PredictorSettings, manager: ModelManager) -> Flask:
    """The predictor's Flask app, as ``create_app`` builds it."""
    app = create_app(settings, manager)
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """Flask's test client for ``app``."""
    return app.test_client()
