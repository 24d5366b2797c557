"""gunicorn's configuration for the predictor: ``gunicorn -c predictor/gunicorn.conf.py``.

What a deployment changes comes from ``PredictorSettings`` (the environment); the rest is fixed
here, each with its reason.
"""

import logging
import shutil

from predictor.access_log import JsonAccessLogger
from predictor.settings import load_settings

settings = load_settings()
# prometheus-client's multiprocess mode (metrics.py) is switched on by this variable alone; gunicorn
# sets it for the workers, before they import the client.
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={settings.metrics_dir}"]

wsgi_app = "predictor.app:create_app()"
bind = f"{settings.predictor_host}:{settings.predictor_port}"
workers = settings.gunicorn_workers
# 1 thread: gunicorn's sync worker, one request at a time per process. Reading a drawing is pure CPU
# work, so threads would only take turns at the GIL; nginx in front buffers whole requests and
# answers, so a slow client never holds a worker. More threads switch gunicorn to gthread.
threads = settings.gunicorn_threads
timeout = settings.gunicorn_timeout
graceful_timeout = 10  # a stopping worker finishes its request (~2 ms), then exits
# No preload: each worker builds its own onnxruntime session and registry-follower thread after the
# fork (threads do not survive fork, and onnxruntime sessions should not be shared across it).
preload_app = False
# Request lines as long as nginx lets through (its 8 KB header buffers): nginx, which answers with the
# API's JSON, is the one that refuses longer ones. (gunicorn's default stops at 4 KB.)
limit_request_line = 8190
control_socket_disable = True  # gunicorn's runtime control socket: signals (docker stop) are enough
loglevel = settings.log_level
errorlog = "-"
accesslog = "-"
logger_class = JsonAccessLogger  # one JSON object per request (see access_log.py)


def post_fork(server, worker) -> None:
    """Send the app's own log lines ("now serving version 4", ...) to gunicorn's error log."""
    app_log = logging.getLogger("predictor")
    app_log.handlers = list(server.log.error_log.handlers)
    app_log.setLevel(server.log.error_log.level)
    app_log.propagate = False


def on_starting(server) -> None:
    """Start with no metrics files left by an earlier run (their counters would be added in)."""
    shutil.rmtree(settings.metrics_dir, ignore_errors=True)
    settings.metrics_dir.mkdir(parents=True)


def child_exit(server, worker) -> None:
    """A worker's live gauges go with it (its counters stay: they are totals)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
