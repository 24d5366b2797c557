"""Tracking-service configuration from environment variables, with documented defaults.

| env var                            | default                                          |
|------------------------------------|--------------------------------------------------|
| POSTGRES_HOST / POSTGRES_PORT      | postgres / 5432                                  |
| POSTGRES_USER / POSTGRES_DB        | mlflow / mlflow                                  |
| POSTGRES_PASSWORD                  | (required)                                       |
| MLFLOW_S3_ENDPOINT_URL             | http://minio:9000                                |
| AWS_ACCESS_KEY_ID / _SECRET_...KEY | (required; used only by this service)            |
| AWS_DEFAULT_REGION                 | us-east-1                                        |
| MLFLOW_ARTIFACTS_BUCKET            | mlflow                                           |
| MLFLOW_HOST / MLFLOW_PORT          | 0.0.0.0 / 5000                                   |
| MLFLOW_ALLOWED_HOSTS               | tracking,tracking:*,localhost,localhost:*,127.0.0.1,127.0.0.1:* |
| MLFLOW_WORKERS                     | 2                                                |
| MLFLOW_SERVER_ENABLE_JOB_EXECUTION | false (MLflow's own variable, passed through)    |
| DEPENDENCY_WAIT_SECONDS            | 60                                               |
| MLFLOW_AUTH_ADMIN_PASSWORD         | (empty: no authentication; set: basic-auth on)   |
| MLFLOW_AUTH_ADMIN_USERNAME         | admin                                            |
| MLFLOW_AUTH_DATABASE_URI           | sqlite:////var/lib/mlflow-auth/basic_auth.db     |
| MLFLOW_FLASK_SERVER_SECRET_KEY     | (random per start; MLflow's own variable)        |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

DEFAULT_AUTH_DATABASE_URI = "sqlite:////var/lib/mlflow-auth/basic_auth.db"  # users and permissions (a volume)
DEFAULT_ALLOWED_HOSTS = "tracking,tracking:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*"


class ConfigError(Exception):
    """A required setting is missing or malformed."""


@dataclass(frozen=True)
class TrackingSettings:
    """Everything the entrypoint needs to prepare the stores and start the server."""

    postgres_host: str
    postgres_port: int
    postgres_user: str
    postgres_password: str
    postgres_db: str
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key: str
    s3_region: str
    bucket: str
    host: str
    port: int
    allowed_hosts: str
    workers: int
    wait_seconds: float
    auth_admin_username: str = "admin"
    auth_admin_password: str = ""  # empty: the server runs without authentication
    auth_database_uri: str = DEFAULT_AUTH_DATABASE_URI

    @property
    def auth_enabled(self) -> bool:
        """MLflow's basic-auth app is on when an admin password is configured."""
        return bool(self.auth_admin_password)

    @property
    def backend_store_uri(self) -> str:
        """SQLAlchemy URI with the psycopg2 driver (plain ``postgresql://`` would want psycopg 3)."""
        user, password = quote(self.postgres_user, safe=""), quote(self.postgres_password, safe="")
        return f"postgresql+psycopg2://{user}:{password}@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"

    @property
    def artifacts_destination(self) -> str:
        """Where the server itself stores artifacts; clients reach them through the server."""
        return f"s3://{self.bucket}/"


def _get(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name, "").strip() or default
    if value is None:
        raise ConfigError(f"{name} must be set")
    return value


def _get_number(env: Mapping[str, str], name: str, default: str, kind: type) -> int | float:
    raw = _get(env, name, default)
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def load_settings(env: Mapping[str, str] | None = None) -> TrackingSettings:
    """Read the settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env
    allowed_hosts = _get(env, "MLFLOW_ALLOWED_HOSTS", DEFAULT_ALLOWED_HOSTS)
    if "*" in [host.strip() for host in allowed_hosts.split(",")]:
        # "*" turns off MLflow's DNS-rebinding protection; name the hosts instead.
        raise ConfigError("MLFLOW_ALLOWED_HOSTS must list host names, not '*'")
    return TrackingSettings(
        postgres_host=_get(env, "POSTGRES_HOST", "postgres"),
        postgres_port=_get_number(env, "POSTGRES_PORT", "5432", int),
        postgres_user=_get(env, "POSTGRES_USER", "mlflow"),
        postgres_password=_get(env, "POSTGRES_PASSWORD"),
        postgres_db=_get(env, "POSTGRES_DB", "mlflow"),
        s3_endpoint=_get(env, "MLFLOW_S3_ENDPOINT_URL", "http://minio:9000"),
        s3_access_key=_get(env, "AWS_ACCESS_KEY_ID"),
        s3_secret_key=_get(env, "AWS_SECRET_ACCESS_KEY"),
        s3_region=_get(env, "AWS_DEFAULT_REGION", "us-east-1"),
        bucket=_get(env, "MLFLOW_ARTIFACTS_BUCKET", "mlflow"),
        host=_get(env, "MLFLOW_HOST", "0.0.0.0"),  # in a container: all interfaces
        port=_get_number(env, "MLFLOW_PORT", "5000", int),
        allowed_hosts=allowed_hosts,
        workers=_get_number(env, "MLFLOW_WORKERS", "2", int),
        wait_seconds=_get_number(env, "DEPENDENCY_WAIT_SECONDS", "60", float),
        auth_admin_username=_get(env, "MLFLOW_AUTH_ADMIN_USERNAME", "admin"),
        auth_admin_password=env.get("MLFLOW_AUTH_ADMIN_PASSWORD", ""),
        auth_database_uri=_get(env, "MLFLOW_AUTH_DATABASE_URI", DEFAULT_AUTH_DATABASE_URI),
    )
