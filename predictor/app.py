"""The HTTP API: ``POST /predict`` and the health, readiness, model and OpenAPI endpoints.

``create_app`` builds the Flask app; gunicorn imports ``predictor.app:create_app()`` (see
``gunicorn.conf.py``), and ``python -m predictor`` runs Flask's development server.
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import asdict

import numpy as np
import PIL
from flask import Flask, Response, jsonify, request
from PIL import features
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from predictor import preprocess
from predictor.errors import ApiError
from predictor.model_store import ModelManager
from predictor.openapi import openapi_document
from predictor.settings import PredictorSettings, load_settings

log = logging.getLogger("predictor.app")


def _image_bytes() -> bytes:
    """The uploaded image, from a multipart field, a JSON data URL / base64 string, or a raw body."""
    content_type = (request.mimetype or "").lower()
    if content_type == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            raise ApiError(400, "missing_image", "Send the image in the multipart field named 'image'.")
        return upload.read()
    if content_type == "application/json":
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("image"), str):
            raise ApiError(400, "invalid_json", 'Send JSON of the form {"image": "<data URL or base64>"}.')
        return _decode_base64(body["image"])
    if content_type.startswith("image/"):
        return request.get_data(cache=False)
    raise ApiError(415, "unsupported_media_type", "Send multipart/form-data (field 'image'), "
                   "application/json ({\"image\": ...}) or a raw image/* body.")  # fmt: skip


def _decode_base64(text: str) -> bytes:
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if ";base64" not in header:
            raise ApiError(400, "invalid_data_url", "Only base64 data URLs are accepted (data:image/png;base64,...).")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "invalid_base64", f"The image is not valid base64: {exc}.") from exc


def create_app(settings: PredictorSettings | None = None, manager: ModelManager | None = None) -> Flask:
    """Build the Flask app; without ``manager`` it starts following the registry in the background."""
    settings = settings or load_settings()
    if manager is None:
        manager = ModelManager(settings)
        manager.start()
    # Which zlib reads PNGs decides much of the cost of a request (see build-zlib-ng.sh): say it.
    log.info("reading images with Pillow %s, zlib %s", PIL.__version__, features.version("zlib"))
    app = Flask("predictor")
    app.json.sort_keys = False  # answers keep the documented field order (and skip a sort per request)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["model_manager"] = manager

    @app.post("/predict")
    def predict() -> Response:
        model = manager.model
        if model is None:
            raise ApiError(503, "model_unavailable", manager.problem)
        image = preprocess.decode(_image_bytes(), settings.max_image_pixels)
        try:
            digit = preprocess.mnist_style(image)
        except (OSError, ValueError) as exc:  # exotic modes or damaged data that decoded lazily
            raise ApiError(400, "invalid_image", f"The image could not be processed: {exc}.") from exc
        probabilities = model.predict(digit[np.newaxis, :, :, np.newaxis])[0].astype(np.float64)
        probabilities /= probabilities.sum()
        # Plain Python numbers from two NumPy calls, not ~25 scalar conversions: this runs per request.
        rounded = np.round(probabilities, 6).tolist()
        ranked = np.argsort(-probabilities)[:3].tolist()
        body: dict[str, object] = {
            "digit": ranked[0],
            "confidence": rounded[ranked[0]],
            "probabilities": rounded,
            "top": [{"digit": label, "probability": rounded[label]} for label in ranked],
            "model": model.public_info,
        }
        if request.args.get("debug") in ("1", "true"):
            body["input_image"] = "data:image/png;base64," + base64.b64encode(preprocess.to_png(digit)).decode()
        return jsonify(body)

    @app.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/ready")
    def ready() -> tuple[Response, int]:
        if manager.model is None:
            return jsonify({"status": "not_ready", "message": manager.problem}), 503
        return jsonify({"status": "ready", "version": manager.model.info.version}), 200

    @app.get("/model")
    def model_info() -> tuple[Response, int]:
        model = manager.model
        if model is None:
            raise ApiError(503, "model_unavailable", manager.problem)
        return jsonify({**asdict(model.info), "problem": manager.problem or None}), 200

    @app.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(openapi_document(settings))

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int]:
        return jsonify(error.as_json()), error.status

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> tuple[Response, int]:
        message = f"The request body is larger than {settings.max_body_bytes} bytes."
        return jsonify({"error": "payload_too_large", "message": message}), 413

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        return jsonify({"error": code, "message": error.description or error.name}), error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unexpected error")
        return jsonify({"error": "internal_error", "message": "The server failed to handle the request."}), 500

    return app
