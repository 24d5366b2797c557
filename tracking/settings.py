"""Everything the tracking service can be told, in one class: each field is the environment variable of its name.

``TrackingSettings()`` reads ``POSTGRES_HOST``, ``MLFLOW_S3_ENDPOINT_URL``, ... (upper case; an
empty variable counts as unset) and checks them. Nothing else in the service reads the
environment; the entrypoint hands MLflow what it needs. See docs/configuration.md.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The artifact store's URI scheme: S3 through the server only (tracking/artifacts.py).
PROXIED_S3_SCHEME = "s3-proxied"
# compose.yaml's fallback passwords start so (see .env.example): fine on this machine only.
DEFAULT_SECRET_PREFIX = "change-me"


class TrackingSettings(BaseSettings):
    """The tracking server's stores, address and options."""

    model_config = SettingsConfigDict(env_ignore_empty=True, frozen=True)

    postgres_host: str = Field("localhost", description="PostgreSQL server (runs, metrics, registry)")
    postgres_port: int = Field(5432, ge=1, le=65535)
    postgres_user: str = "mlflow"
    postgres_password: SecretStr = Field(description="required")
    postgres_db: str = "mlflow"
    mlflow_s3_endpoint_url: str = Field("http://localhost:9000", description="S3 endpoint of the artifact store")
    aws_access_key_id: SecretStr = Field(description="required; S3 credentials, used only by this service")
    aws_secret_access_key: SecretStr = Field(description="required")
    aws_default_region: str = "us-east-1"
    mlflow_artifacts_bucket: str = Field("mlflow", description="bucket of the artifacts (created if missing)")
    mlflow_host: str = Field("127.0.0.1", description="address the server listens on (0.0.0.0 in the image)")
    mlflow_port: int = Field(5000, ge=1, le=65535)
    mlflow_allowed_hosts: str = Field(
        "tracking,tracking:*,localhost,localhost:*,127.0.0.1,127.0.0.1:*",
        description="Host headers the server accepts (MLflow >= 3.5 refuses others); never '*'",
    )
    mlflow_workers: int = Field(2, ge=1, description="server worker processes")
    mlflow_metrics_dir: str = Field(
        "/tmp/mlflow-metrics", description="Prometheus metrics at /metrics (--expose-prometheus); empty = off"
    )
    mlflow_server_enable_job_execution: bool = Field(False, description="MLflow's job runner (~2.3 GB more when on)")
    dependency_wait_seconds: float = Field(60, ge=0, description="how long to wait for PostgreSQL and S3 at start")
    mlflow_auth_admin_password: SecretStr = Field(SecretStr(""), description="set: MLflow's basic-auth login is on")
    mlflow_auth_admin_username: str = "admin"
    mlflow_auth_database_uri: str = Field(
        "sqlite:////var/lib/mlflow-auth/basic_auth.db", description="where basic-auth keeps users and permissions"
    )
    publish_address: str = Field(
        "127.0.0.1", description="where compose publishes the UI; beyond loopback, default passwords are refused"
    )
    mlflow_flask_server_secret_key: SecretStr = Field(
        SecretStr(""), description="signs the UI's CSRF tokens with basic-auth; empty = random per start"
    )

    @field_validator("mlflow_allowed_hosts")
    @classmethod
    def _named_hosts(cls, hosts: str) -> str:
        if "*" in [host.strip() for host in hosts.split(",")]:
            raise ValueError("MLFLOW_ALLOWED_HOSTS must list host names, not '*' (it turns off the protection)")
        return hosts

    @model_validator(mode="after")
    def _no_default_secret_beyond_loopback(self) -> TrackingSettings:
        if is_loopback(self.publish_address):
            return self
        secrets = {
            "POSTGRES_PASSWORD": self.postgres_password,
            "AWS_ACCESS_KEY_ID": self.aws_access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.aws_secret_access_key,
        }
        defaults = [
            name for name, value in secrets.items() if value.get_secret_value().startswith(DEFAULT_SECRET_PREFIX)
        ]
        if defaults:
            raise ValueError(
                f"refusing to start: published on {self.publish_address} with default password(s) "
                f"{', '.join(defaults)}; set them in .env (see .env.example), or publish on 127.0.0.1"
            )
        return self

    @property
    def auth_enabled(self) -> bool:
        """MLflow's basic-auth app is on when an admin password is configured."""
        return bool(self.mlflow_auth_admin_password.get_secret_value())

    @property
    def backend_store_uri(self) -> str:
        """SQLAlchemy URI with the psycopg2 driver (plain ``postgresql://`` would want psycopg 3)."""
        user = quote(self.postgres_user, safe="")
        password = quote(self.postgres_password.get_secret_value(), safe="")
        return f"postgresql+psycopg2://{user}:{password}@{self.postgres_host}:{self.postgres_port}/{self.postgres_db}"

    @property
    def artifacts_destination(self) -> str:
        """Where the server itself stores artifacts; clients reach them through the server only."""
        return f"{PROXIED_S3_SCHEME}://{self.mlflow_artifacts_bucket}/"


def is_loopback(address: str) -> bool:
    """Whether ``address`` (an IP or host name) reaches this machine only."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False  # a host name: reachable from elsewhere


def describe(error: ValidationError) -> str:
    """What is wrong with which variables, in one line."""
    return "; ".join(_describe_one(e) for e in error.errors())


def _describe_one(e: dict) -> str:
    if not e["loc"]:  # a check across several variables: its message names them
        return e["msg"].removeprefix("Value error, ")
    name = str(e["loc"][0]).upper()
    return f"{name} must be set" if e["type"] == "missing" else f"{name}: {e['msg']}"
