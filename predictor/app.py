"""The Flask application factory: ``create_app()`` (gunicorn calls it, see gunicorn.conf.py)."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

from predictor import metrics
from predictor.api import api
from predictor.errors import register_error_handlers
from predictor.model_store import ModelManager
from predictor.prediction_log import PredictionLog
from predictor.settings import PredictorSettings, load_settings

# What nginx in front lets through (client_max_body_size, frontend/templates/default.conf.template).
UNREAD_BODY_LIMIT = 16 * 1024 * 1024


def read_rest_of_body(response: Response) -> Response:
    """Read what the app left unread of the request body (at most ``UNREAD_BODY_LIMIT``), then answer.

    An error (413, 415, 404, ...) is answered before the body is read. gunicorn reads only 64 KB of
    an unread body when it closes the connection; beyond that the kernel resets it, and nginx, still
    sending the body, answers "predictor unavailable" instead of the app's answer.
    """
    try:
        stream = request.stream  # Werkzeug's: stops at Content-Length, where the app stopped reading
    except RequestEntityTooLarge:  # refused by its Content-Length: not a byte read yet
        stream = get_input_stream(request.environ)
    left = UNREAD_BODY_LIMIT
    try:
        while left > 0 and (chunk := stream.read(min(left, 64 * 1024))):
            left -= len(chunk)
    except (ClientDisconnected, RequestEntityTooLarge):
        pass  # the client stopped sending, or a chunked body ran past the limit: gunicorn closes
    return response


def create_app(
    settings: PredictorSettings | None = None,
    manager: ModelManager | None = None,
    prediction_log: PredictionLog | None = None,
) -> Flask:
    """Build the app; what is not given (the model manager, the prediction log) it starts itself."""
    settings = settings or load_settings()
    if manager is None:
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
        PREDICTOR_SETTINGS=settings,
    )
    app.extensions["model_manager"] = manager
    app.extensions["prediction_log"] = prediction_log  # None: recording is off
    app.register_blueprint(api)
    metrics.instrument(app, manager)
    register_error_handlers(app)
    app.after_request(read_rest_of_body)
    return app
