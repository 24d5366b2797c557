import pytest

from tracking.entrypoint import server_command, server_environment
from tracking.settings import ConfigError, load_settings

REQUIRED = {"POSTGRES_PASSWORD": "p@ss:w/rd", "AWS_ACCESS_KEY_ID": "key", "AWS_SECRET_ACCESS_KEY": "secret"}


def test_defaults_point_at_the_compose_services():
    settings = load_settings(REQUIRED)
    assert settings.backend_store_uri == "postgresql+psycopg2://mlflow:p%40ss%3Aw%2Frd@postgres:5432/mlflow"
    assert settings.s3_endpoint == "http://minio:9000"
    assert settings.artifacts_destination == "s3://mlflow/"
    assert settings.port == 5000 and settings.workers == 2


def test_server_command_proxies_artifacts_and_lists_allowed_hosts():
    settings = load_settings(REQUIRED)
    command = server_command(settings)
    assert command[1:4] == ["-m", "mlflow", "server"]
    assert command[command.index("--artifacts-destination") + 1] == "s3://mlflow/"
    assert "--serve-artifacts" in command
    assert "--default-artifact-root" not in command
    hosts = command[command.index("--allowed-hosts") + 1].split(",")
    assert {"tracking", "localhost:*", "127.0.0.1:*"} <= set(hosts)
    assert "p@ss" not in " ".join(command), "the database password must not be in the process list"


def test_server_environment_carries_store_uri_and_disables_jobs(monkeypatch):
    monkeypatch.delenv("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", raising=False)
    env = server_environment(load_settings(REQUIRED))
    assert env["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql+psycopg2://")
    assert env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    assert env["AWS_SECRET_ACCESS_KEY"] == "secret"


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"POSTGRES_PASSWORD": ""}, "POSTGRES_PASSWORD must be set"),
        ({"AWS_ACCESS_KEY_ID": ""}, "AWS_ACCESS_KEY_ID must be set"),
        ({"MLFLOW_PORT": "http"}, "MLFLOW_PORT must be a number"),
        ({"MLFLOW_ALLOWED_HOSTS": "localhost,*"}, "not '\\*'"),
    ],
)
def test_bad_settings_are_config_errors(override, message):
    with pytest.raises(ConfigError, match=message):
        load_settings({**REQUIRED, **override})
