"""gunicorn settings, all from the environment (see settings.py): ``gunicorn -c predictor/gunicorn.conf.py``."""

import json

from gunicorn import util

from predictor.settings import load_settings

_settings = load_settings()

wsgi_app = "predictor.app:create_app()"
bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
worker_class = "gthread"
threads = _settings.threads
timeout = _settings.timeout
graceful_timeout = 10
keepalive = 5
# No preload: each worker builds its own onnxruntime session and registry-follower thread after the
# fork (threads do not survive fork, and onnxruntime sessions should not be shared across it).
preload_app = False
loglevel = _settings.log_level
errorlog = "-"
accesslog = "-"
# One JSON object per request; latency_ms is gunicorn's request time in milliseconds.
access_log_format = (
    '{"time":"%(t)s","remote":"%(h)s","method":"%(m)s","path":"%(U)s","status":%(s)s,'
    '"bytes":%(B)s,"latency_ms":%(M)s,"agent":"%(a)s"}'
)


def json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Gunicorn's own errors (request line or headers too large, malformed HTTP) as the API's JSON.

    gunicorn answers requests it cannot parse before Flask sees them, with an HTML page; the API
    promises JSON ``{"error", "message"}`` for every error, so its one writer is replaced here.
    """
    body = json.dumps({"error": reason.lower().replace(" ", "_"), "message": f"{mesg}."}).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin1") + body)


util.write_error = json_error
