from pathlib import Path

import pytest

from trainer.settings import load_report_settings, load_settings


def test_defaults_without_environment(monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "MNIST_PATH", "TRAINER_EPOCHS", "TRAINER_RUNS", "FORCE_PROMOTE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings([])
    assert settings.embedded and settings.tracking_uri is None
    assert settings.mnist_path is None
    assert settings.model_name == "Mnist_Best_Model" and settings.model_alias == "production"
    assert settings.experiment_name == "mnist-cnn"
    assert settings.run_keys is None and settings.epochs_override == 0 and not settings.force_promote


def test_environment_then_flags_override(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    monkeypatch.setenv("MNIST_PATH", "/data/mnist.npz")
    monkeypatch.setenv("TRAINER_EPOCHS", "1")
    monkeypatch.setenv("TRAINER_RUNS", "baseline, tuned")
    monkeypatch.setenv("FORCE_PROMOTE", "true")
    settings = load_settings(["--epochs", "3"])
    assert not settings.embedded
    assert settings.mnist_path == Path("/data/mnist.npz")
    assert settings.epochs_override == 3
    assert settings.run_keys == ["baseline", "tuned"]
    assert settings.force_promote


def test_bad_numbers_are_readable_errors(monkeypatch, capsys):
    monkeypatch.setenv("TRAINER_EPOCHS", "many")
    with pytest.raises(SystemExit, match="TRAINER_EPOCHS must be a whole number"):
        load_settings([])
    monkeypatch.delenv("TRAINER_EPOCHS")
    with pytest.raises(SystemExit) as exit_info:
        load_settings(["--validation-fraction", "0.9"])
    assert exit_info.value.code == 2
    assert "--validation-fraction" in capsys.readouterr().err


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
    for load in (load_settings, load_report_settings):
        with pytest.raises(SystemExit) as exit_info:
            load([])
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "uri",
    ["http://tracking:5000", "https://mlflow.example.com", "sqlite:///mlruns/mlflow.db",
     "postgresql+psycopg2://mlflow:pw@db:5432/mlflow", "mysql://u:p@db/mlflow", "file:///tmp/mlruns"],
)  # fmt: skip
def test_every_kind_of_store_mlflow_supports_is_accepted(monkeypatch, uri):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert load_settings([]).tracking_uri == uri


def test_database_passwords_never_reach_messages():
    from trainer.tracking import redacted

    assert (
        redacted("postgresql+psycopg2://mlflow:s3cret@db:5432/mlflow")
        == "postgresql+psycopg2://mlflow:***@db:5432/mlflow"
    )
    assert redacted("http://tracking:5000") == "http://tracking:5000"
