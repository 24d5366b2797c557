"""The Flask application factory: ``create_app()`` (gunicorn calls it, see gunicorn.conf.py)."""

from __future__ import annotations

from flask import Flask

from predictor.api import api
from predictor.errors import register_error_handlers
from predictor.model_store import ModelManager
from predictor.settings import PredictorSettings, load_settings


def create_app(settings: PredictorSettings | None = None, manager: ModelManager | None = None) -> Flask:
    """Build the app; without ``manager`` it starts following the registry in the background."""
    settings = settings or load_settings()
    if manager is None:
        manager = ModelManager(settings)
        manager.start()
    app = Flask("predictor")
    app.json.sort_keys = False  # answers keep the documented field order
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        MAX_IMAGE_PIXELS=settings.max_image_pixels,
        PREDICTOR_SETTINGS=settings,
    )
    app.extensions["model_manager"] = manager
    app.register_blueprint(api)
    register_error_handlers(app)
    return app
