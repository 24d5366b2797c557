"""The predictor under its real gunicorn configuration, on a free loopback port."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devkit.processes import LOOPBACK, REPO_ROOT, free_port, http_ok, running, wait_until


def shipped_predictor_env() -> dict[str, str]:
    """``extra_env`` for ``predictor_server`` that gives the predictor its own defaults back (workers, polling)."""
    from predictor.settings import PredictorSettings

    defaults = {name: field.default for name, field in PredictorSettings.model_fields.items()}
    names = ("gunicorn_workers", "model_poll_seconds", "model_retry_max_seconds")
    return {name.upper(): str(defaults[name]) for name in names}


@contextmanager
def predictor_server(
    uri: str, cache: Path, log: Path, port: int | None = None, workers: int = 1, extra_env: dict | None = None
) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """The predictor under real gunicorn (its default worker type, 1 s registry polling).

    Yields its URL, the gunicorn master's process and the time it was started.
    """
    port = port or free_port()
    env = {
        "MLFLOW_TRACKING_URI": uri,
        "MODEL_CACHE_DIR": str(cache),
        "PREDICTOR_HOST": LOOPBACK,
        "PREDICTOR_PORT": str(port),
        "GUNICORN_WORKERS": str(workers),
        "MODEL_POLL_SECONDS": "1",
        "MODEL_RETRY_MAX_SECONDS": "1",
        "PYTHONPATH": str(REPO_ROOT),
        "PREDICTION_LOG": "off",
        **(extra_env or {}),
    }
    args = [sys.executable, "-m", "gunicorn", "-c", str(REPO_ROOT / "predictor" / "gunicorn.conf.py")]
    started = time.monotonic()
    with running(args, log, env) as process:
        url = f"http://{LOOPBACK}:{port}"
        wait_until(http_ok(f"{url}/health"), 60, "predictor", process)
        yield url, process, started
