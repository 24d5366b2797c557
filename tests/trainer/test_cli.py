"""The trainer's command line and settings: defaults, the environment, flags on top, readable errors."""

from pathlib import Path

import pytest

from trainer.cli import parse
from trainer.settings import ReportSettings, TrainerSettings
from trainer.tracking import redacted


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No trainer or report variable set, whatever the shell running the tests has."""
    for settings in (TrainerSettings, ReportSettings):
        for name in settings.model_fields:
            monkeypatch.delenv(name.upper(), raising=False)


def test_defaults_without_environment():
    command, settings = parse([])
    assert command == "train"
    assert settings.embedded and settings.tracking_uri.startswith("sqlite:///")
    assert settings.mnist_path is None
    assert settings.registered_model_name == "Mnist_Best_Model" and settings.model_alias == "production"
    assert settings.mlflow_experiment_name == "mnist-cnn"
    assert settings.run_keys is None and settings.trainer_epochs == 0 and not settings.force_promote


def test_environment_then_flags_override(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    monkeypatch.setenv("MNIST_PATH", "/data/mnist.npz")
    monkeypatch.setenv("TRAINER_EPOCHS", "1")
    monkeypatch.setenv("TRAINER_RUNS", "baseline, tuned")
    monkeypatch.setenv("FORCE_PROMOTE", "true")
    _, settings = parse(["--epochs", "3"])
    assert not settings.embedded
    assert settings.mnist_path == Path("/data/mnist.npz")
    assert settings.trainer_epochs == 3
    assert settings.run_keys == ["baseline", "tuned"]
    assert settings.force_promote


def test_report_is_a_subcommand_with_its_own_flags(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    command, settings = parse(["report", "--output-dir", "/tmp/out", "--no-log-artifacts"])
    assert command == "report" and isinstance(settings, ReportSettings)
    assert settings.report_dir == Path("/tmp/out") and not settings.report_log_artifacts
    assert settings.ui_url == "http://tracking:5000", "the tracking server's own address when no UI URL is set"


def test_bad_numbers_are_readable_errors(monkeypatch, capsys):
    monkeypatch.setenv("TRAINER_EPOCHS", "many")
    with pytest.raises(SystemExit) as exit_info:
        parse([])
    assert exit_info.value.code == 2
    assert "TRAINER_EPOCHS: Input should be a valid integer" in capsys.readouterr().err
    monkeypatch.delenv("TRAINER_EPOCHS")
    with pytest.raises(SystemExit) as exit_info:
        parse(["--validation-fraction", "0.9"])
    assert exit_info.value.code == 2
    assert "VALIDATION_FRACTION" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("htp://tracking:5000", "unsupported scheme 'htp'"),
        ("tracking:5000", "unsupported scheme 'tracking'"),
        ("s3://bucket/mlruns", "unsupported scheme 's3'"),
        ("http:///no-host", "names no host"),
    ],
)
def test_a_bad_tracking_uri_is_refused_before_any_work(monkeypatch, capsys, uri, message):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for command in (["train"], ["report"]):
        with pytest.raises(SystemExit) as exit_info:
            parse(command)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "uri",
    [
        "http://tracking:5000",
        "https://mlflow.example.com",
        "sqlite:///mlruns/mlflow.db",
        "postgresql+psycopg2://mlflow:pw@db:5432/mlflow",
        "mysql://u:p@db/mlflow",
        "file:///tmp/mlruns",
    ],
)
def test_every_kind_of_store_mlflow_supports_is_accepted(monkeypatch, uri):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert parse([])[1].tracking_uri == uri


def test_every_flag_names_its_variable_and_default(capsys):
    with pytest.raises(SystemExit):
        parse(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--epochs TRAINER_EPOCHS" in text and "(env TRAINER_EPOCHS; default 0)" in text
    assert "(env MLFLOW_TRACKING_URI; default unset)" in text


def test_database_passwords_never_reach_messages():
    assert (
        redacted("postgresql+psycopg2://mlflow:s3cret@db:5432/mlflow")
        == "postgresql+psycopg2://mlflow:***@db:5432/mlflow"
    )
    assert redacted("http://tracking:5000") == "http://tracking:5000"
