"""Predictor configuration from environment variables, with documented defaults.

| env var                  | default               | meaning                                              |
|--------------------------|-----------------------|------------------------------------------------------|
| MLFLOW_TRACKING_URI      | http://tracking:5000  | where the registry is                                |
| MODEL_NAME / MODEL_ALIAS | Mnist_Best_Model / production | which registered model version to serve      |
| MODEL_POLL_SECONDS       | 30                    | how often the alias is checked for a new version     |
| MODEL_RETRY_MAX_SECONDS  | 30                    | longest back-off between attempts while no model     |
| MODEL_CACHE_DIR          | ./model-cache         | local copy of the last good model (serves at restart |
|                          |                       | while the tracking server is down)                   |
| MAX_BODY_BYTES           | 5242880 (5 MiB)       | largest request body (nginx uses the same limit)     |
| MAX_IMAGE_PIXELS         | 16000000              | largest decoded image (width x height)               |
| PREDICTOR_HOST / _PORT   | 0.0.0.0 / 8000        | where gunicorn (or the dev server) listens           |
| GUNICORN_WORKERS         | 2                     | worker processes                                     |
| GUNICORN_THREADS         | 1                     | threads per worker (1: sync workers; more: gthread)  |
| GUNICORN_TIMEOUT         | 30                    | seconds before a silent worker is restarted          |
| LOG_LEVEL                | info                  | gunicorn and app log level                           |
| ACCESS_LOG_FLUSH_SECONDS | 1                     | access lines are written in batches, at most this    |
|                          |                       | late (0: each line at once; see access_log.py)       |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """A setting is malformed."""


@dataclass(frozen=True)
class PredictorSettings:
    """Everything the predictor can be told."""

    tracking_uri: str
    model_name: str
    model_alias: str
    poll_seconds: float
    retry_max_seconds: float
    cache_dir: Path
    max_body_bytes: int
    max_image_pixels: int
    host: str
    port: int
    workers: int
    threads: int
    timeout: int
    log_level: str
    access_log_flush_seconds: float


def _get(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, "").strip() or default


def _number(env: Mapping[str, str], name: str, default: str, kind: type, minimum: float = 0) -> int | float:
    raw = _get(env, name, default)
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> PredictorSettings:
    """Read the settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    return PredictorSettings(
        tracking_uri=_get(env, "MLFLOW_TRACKING_URI", "http://tracking:5000"),
        model_name=_get(env, "MODEL_NAME", "Mnist_Best_Model"),
        model_alias=_get(env, "MODEL_ALIAS", "production"),
        poll_seconds=_number(env, "MODEL_POLL_SECONDS", "30", float, 0.1),
        retry_max_seconds=_number(env, "MODEL_RETRY_MAX_SECONDS", "30", float, 0.1),
        cache_dir=Path(_get(env, "MODEL_CACHE_DIR", "model-cache")),
        max_body_bytes=_number(env, "MAX_BODY_BYTES", str(5 * 1024 * 1024), int, 1024),
        max_image_pixels=_number(env, "MAX_IMAGE_PIXELS", "16000000", int, 784),
        host=_get(env, "PREDICTOR_HOST", "0.0.0.0"),  # in a container: all interfaces
        port=_number(env, "PREDICTOR_PORT", "8000", int, 1),
        workers=_number(env, "GUNICORN_WORKERS", "2", int, 1),
        threads=_number(env, "GUNICORN_THREADS", "1", int, 1),
        timeout=_number(env, "GUNICORN_TIMEOUT", "30", int, 1),
        log_level=_get(env, "LOG_LEVEL", "info"),
        access_log_flush_seconds=_number(env, "ACCESS_LOG_FLUSH_SECONDS", "1", float, 0),
    )
