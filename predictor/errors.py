"""The API's errors: every one answers JSON ``{"error": code, "message": sentence}`` with a 4xx or 5xx.

Lower layers raise their own errors (``preprocess.ImageError``); this module is the one place that
decides which HTTP status each becomes.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

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


# What nginx in front lets through (client_max_body_size, frontend/templates/default.conf.template).
REFUSED_BODY_READ_LIMIT = 16 * 1024 * 1024


def discard_refused_body(at_most: int = REFUSED_BODY_READ_LIMIT) -> None:
    """Read to its end (at most ``at_most`` bytes) a request body refused as too large.

    gunicorn reads only 64 KB of an unread body when it closes the connection; beyond that the
    kernel resets it, and nginx, still sending the body, answers "predictor unavailable" instead
    of this 413.
    """
    stream = get_input_stream(request.environ)  # stops at Content-Length, as WSGI requires
    try:
        while at_most > 0 and (chunk := stream.read(min(at_most, 64 * 1024))):
            at_most -= len(chunk)
    except ClientDisconnected:
        pass  # the client gave up sending: nothing left to read


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
        discard_refused_body()
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
