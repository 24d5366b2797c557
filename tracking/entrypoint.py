"""Prepare PostgreSQL and S3 for MLflow, then replace this process with ``mlflow server``.

In order: wait (bounded) for PostgreSQL and the S3 endpoint; create the artifact bucket if it is
missing; upgrade the database schema if it is out of date (a fresh database is initialised by the
server itself); ``exec`` the server, so it receives the container's signals directly.
"""

from __future__ import annotations

import configparser
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

from tracking.settings import ConfigError, TrackingSettings, load_settings


class DependencyError(Exception):
    """PostgreSQL or S3 is unreachable, refuses our credentials, or cannot be prepared."""


def wait_for(what: str, attempt: Callable[[], None], timeout: float, poll: float = 1.0) -> None:
    """Call ``attempt`` until it stops raising, or raise ``DependencyError`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            attempt()
            print(f"[tracking] {what} is up", flush=True)
            return
        except Exception as exc:  # any failure means "not ready yet" until the deadline
            if time.monotonic() >= deadline:
                raise DependencyError(f"{what} not ready after {timeout:.0f}s: {exc}") from exc
            print(f"[tracking] waiting for {what}: {str(exc).strip().splitlines()[0][:160]}", flush=True)
            time.sleep(poll)


def _connect_postgres(settings: TrackingSettings) -> None:
    connection = psycopg2.connect(
        host=settings.postgres_host,
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password,
        dbname=settings.postgres_db,
        connect_timeout=5,
    )
    connection.close()


def s3_client(settings: TrackingSettings):  # boto3 clients are generated classes: no static type
    """A boto3 S3 client for the configured endpoint, with short timeouts and path-style URLs."""
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )


def ensure_bucket(settings: TrackingSettings) -> bool:
    """Create the artifact bucket if it does not exist; return True when it was created."""
    client = s3_client(settings)
    try:
        client.head_bucket(Bucket=settings.bucket)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise DependencyError(f"cannot use bucket {settings.bucket!r}: {exc}") from exc
    try:
        client.create_bucket(Bucket=settings.bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):  # a racing second replica
            raise DependencyError(f"cannot create bucket {settings.bucket!r}: {exc}") from exc
    return True


def schema_state(uri: str) -> str:
    """``"empty"`` (fresh database), ``"current"``, or ``"outdated"`` relative to this MLflow."""
    import sqlalchemy

    # MLflow's own helpers: the same revision logic `mlflow server` checks at start-up.
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
        print("[tracking] database schema is out of date: running mlflow db upgrade", flush=True)
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
        sys.executable, "-m", "mlflow", "server",
        "--artifacts-destination", settings.artifacts_destination,
        "--serve-artifacts",
        "--host", settings.host,
        "--port", str(settings.port),
        "--workers", str(settings.workers),
        "--allowed-hosts", settings.allowed_hosts,
    ]  # fmt: skip
    return [*command, "--app-name", "basic-auth"] if settings.auth_enabled else command


def write_auth_config(settings: TrackingSettings, folder: Path) -> Path:
    """Write MLflow's basic-auth configuration file into ``folder``.

    The admin password is not in it: MLflow reads MLFLOW_AUTH_ADMIN_PASSWORD from the environment
    when it creates the admin user (once, in an empty user store).
    """
    config = configparser.ConfigParser()
    config["mlflow"] = {
        "default_permission": "READ",
        "database_uri": settings.auth_database_uri,
        "admin_username": settings.auth_admin_username,
        "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
    }
    if settings.auth_database_uri.startswith("sqlite:///"):
        Path(settings.auth_database_uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    path = folder / "basic_auth.ini"
    with path.open("w") as handle:
        config.write(handle)
    return path


def server_environment(settings: TrackingSettings) -> dict[str, str]:
    """The server's environment: S3 credentials for the artifact proxy, job execution off by default."""
    env = dict(os.environ)
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    env["MLFLOW_BACKEND_STORE_URI"] = settings.backend_store_uri
    env["MLFLOW_S3_ENDPOINT_URL"] = settings.s3_endpoint
    env["AWS_ACCESS_KEY_ID"] = settings.s3_access_key
    env["AWS_SECRET_ACCESS_KEY"] = settings.s3_secret_key
    env["AWS_DEFAULT_REGION"] = settings.s3_region
    if settings.auth_enabled:
        env["MLFLOW_AUTH_CONFIG_PATH"] = str(write_auth_config(settings, Path(tempfile.mkdtemp(prefix="mlflow-auth-"))))
        # Signs the UI's CSRF tokens; every worker must share it. Random per start unless set.
        env.setdefault("MLFLOW_FLASK_SERVER_SECRET_KEY", secrets.token_hex(32))
    return env


def prepare(settings: TrackingSettings) -> None:
    """Everything before the server starts: wait for both stores, bucket, schema."""
    wait_for("PostgreSQL", lambda: _connect_postgres(settings), settings.wait_seconds)
    wait_for("S3", lambda: s3_client(settings).list_buckets(), settings.wait_seconds)
    created = ensure_bucket(settings)
    print(f"[tracking] bucket {settings.bucket!r} {'created' if created else 'exists'}", flush=True)
    state = ensure_schema(settings)
    print(f"[tracking] database schema: {state}", flush=True)


def main() -> int:
    """Prepare the stores and exec the server; return a non-zero code with a clear message on failure."""
    try:
        settings = load_settings()
        prepare(settings)
    except (ConfigError, DependencyError, BotoCoreError, psycopg2.Error) as exc:
        print(f"[tracking] error: {exc}", file=sys.stderr, flush=True)
        return 1
    command = server_command(settings)
    auth = f"basic-auth, admin user {settings.auth_admin_username!r}" if settings.auth_enabled else "off"
    print(f"[tracking] starting mlflow server on {settings.host}:{settings.port}; authentication: {auth}", flush=True)
    os.execve(command[0], command, server_environment(settings))
    return 0  # not reached: execve replaces the process
