"""The Flask application factory: ``create_app()`` (gunicorn calls it, see gunicorn.conf.py)."""

from __future__ import annotations

from flask import Flask
from mlflow.environment_variables import MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_TIMEOUT

from predictor import metrics
from predictor.api import api
from predictor.errors import register_error_handlers
from predictor.model_manager import ModelManager
from predictor.prediction_log import PredictionLog
from predictor.settings import PredictorSettings, load_settings
from predictor.unread_body import drain_unread_body


def configure_mlflow_client(settings: PredictorSettings) -> None:
    """Hand MLflow's client the predictor's retry settings, through MLflow's own configuration API.

    MLflow takes no retry or timeout argument: it reads these per request from its environment
    variables, which ``mlflow.environment_variables`` sets. Called once by the entry point
    (``create_app`` when it starts its own model manager).
    """
    MLFLOW_HTTP_REQUEST_MAX_RETRIES.set(settings.mlflow_http_request_max_retries)
    MLFLOW_HTTP_REQUEST_TIMEOUT.set(settings.mlflow_http_request_timeout)


def create_app(
    settings: PredictorSettings | None = None,
    manager: ModelManager | None = None,
    prediction_log: PredictionLog | None = None,
) -> Flask:
    """Build the app; what is not given (the model manager, the prediction log) it starts itself."""
    settings = settings or load_settings()
    if manager is None:
        configure_mlflow_client(settings)
        manager = ModelManager(settings)
        manager.start()
    if prediction_log is None and settings.prediction_log:
        prediction_log = PredictionLog(settings, on_drop=metrics.LOG_DROPPED.inc)
        prediction_log.start()
    app = Flask("predictor")
    app.json.sort_keys = False  # answers keep the documented field order
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_IMAGE_PIXELS=settings.max_image_pixels,
        TEST_TIME_AUGMENTATION=settings.test_time_augmentation,
        PREDICTOR_SETTINGS=settings,
    )
    app.extensions["model_manager"] = manager
    app.extensions["prediction_log"] = prediction_log  # None: recording is off
    app.register_blueprint(api)
    metrics.instrument(app, manager)
    register_error_handlers(app)
    app.after_request(drain_unread_body)
    return app
