"""The HTTP routes: ``POST /predict`` and the health, readiness, model and OpenAPI endpoints."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import asdict
from datetime import UTC, datetime

import numpy as np
from flask import Blueprint, Response, current_app, jsonify, request

from predictor import metrics, preprocess, views
from predictor.errors import ApiError
from predictor.model_manager import ModelManager
from predictor.openapi import openapi_document
from predictor.prediction_log import (
    PredictionLog,
    PredictionLogUnavailableError,
    PredictionRecord,
    UnknownPredictionError,
)
from predictor.served_model import LoadedModel

api = Blueprint("api", __name__)
PREDICTION_ID = re.compile(r"[0-9a-f]{32}")  # what /predict hands out: uuid4().hex


def model_manager() -> ModelManager:
    """The app's model manager (``create_app`` puts it there)."""
    return current_app.extensions["model_manager"]


def served_model() -> LoadedModel:
    """The model being served; 503 ``model_unavailable`` with the reason when there is none."""
    manager = model_manager()
    if manager.model is None:
        raise ApiError(503, "model_unavailable", manager.problem)
    return manager.model


@api.post("/predict")
def predict() -> Response:
    """Read the drawn digit in the request and answer what the served model thinks it is."""
    upload = image_bytes()  # first: the request's own errors come before the service's state
    model = served_model()
    image = preprocess.decode(upload, current_app.config["MAX_IMAGE_PIXELS"])
    digit = preprocess.mnist_style(image)
    seen = views.views(digit) if current_app.config["TEST_TIME_AUGMENTATION"] else digit[np.newaxis]
    probabilities = model.predict(seen[..., np.newaxis]).mean(axis=0).astype(np.float64)
    probabilities /= probabilities.sum()
    ranked = np.argsort(-probabilities)[:3]
    metrics.record_prediction(int(ranked[0]), float(probabilities[ranked[0]]))
    prediction_id = uuid.uuid4().hex
    prediction_log = current_app.extensions.get("prediction_log")
    if prediction_log is not None:
        prediction_log.record(
            PredictionRecord(
                id=prediction_id,
                created_at=datetime.now(UTC),
                model_name=model.info.name,
                model_version=model.info.version,
                digit=int(ranked[0]),
                confidence=float(probabilities[ranked[0]]),
                probabilities=[float(p) for p in probabilities],
                input_pixels=(digit * 255).round().astype(np.uint8).tobytes(),
                image_format=image.format or "",
                image_width=image.width,
                image_height=image.height,
            )
        )
    body: dict[str, object] = {
        "prediction_id": prediction_id,
        "digit": int(ranked[0]),
        "confidence": round(float(probabilities[ranked[0]]), 6),
        "probabilities": [round(float(p), 6) for p in probabilities],
        "top": [{"digit": int(d), "probability": round(float(probabilities[d]), 6)} for d in ranked],
        "model": model.info.public(),
    }
    if request.args.get("debug") in ("1", "true"):
        body["input_image"] = "data:image/png;base64," + base64.b64encode(preprocess.to_png(digit)).decode()
    return jsonify(body)


@api.post("/feedback")
def feedback() -> tuple[Response, int]:
    """Store the digit a person says a prediction should have been: 201 new, 200 replacing an earlier one."""
    body = request.get_json(silent=True) if request.mimetype == "application/json" else None
    if not isinstance(body, dict) or not isinstance(body.get("prediction_id"), str):
        raise ApiError(400, "invalid_json", 'Send JSON of the form {"prediction_id": "...", "label": 7}.')
    label = body.get("label")
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise ApiError(422, "invalid_label", "The label must be an integer digit from 0 to 9.")
    prediction_log: PredictionLog | None = current_app.extensions.get("prediction_log")
    if prediction_log is None:
        raise ApiError(503, "feedback_unavailable", "The prediction log is turned off (PREDICTION_LOG=off).")
    prediction_id = body["prediction_id"]
    try:
        if not PREDICTION_ID.fullmatch(prediction_id):
            raise UnknownPredictionError(prediction_id)
        replaced, predicted = prediction_log.label(prediction_id, label)
    except UnknownPredictionError:
        raise ApiError(
            404, "unknown_prediction", "No prediction has that id (unknown, or past the retention)."
        ) from None
    except PredictionLogUnavailableError as exc:
        raise ApiError(
            503, "feedback_unavailable", f"The feedback could not be stored: {exc}. Try again later."
        ) from None
    metrics.record_feedback(correct=label == predicted)
    status = "replaced" if replaced else "created"
    return jsonify({"prediction_id": prediction_id, "label": label, "status": status}), 200 if replaced else 201


@api.get("/health")
def health() -> Response:
    """The process answers."""
    return jsonify({"status": "ok"})


@api.get("/ready")
def ready() -> tuple[Response, int]:
    """Whether a model is loaded (503 with the reason when not)."""
    manager = model_manager()
    if manager.model is None:
        return jsonify({"status": "not_ready", "message": manager.problem}), 503
    return jsonify({"status": "ready", "version": manager.model.info.version}), 200


@api.get("/model")
def model_info() -> Response:
    """Which version is served, since when, from where, and any current problem."""
    model = served_model()
    return jsonify({**asdict(model.info), "problem": model_manager().problem or None})


@api.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3 description of this API."""
    return jsonify(openapi_document(current_app.config["PREDICTOR_SETTINGS"]))


def image_bytes() -> bytes:
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
        return decode_base64(body["image"])
    if content_type.startswith("image/"):
        return request.get_data(cache=False)
    raise ApiError(
        415,
        "unsupported_media_type",
        "Send multipart/form-data (field 'image'), application/json ({\"image\": ...}) or a raw image/* body.",
    )


def decode_base64(text: str) -> bytes:
    """The bytes of a base64 string or a base64 data URL."""
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if ";base64" not in header:
            raise ApiError(400, "invalid_data_url", "Only base64 data URLs are accepted (data:image/png;base64,...).")
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "invalid_base64", f"The image is not valid base64: {exc}.") from exc
