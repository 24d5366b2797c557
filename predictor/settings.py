"""Everything the predictor can be told, in one class: each field is the environment variable of its name.

``PredictorSettings()`` reads ``MLFLOW_TRACKING_URI``, ``MODEL_POLL_SECONDS``, ... (upper case,
an empty variable counts as unset) and checks them. Nothing else in the predictor reads the
environment. The defaults suit a predictor on your own machine; compose sets what differs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import sqlalchemy as sa
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class PredictorSettings(BaseSettings):
    """The predictor's configuration (see docs/configuration.md)."""

    model_config = SettingsConfigDict(env_ignore_empty=True, frozen=True)

    # Which model to serve, from which registry.
    mlflow_tracking_uri: str = Field("http://localhost:5000", description="tracking server whose registry is followed")
    model_name: str = Field("Mnist_Best_Model", description="registered model to serve")
    model_alias: str = Field("production", description="alias of the version to serve")
    model_cache_dir: Path = Field(Path("model-cache"), description="local copy of the last good model")

    # How the registry is followed.
    model_poll_seconds: float = Field(30, ge=0.1, description="how often the alias is checked for a new version")
    model_retry_min_seconds: float = Field(0.5, ge=0.1, description="first back-off while no current model is served")
    model_retry_max_seconds: float = Field(
        30, ge=0.1, description="longest back-off while no current model is served (at most MODEL_POLL_SECONDS)"
    )
    model_failed_retry_seconds: float = Field(300, ge=0, description="wait before retrying a version that failed")

    # What a request may weigh.
    max_body_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="largest request body")
    max_image_pixels: int = Field(16_000_000, ge=784, description="largest decoded image (width x height)")

    # How a digit is read (views.py, docs/performance.md: what it gains and costs).
    test_time_augmentation: bool = Field(
        False, description="average the model's answers over 7 views of the digit: as drawn, shifted 1 px, turned ±6°"
    )

    # The prediction log (prediction_log.py, docs/operations.md: what is stored).
    prediction_log: bool = Field(True, description="record every answer in the prediction database (off: none)")
    prediction_db_host: str = Field("localhost", description="PostgreSQL server of the prediction database")
    prediction_db_port: int = Field(5432, ge=1, le=65535)
    prediction_db_name: str = Field("feedback", description="the prediction database")
    prediction_db_user: str = Field("predictor", description="its owner: the only role that writes it")
    prediction_db_password: SecretStr = Field(SecretStr(""), description="that role's password")
    prediction_log_queue_size: int = Field(10_000, ge=1, description="records kept while the database is down")
    prediction_retention_days: int = Field(30, ge=0, description="unlabelled records older are deleted; 0 keeps all")

    @property
    def prediction_db_url(self) -> sa.URL:
        """SQLAlchemy URL of the prediction database (psycopg2 driver)."""
        return sa.URL.create(
            "postgresql+psycopg2",
            username=self.prediction_db_user,
            password=self.prediction_db_password.get_secret_value() or None,
            host=self.prediction_db_host,
            port=self.prediction_db_port,
            database=self.prediction_db_name,
        )

    # Metrics (metrics.py): where gunicorn's workers keep them, for prometheus-client's multiprocess mode.
    metrics_dir: Path = Field(Path(tempfile.gettempdir()) / "predictor-metrics", description="emptied at start")

    # gunicorn (gunicorn.conf.py).
    predictor_host: str = Field("127.0.0.1", description="address gunicorn listens on (0.0.0.0 in the image)")
    predictor_port: int = Field(8000, ge=1, le=65535, description="port gunicorn listens on")
    gunicorn_workers: int = Field(2, ge=1, description="worker processes")
    gunicorn_threads: int = Field(1, ge=1, description="threads per worker: 1 = sync workers, more = gthread")
    gunicorn_timeout: int = Field(30, ge=1, description="seconds before a silent worker is replaced")
    log_level: str = Field("info", description="gunicorn's and the app's log level")

    # MLflow's client reads these two itself; the predictor's entry point sets them (app.py): a
    # registry that does not answer must cost a poll, not minutes of MLflow's own retries.
    mlflow_http_request_max_retries: int = Field(0, ge=0, description="MLflow client retries per request")
    mlflow_http_request_timeout: int = Field(10, ge=1, description="MLflow client timeout per request, seconds")


def load_settings() -> PredictorSettings:
    """The settings from the environment; a bad value stops the process with a readable message."""
    try:
        return PredictorSettings()
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0].upper()}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"predictor: bad configuration: {problems}") from None
