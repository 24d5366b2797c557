"""Connecting to MLflow: a remote tracking server, or an embedded store on the local disk."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit, urlunsplit

import mlflow
import requests
from mlflow.environment_variables import (
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES,
    MLFLOW_HTTP_REQUEST_TIMEOUT,
)
from mlflow.exceptions import MlflowException
from sqlalchemy.exc import SQLAlchemyError

from trainer.settings import StoreSettings


class TrackingUnavailableError(Exception):
    """The tracking server did not answer within the configured wait."""


class TrackingLoginRequiredError(Exception):
    """The tracking server refuses the trainer's login, or the lack of one (HTTP 401/403)."""


# Default ports of the database servers a tracking URI can name (when the URI gives none).
DATABASE_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}


# What MLflow answers when a registered model, version or alias does not exist (stores differ).
NOT_FOUND_CODES = frozenset({"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"})


def is_not_found(exc: MlflowException) -> bool:
    """Whether MLflow's error says that what was asked for does not exist."""
    return exc.error_code in NOT_FOUND_CODES


def _probe(uri: str) -> str | None:
    """One reachability check of ``uri``: None when it answers, else what went wrong."""
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+", 1)[0]
    try:
        if scheme in ("http", "https"):
            response = requests.get(f"{uri.rstrip('/')}/health", timeout=5)
            if response.status_code == 200:
                return None
            return f"HTTP {response.status_code}: {response.text[:200].strip()}"
        # A database server: its port must accept connections (MLflow itself would retry for ~100 s).
        with socket.create_connection((parts.hostname, parts.port or DATABASE_PORTS[scheme]), timeout=5):
            return None
    except (requests.RequestException, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"


def wait_for_server(uri: str, timeout_seconds: float, poll_seconds: float = 2.0) -> None:
    """Poll the tracking server (``/health``) or database server until it answers.

    Raises ``TrackingUnavailableError`` at the deadline. File and SQLite URIs need no server.
    """
    parts = urlsplit(uri)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("http", "https", *DATABASE_PORTS) or (scheme in DATABASE_PORTS and not parts.hostname):
        return
    deadline = time.monotonic() + timeout_seconds
    while (problem := _probe(uri)) is not None:
        if time.monotonic() >= deadline:
            raise TrackingUnavailableError(
                f"tracking server {redacted(uri)} is not reachable after {timeout_seconds:.0f}s ({problem}). "
                "Start it (docker compose up -d tracking) or unset MLFLOW_TRACKING_URI to use the "
                "embedded local store."
            )
        time.sleep(poll_seconds)


def check_login(settings: StoreSettings) -> None:
    """Ask the tracking server for one experiment with the trainer's login, as MLflow's client would send it.

    Raises ``TrackingLoginRequiredError`` on 401/403, before any run starts.
    """
    password = settings.mlflow_tracking_password.get_secret_value()
    auth = (settings.mlflow_tracking_username, password) if settings.mlflow_tracking_username and password else None
    search = f"{settings.tracking_uri.rstrip('/')}/api/2.0/mlflow/experiments/search"
    response = requests.get(search, params={"max_results": 1}, auth=auth, timeout=10)
    if response.status_code in (401, 403):
        raise TrackingLoginRequiredError(
            f"the tracking server {redacted(settings.tracking_uri)} refused the login (HTTP {response.status_code}): "
            "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (in the stack: MLFLOW_AUTH_ADMIN_USERNAME / "
            "MLFLOW_AUTH_ADMIN_PASSWORD in .env)."
        )


def configure_client(settings: StoreSettings) -> None:
    """Hand MLflow's client the trainer's retry settings, through MLflow's own configuration API.

    MLflow takes no retry or timeout argument: it reads these per request from its environment
    variables, which ``mlflow.environment_variables`` sets.
    """
    MLFLOW_HTTP_REQUEST_MAX_RETRIES.set(settings.mlflow_http_request_max_retries)
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR.set(settings.mlflow_http_request_backoff_factor)
    MLFLOW_HTTP_REQUEST_TIMEOUT.set(settings.mlflow_http_request_timeout)


def redacted(uri: str) -> str:
    """``uri`` without its password, for messages and logs."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def connect(settings: StoreSettings) -> str:
    """Point MLflow at the configured store, make sure the experiment exists, return its id."""
    uri = settings.tracking_uri
    if settings.embedded:
        settings.trainer_local_store.mkdir(parents=True, exist_ok=True)
        artifact_location = (settings.trainer_local_store / "artifacts").resolve().as_uri()
    else:
        wait_for_server(uri, settings.tracking_wait_seconds)
        if urlsplit(uri).scheme in ("http", "https"):
            check_login(settings)
        artifact_location = None  # the server decides (proxied mlflow-artifacts:/ in the stack)
    configure_client(settings)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        experiment = mlflow.get_experiment_by_name(settings.mlflow_experiment_name)
    except SQLAlchemyError as exc:  # a database URI whose server is down or refuses the credentials
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise TrackingUnavailableError(f"the tracking database {redacted(uri)} cannot be used: {reason}") from None
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(settings.mlflow_experiment_name, artifact_location=artifact_location)


def where_results_went(settings: StoreSettings) -> str:
    """A sentence telling a person where to look at the runs."""
    if settings.embedded:
        return (
            f"Results are in {settings.trainer_local_store.resolve()} (embedded store). "
            f"Open the UI with: mlflow ui --backend-store-uri {settings.tracking_uri} --port 5000"
        )
    return f"Results are on the tracking server: {redacted(settings.tracking_uri)}"
