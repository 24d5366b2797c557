"""The API's errors: every one answers JSON ``{"error": code, "message": sentence}`` with a 4xx or 5xx.

Lower layers raise their own errors (``preprocess.ImageError``); this module is the one place that
decides which HTTP status each becomes.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from predictor.preprocess import ImageError

log = logging.getLogger("predictor.app")

# What each kind of unusable image means for the client.
IMAGE_ERROR_STATUS = {
    "no_image": 400,
    "invalid_image": 400,
    "unsupported_image": 415,
    "image_too_large": 413,
    "empty_image": 422,
}


class ApiError(Exception):
    """An error of the request itself (how it was sent) or of the service's state (no model yet)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    """The JSON body every error shares."""
    return jsonify({"error": code, "message": message}), status


def register_error_handlers(app: Flask) -> None:
    """Answer every error the app can meet as JSON."""

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> tuple[Response, int]:
        return error_response(error.status, error.code, error.message)

    @app.errorhandler(ImageError)
    def image_error(error: ImageError) -> tuple[Response, int]:
        return error_response(IMAGE_ERROR_STATUS[error.code], error.code, error.message)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge) -> tuple[Response, int]:
        limit = current_app.config["MAX_CONTENT_LENGTH"]
        return error_response(413, "payload_too_large", f"The request body is larger than {limit} bytes.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(error.code or 500, code, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unexpected error")
        return error_response(500, "internal_error", "The server failed to handle the request.")


def short(exc: BaseException) -> str:
    """The first line of an error, at most 300 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
