"""Everything the trainer and its report can be told: each field is the environment variable of its name.

``TrainerSettings()`` reads ``MLFLOW_TRACKING_URI``, ``MNIST_PATH``, ... (upper case; an empty
variable counts as unset) and checks them; command-line flags (``trainer.cli``) override them.
Nothing else in the trainer reads the environment. See docs/configuration.md.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import sqlalchemy as sa
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Tracking URI schemes MLflow can store runs and models in (database URIs may name a driver: a+b://).
TRACKING_SCHEMES = {"http", "https", "sqlite", "postgresql", "mysql", "mssql", "file", "databricks"}
RUN_KEYS = ("baseline", "architecture", "tuned")


def tracking_uri_problem(uri: str) -> str | None:
    """Why ``uri`` cannot be a tracking URI, or None when it can (empty means the embedded store)."""
    if not uri:
        return None
    scheme = urlparse(uri).scheme.split("+", 1)[0].lower()
    if scheme not in TRACKING_SCHEMES:
        return (
            f"MLFLOW_TRACKING_URI {uri!r} has an unsupported scheme {scheme!r}: use http(s)://host:port for a "
            "tracking server, or a database URI such as sqlite:///path/mlflow.db or postgresql+psycopg2://..."
        )
    if scheme in ("http", "https") and not urlparse(uri).hostname:
        return f"MLFLOW_TRACKING_URI {uri!r} names no host: use http://host:port"
    return None


class StoreSettings(BaseSettings):
    """Where the runs and the registry are, and what they are called: shared by training and the report."""

    model_config = SettingsConfigDict(env_ignore_empty=True, frozen=True)

    mlflow_tracking_uri: str = Field("", description="tracking server or database; empty = the embedded store")
    trainer_local_store: Path = Field(Path("mlruns-local"), description="folder of the embedded store")
    tracking_wait_seconds: float = Field(60, ge=0, description="how long to wait for the tracking server")

    # Names in the store.
    mlflow_experiment_name: str = Field("mnist-cnn", description="experiment that holds the three runs")
    registered_model_name: str = Field("Mnist_Best_Model", description="registry name of the promoted model")
    model_alias: str = Field("production", description="alias the predictor serves")

    # MLflow's client reads its login from the environment itself; the trainer checks it before training.
    mlflow_tracking_username: str = Field("", description="login on a tracking server with basic-auth")
    mlflow_tracking_password: SecretStr = Field(SecretStr(""), description="its password")

    # MLflow's client reads these itself (trainer.tracking passes them on). Its own default of 7
    # retries kept a training silent for 8 minutes when the artifact store was down.
    mlflow_http_request_max_retries: int = Field(3, ge=0, description="MLflow client retries per request")
    mlflow_http_request_backoff_factor: int = Field(1, ge=0, description="MLflow client back-off: 1, 2, 4 s")
    mlflow_http_request_timeout: int = Field(60, ge=1, description="MLflow client timeout per request, seconds")

    # The prediction database (the predictor's), read with its read-only role: people's labelled
    # drawings for training (trainer.feedback) and the report's Production section. No host = none.
    prediction_db_host: str = Field("", description="PostgreSQL server of the prediction database; empty = none")
    prediction_db_port: int = Field(5432, ge=1, le=65535)
    prediction_db_name: str = Field("feedback", description="the prediction database")
    prediction_reader_user: str = Field("feedback_reader", description="its read-only role")
    prediction_reader_password: SecretStr = Field(SecretStr(""), description="that role's password")

    @property
    def prediction_reader_url(self) -> sa.URL | None:
        """SQLAlchemy URL of the prediction database as the reader, or None when no host is set."""
        if not self.prediction_db_host:
            return None
        return sa.URL.create(
            "postgresql+psycopg2",
            username=self.prediction_reader_user,
            password=self.prediction_reader_password.get_secret_value() or None,
            host=self.prediction_db_host,
            port=self.prediction_db_port,
            database=self.prediction_db_name,
        )

    @field_validator("mlflow_tracking_uri")
    @classmethod
    def _valid_tracking_uri(cls, uri: str) -> str:
        if problem := tracking_uri_problem(uri):
            raise ValueError(problem)
        return uri

    @property
    def embedded(self) -> bool:
        """True when no tracking server is configured and results go to a local store."""
        return not self.mlflow_tracking_uri

    @property
    def tracking_uri(self) -> str:
        """The URI MLflow is pointed at: the configured one, or the embedded store's SQLite database."""
        if self.embedded:
            return f"sqlite:///{(self.trainer_local_store / 'mlflow.db').resolve()}"
        return self.mlflow_tracking_uri


class TrainerSettings(StoreSettings):
    """What ``python -m trainer`` trains, on what data, and how it promotes."""

    mnist_path: Path | None = Field(None, description="local Keras-format mnist.npz; unset = Keras' download")
    mnist_train_limit: int = Field(0, ge=0, description="use the first N training images (0 = all 60,000)")
    mnist_test_limit: int = Field(0, ge=0, description="use the first N test images (0 = all 10,000)")
    validation_fraction: float = Field(0.1, gt=0, lt=0.5, description="share of training images held out")
    trainer_epochs: int = Field(0, ge=0, description="every run's epochs (0 = each run's own)")
    trainer_runs: str = Field("", description=f"comma-separated run keys ({', '.join(RUN_KEYS)}); empty = all")
    trainer_seed: int = Field(42, description="seed for Python, NumPy and TensorFlow")
    force_promote: bool = Field(False, description="promote even when the current champion is as good")
    # People's feedback (trainer.feedback): how it is split and how much it weighs.
    feedback_min_labelled: int = Field(20, ge=2, description="fewer labelled drawings than this: train without them")
    feedback_holdout_fraction: float = Field(0.3, gt=0, lt=1, description="latest share of them that judges runs")
    feedback_weight: int = Field(10, ge=0, description="times each earlier labelled drawing is seen per epoch")

    @property
    def run_keys(self) -> list[str] | None:
        """The runs asked for, or None for all of them."""
        keys = [key.strip() for key in self.trainer_runs.split(",") if key.strip()]
        return keys or None


class ReportSettings(StoreSettings):
    """What ``python -m trainer report`` writes, and the addresses its links point at."""

    report_dir: Path = Field(Path("reports"), description="where experiment-report.md/.html/.docx go")
    report_log_artifacts: bool = Field(True, description="also log the report as artifacts of the best run")
    mlflow_ui_url: str = Field(
        "", description="MLflow UI address for links; empty = the tracking URI (web) or http://localhost:5000"
    )
    frontend_url: str = Field("http://localhost", description="the drawing page, for the links section")

    @property
    def ui_url(self) -> str:
        """The MLflow UI's address as a person opens it."""
        web = self.mlflow_tracking_uri if self.mlflow_tracking_uri.startswith(("http://", "https://")) else ""
        return (self.mlflow_ui_url or web or "http://localhost:5000").rstrip("/")
