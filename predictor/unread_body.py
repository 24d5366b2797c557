"""Read a request body the app left unread before answering, so the answer reaches the client.

Registered by ``create_app`` as an ``after_request`` hook: it runs for every answer, errors included.
"""

from __future__ import annotations

from flask import Response, request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wsgi import get_input_stream

# What nginx in front lets through (client_max_body_size, frontend/templates/default.conf.template).
UNREAD_BODY_LIMIT = 16 * 1024 * 1024


def drain_unread_body(response: Response) -> Response:
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
