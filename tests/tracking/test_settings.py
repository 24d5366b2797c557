"""The tracking service's settings and the ``mlflow server`` command and environment made from them."""

import pytest
from pydantic import ValidationError

from tracking.entrypoint import server_command, server_environment
from tracking.settings import TrackingSettings, describe

REQUIRED = {"POSTGRES_PASSWORD": "p@ss:w/rd", "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret"}


@pytest.fixture()
def environment(monkeypatch):
    """The required variables set, every other tracking variable unset."""
    for name in TrackingSettings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_defaults_and_the_uris_made_from_them(environment):
    settings = TrackingSettings(postgres_host="postgres")
    assert settings.backend_store_uri == "postgresql+psycopg2://mlflow:p%40ss%3Aw%2Frd@postgres:5432/mlflow"
    assert settings.artifacts_destination == "s3-proxied://mlflow/", "S3 through the server only"
    assert settings.mlflow_port == 5000 and settings.mlflow_workers == 2
    assert "p@ss" not in repr(settings), "secrets never show in a printed settings object"


def test_server_command_proxies_artifacts_and_lists_allowed_hosts(environment):
    command = server_command(TrackingSettings())
    assert command[1:4] == ["-m", "mlflow", "server"]
    assert command[command.index("--artifacts-destination") + 1] == "s3-proxied://mlflow/"
    assert "--serve-artifacts" in command
    assert "--default-artifact-root" not in command
    hosts = command[command.index("--allowed-hosts") + 1].split(",")
    assert {"tracking", "localhost:*", "127.0.0.1:*"} <= set(hosts)
    assert "p@ss" not in " ".join(command), "the database password must not be in the process list"
    assert command[command.index("--expose-prometheus") + 1] == "/tmp/mlflow-metrics"


def test_server_environment_carries_store_uri_and_disables_jobs(environment):
    env = server_environment(TrackingSettings())
    assert env["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://")
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert env["AWS_SECRET_ACCESS_KEY"] == "secret"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"POSTGRES_PASSWORD": ""}, "POSTGRES_PASSWORD must be set"),
        ({"AWS_ACCESS_KEY_ID": ""}, "AWS_ACCESS_KEY_ID must be set"),
        ({"MLFLOW_PORT": "http"}, "MLFLOW_PORT: Input should be a valid integer"),
        ({"MLFLOW_ALLOWED_HOSTS": "localhost,*"}, "not '*'"),
    ],
)
def test_bad_settings_are_readable_errors(environment, override, message):
    for name, value in override.items():
        environment.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        TrackingSettings()
    assert message in describe(error.value)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "localhost"])
def test_default_passwords_are_fine_on_loopback(environment, address):
    environment.setenv("POSTGRES_PASSWORD", "change-me-postgres")
    environment.setenv("PUBLISH_ADDRESS", address)
    assert TrackingSettings().publish_address == address


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20", "mlflow.example.org"])
def test_a_default_password_published_beyond_loopback_is_refused_by_name(environment, address):
    environment.setenv("PUBLISH_ADDRESS", address)
    environment.setenv("AWS_SECRET_ACCESS_KEY", "change-me-minio-password")
    with pytest.raises(ValidationError) as refused:
        TrackingSettings()
    message = describe(refused.value)
    assert message.startswith(f"refusing to start: published on {address}")
    assert "AWS_SECRET_ACCESS_KEY" in message and "POSTGRES_PASSWORD" not in message
    environment.setenv("AWS_SECRET_ACCESS_KEY", "a-real-secret")
    assert TrackingSettings().publish_address == address
