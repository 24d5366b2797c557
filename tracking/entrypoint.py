"""Prepare PostgreSQL and S3 for MLflow, then replace this process with ``mlflow server``.

In order: wait (bounded) for PostgreSQL and the S3 endpoint; create the artifact bucket if it is
missing; upgrade the database schema if it is out of date (a fresh database is initialised by the
server itself); ``exec`` the server, so it receives the container's signals directly.
"""

from __future__ import annotations

import configparser
import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import boto3
import psycopg2
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from tracking.settings import TrackingSettings, describe

log = logging.getLogger(__name__)


class DependencyError(Exception):
    """PostgreSQL or S3 is unreachable, refuses our credentials, or cannot be prepared."""


def wait_for(what: str, attempt: Callable[[], None], timeout: float, poll: float = 1.0) -> None:
    """Call ``attempt`` until it stops raising, or raise ``DependencyError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            attempt()
            log.info("%s is up", what)
            return
        except Exception as exc:  # any failure means "not ready yet" until the deadline
            if time.monotonic() >= deadline:
                raise DependencyError(f"{what} not ready after {timeout:.0f}s: {exc}") from exc
            log.info("waiting for %s: %s", what, str(exc).strip().splitlines()[0][:160])
            time.sleep(poll)


def _connect_postgres(settings: TrackingSettings) -> None:
    connection = psycopg2.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password.get_secret_value(),
        dbname=settings.postgres_db,
        connect_timeout=5,
    )
    connection.close()


def s3_client(settings: TrackingSettings):  # boto3 clients are generated classes: no static type
    """A boto3 S3 client for the configured endpoint, with short timeouts and path-style URLs."""
    return boto3.client(
        "s3",
        endpoint_url=settings.mlflow_s3_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id.get_secret_value(),
        aws_secret_access_key=settings.aws_secret_access_key.get_secret_value(),
        region_name=settings.aws_default_region,
        config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def ensure_bucket(settings: TrackingSettings) -> bool:
    """Create the artifact bucket if it does not exist; return True when it was created."""
    client, bucket = s3_client(settings), settings.mlflow_artifacts_bucket
    try:
        client.head_bucket(Bucket=bucket)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise DependencyError(f"cannot use bucket {bucket!r}: {exc}") from exc
    try:
        client.create_bucket(Bucket=bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):  # a racing second replica
            raise DependencyError(f"cannot create bucket {bucket!r}: {exc}") from exc
    return True


def schema_state(uri: str) -> str:
    """``"empty"`` (fresh database), ``"current"``, or ``"outdated"`` relative to this MLflow."""
    import sqlalchemy

    # MLflow's own helpers, private (no public API says whether the schema is current): the revision
    # logic `mlflow server` checks at start-up. tests/tracking/test_stores.py fails if an upgrade breaks them.
    from mlflow.store.db.utils import _get_latest_schema_revision, _get_schema_version, _is_empty_database

    engine = sqlalchemy.create_engine(uri)
    try:
        if _is_empty_database(engine):
            return "empty"
        return "current" if _get_schema_version(engine) == _get_latest_schema_revision() else "outdated"
    finally:
        engine.dispose()


def ensure_schema(settings: TrackingSettings) -> str:
    """Run ``mlflow db upgrade`` when the schema is out of date; return the state found."""
    state = schema_state(settings.backend_store_uri)
    if state == "outdated":
        log.info("database schema is out of date: running mlflow db upgrade")
        result = subprocess.run(
            [sys.executable, "-m", "mlflow", "db", "upgrade", settings.backend_store_uri], check=False
        )
        if result.returncode != 0:
            raise DependencyError("mlflow db upgrade failed; the database is unchanged or partly migrated")
    return state


def server_command(settings: TrackingSettings) -> list[str]:
    """The ``mlflow server`` command line: PostgreSQL backend, proxied S3 artifacts, explicit hosts."""
    # --backend-store-uri comes from MLFLOW_BACKEND_STORE_URI (see server_environment), so the
    # database password never shows in the process list.
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--artifacts-destination",
        settings.artifacts_destination,
        "--serve-artifacts",
        "--host",
        settings.mlflow_host,
        "--port",
        str(settings.mlflow_port),
        "--workers",
        str(settings.mlflow_workers),
        "--allowed-hosts",
        settings.mlflow_allowed_hosts,
    ]
    if settings.mlflow_metrics_dir:
        command += ["--expose-prometheus", settings.mlflow_metrics_dir]
    return [*command, "--app-name", "basic-auth"] if settings.auth_enabled else command


def write_auth_config(settings: TrackingSettings, folder: Path) -> Path:
    """Write MLflow's basic-auth configuration file into ``folder``.

    The admin password is not in it: MLflow reads MLFLOW_AUTH_ADMIN_PASSWORD from the environment
    when it creates the admin user (once, in an empty user store).
    """
    config = configparser.ConfigParser()
    config["mlflow"] = {
        "default_permission": "READ",
        "database_uri": settings.mlflow_auth_database_uri,
        "admin_username": settings.mlflow_auth_admin_username,
        "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
    }
    database = settings.mlflow_auth_database_uri
    if database.startswith("sqlite:///"):
        Path(database.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    path = folder / "basic_auth.ini"
    with path.open("w") as handle:
        config.write(handle)
    return path


def server_environment(settings: TrackingSettings) -> dict[str, str]:
    """The server's environment: this one, plus what MLflow reads from the settings."""
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": str(settings.mlflow_server_enable_job_execution).lower(),
        "MLFLOW_BACKEND_STORE_URI": settings.backend_store_uri,
        "MLFLOW_S3_ENDPOINT_URL": settings.mlflow_s3_endpoint_url,
        "AWS_ACCESS_KEY_ID": settings.aws_access_key_id.get_secret_value(),
        "AWS_SECRET_ACCESS_KEY": settings.aws_secret_access_key.get_secret_value(),
        "AWS_DEFAULT_REGION": settings.aws_default_region,
    }
    if settings.auth_enabled:
        env["MLFLOW_AUTH_CONFIG_PATH"] = str(write_auth_config(settings, Path(tempfile.mkdtemp(prefix="mlflow-auth-"))))
        # Signs the UI's CSRF tokens; every worker must share it.
        env["MLFLOW_FLASK_SERVER_SECRET_KEY"] = settings.mlflow_flask_server_secret_key.get_secret_value() or (
            secrets.token_hex(32)
        )
    return env


