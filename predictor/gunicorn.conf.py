"""gunicorn settings, all from the environment (see settings.py): ``gunicorn -c predictor/gunicorn.conf.py``."""

import json
import logging

from gunicorn import util

from predictor.access_log import JsonAccessLogger
from predictor.settings import load_settings

_settings = load_settings()

wsgi_app = "predictor.app:create_app()"
bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
# One thread: gunicorn's sync worker, one request at a time per process. Reading a drawing is pure
# CPU work, so more threads per process only add GIL hand-offs; slow clients never hold a worker
# because nginx buffers whole requests and responses first. Measured: ~6 % more requests/s than
# 4 gthread threads (benchmarks/serving_benchmark.py). More threads switch to gthread, for running
# without a buffering proxy in front. The sync worker is gunicorn's, sending each answer in one
# segment and not lingering on connections whose request was read to the end (gunicorn_worker.py).
worker_class = "predictor.gunicorn_worker.LeanSyncWorker" if _settings.threads == 1 else "gthread"
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
# One JSON object per request (time, remote, method, path, status, bytes, latency_ms, agent),
# written in batches at most ACCESS_LOG_FLUSH_SECONDS late (see access_log.py).
logger_class = JsonAccessLogger


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


def post_fork(server, worker) -> None:
    """Send the app's own log lines to gunicorn's error log; start writing batched access lines.

    Without the first, only warnings reach the log (Python's last-resort handler): "serving version 4"
    (model loaded, swapped, failed) would be lost.
    """
    app_log = logging.getLogger("predictor")
    app_log.handlers = list(server.log.error_log.handlers)
    app_log.setLevel(server.log.error_log.level)
    app_log.propagate = False
    worker.log.start_flushing()


def worker_exit(server, worker) -> None:
    """Write the access lines the exiting worker still holds."""
    worker.log.stop_flushing()
