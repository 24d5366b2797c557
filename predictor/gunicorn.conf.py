"""gunicorn settings, all from the environment (see settings.py): ``gunicorn -c predictor/gunicorn.conf.py``."""

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