def prepare(settings: TrackingSettings) -> None:
    """Everything before the server starts: wait for both stores, bucket, schema."""
    wait_for("PostgreSQL", lambda: _connect_postgres(settings), settings.dependency_wait_seconds)
    wait_for("S3", lambda: s3_client(settings).list_buckets(), settings.dependency_wait_seconds)
    created = ensure_bucket(settings)
    bucket = settings.mlflow_artifacts_bucket
    log.info("bucket %r %s", bucket, "created" if created else "exists")
    state = ensure_schema(settings)
    log.info("database schema: %s", state)


def main() -> int:
    """Prepare the stores and exec the server; return a non-zero code with a clear message on failure."""
    logging.basicConfig(level=logging.INFO, format="[tracking] %(levelname)s %(message)s", stream=sys.stderr)
    try:
        settings = TrackingSettings()
    except ValidationError as exc:
        log.error("bad configuration: %s", describe(exc))
        return 1
    try:
        prepare(settings)
    except (DependencyError, BotoCoreError, psycopg2.Error) as exc:
        log.error("%s", exc)
        return 1
    command = server_command(settings)
    auth = f"basic-auth, admin user {settings.mlflow_auth_admin_username!r}" if settings.auth_enabled else "off"
    address = f"{settings.mlflow_host}:{settings.mlflow_port}"
    log.info("starting mlflow server on %s; authentication: %s", address, auth)
    os.execve(command[0], command, server_environment(settings))
    return 0  # not reached: execve replaces the process
