"""Trainer configuration: environment variables with documented defaults, overridable by CLI flags.

| env var                 | default             | meaning                                                  |
|-------------------------|---------------------|----------------------------------------------------------|
| MLFLOW_TRACKING_URI     | (unset)             | tracking server; unset = embedded SQLite store on disk   |
| TRAINER_LOCAL_STORE     | ./mlruns-local      | folder of the embedded store (used only when URI unset)  |
| MLFLOW_EXPERIMENT_NAME  | mnist-cnn           | experiment that holds the three runs                     |
| MNIST_PATH              | (unset)             | local Keras-format mnist.npz; unset = Keras download     |
| MNIST_TRAIN_LIMIT       | 0                   | use only the first N training images (0 = all 60,000)    |
| MNIST_TEST_LIMIT        | 0                   | use only the first N test images (0 = all 10,000)        |
| VALIDATION_FRACTION     | 0.1                 | share of the training images held out for validation     |
| TRAINER_EPOCHS          | 0                   | override every run's epochs (0 = each run's own)         |
| TRAINER_RUNS            | (all)               | comma-separated run keys: baseline,architecture,tuned    |
| TRAINER_SEED            | 42                  | seed for Python, NumPy and TensorFlow                    |
| REGISTERED_MODEL_NAME   | Mnist_Best_Model    | registry name of the promoted model                      |
| MODEL_ALIAS             | production          | alias the predictor serves                               |
| FORCE_PROMOTE           | false               | promote even if the current champion is as good          |
| TRACKING_WAIT_SECONDS   | 60                  | how long to wait for an unreachable tracking server      |
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

TRUE_WORDS = {"1", "true", "yes", "on"}
# Tracking URI schemes MLflow can store runs and models in (database URIs may name a driver: a+b://).
TRACKING_SCHEMES = {"http", "https", "sqlite", "postgresql", "mysql", "mssql", "file", "databricks"}


def tracking_uri_problem(uri: str | None) -> str | None:
    """Why ``uri`` cannot be a tracking URI, or None when it can (unset means the embedded store)."""
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


@dataclass(frozen=True)
class TrainerSettings:
    """Everything the trainer can be told, resolved from env vars and CLI flags."""

    tracking_uri: str | None
    local_store: Path
    experiment_name: str
    mnist_path: Path | None
    train_limit: int
    test_limit: int
    validation_fraction: float
    epochs_override: int
    run_keys: list[str] | None
    seed: int
    model_name: str
    model_alias: str
    force_promote: bool
    tracking_wait_seconds: float

    @property
    def embedded(self) -> bool:
        """True when no tracking server is configured and results go to a local store."""
        return not self.tracking_uri


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"error: {name} must be a whole number, got {raw!r}") from None


def _env_float(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"error: {name} must be a number, got {raw!r}") from None


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the runs and the registry are, and what they are called: shared by training and the report."""
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI") or None,
        help="MLflow tracking URI (env MLFLOW_TRACKING_URI; unset = embedded store)",
    )
    parser.add_argument(
        "--local-store",
        type=Path,
        default=Path(_env("TRAINER_LOCAL_STORE", "mlruns-local")),
        help="folder of the embedded store (env TRAINER_LOCAL_STORE)",
    )
    parser.add_argument(
        "--experiment",
        default=_env("MLFLOW_EXPERIMENT_NAME", "mnist-cnn"),
        help="experiment name (env MLFLOW_EXPERIMENT_NAME)",
    )
    parser.add_argument(
        "--model-name",
        default=_env("REGISTERED_MODEL_NAME", "Mnist_Best_Model"),
        help="registered model name (env REGISTERED_MODEL_NAME)",
    )
    parser.add_argument(
        "--alias",
        default=_env("MODEL_ALIAS", "production"),
        help="alias given to the promoted version (env MODEL_ALIAS)",
    )
    parser.add_argument(
        "--tracking-wait",
        type=float,
        default=_env_float("TRACKING_WAIT_SECONDS", 60),
        help="seconds to wait for the tracking server (env TRACKING_WAIT_SECONDS)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the CLI parser; every flag's default comes from its environment variable."""
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Train three tracked MNIST CNNs and promote the best to the model registry.",
    )
    add_store_arguments(parser)
    parser.add_argument(
        "--mnist-path",
        type=Path,
        default=os.environ.get("MNIST_PATH") or None,
        help="local Keras-format mnist.npz (env MNIST_PATH; unset = download)",
    )
    parser.add_argument(
        "--train-limit",
        type=int,
        default=_env_int("MNIST_TRAIN_LIMIT", 0),
        help="use the first N training images, 0 = all (env MNIST_TRAIN_LIMIT)",
    )
    parser.add_argument(
        "--test-limit",
        type=int,
        default=_env_int("MNIST_TEST_LIMIT", 0),
        help="use the first N test images, 0 = all (env MNIST_TEST_LIMIT)",
    )
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=_env_float("VALIDATION_FRACTION", 0.1),
        help="share of training images held out (env VALIDATION_FRACTION)",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=_env_int("TRAINER_EPOCHS", 0),
        help="override every run's epochs, 0 = each run's own (env TRAINER_EPOCHS)",
    )
    parser.add_argument(
        "--runs",
        default=os.environ.get("TRAINER_RUNS") or None,
        help="comma-separated run keys to execute (env TRAINER_RUNS; default all)",
    )
    parser.add_argument("--seed", type=int, default=_env_int("TRAINER_SEED", 42), help="random seed (env TRAINER_SEED)")
    parser.add_argument(
        "--force-promote",
        action="store_true",
        default=_env("FORCE_PROMOTE", "false").lower() in TRUE_WORDS,
        help="promote even when the current champion is as good (env FORCE_PROMOTE)",
    )
    return parser


def load_settings(argv: list[str] | None = None) -> TrainerSettings:
    """Parse ``argv`` (default: ``sys.argv``) on top of the environment and validate the result."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.train_limit < 0 or args.test_limit < 0 or args.epochs < 0:
        parser.error("--train-limit, --test-limit and --epochs must not be negative")
    if not 0.0 < args.validation_fraction < 0.5:
        parser.error("--validation-fraction must be between 0 and 0.5")
    if problem := tracking_uri_problem(args.tracking_uri):
        parser.error(problem)
    run_keys = [key.strip() for key in args.runs.split(",") if key.strip()] if args.runs else None
    return TrainerSettings(
        tracking_uri=args.tracking_uri,
        local_store=args.local_store,
        experiment_name=args.experiment,
        mnist_path=Path(args.mnist_path) if args.mnist_path else None,
        train_limit=args.train_limit,
        test_limit=args.test_limit,
        validation_fraction=args.validation_fraction,
        epochs_override=args.epochs,
        run_keys=run_keys,
        seed=args.seed,
        model_name=args.model_name,
        model_alias=args.alias,
        force_promote=args.force_promote,
        tracking_wait_seconds=args.tracking_wait,
    )


@dataclass(frozen=True)
class ReportSettings:
    """What ``python -m trainer.report`` reads and where it writes.

    | env var                | default               | meaning                                        |
    |------------------------|-----------------------|------------------------------------------------|
    | MLFLOW_TRACKING_URI    | (unset)               | tracking server; unset = the embedded store    |
    | TRAINER_LOCAL_STORE    | ./mlruns-local        | folder of the embedded store                   |
    | MLFLOW_EXPERIMENT_NAME | mnist-cnn             | experiment that holds the three runs           |
    | REGISTERED_MODEL_NAME  | Mnist_Best_Model      | registered model whose state is reported       |
    | MODEL_ALIAS            | production            | the alias the predictor serves                 |
    | REPORT_DIR             | ./reports             | where experiment-report.md/.html/.docx go      |
    | REPORT_LOG_ARTIFACTS   | true                  | also log the report as artifacts of the best run |
    | MLFLOW_UI_URL          | the tracking URI, or http://localhost:5000 | MLflow UI address for links |
    | FRONTEND_URL           | http://localhost      | the drawing page, for the links section        |
    | IMAGE_NAMESPACE        | mnistmlops            | Docker Hub namespace of the images             |
    | IMAGE_REPOSITORY       | mlops-mnist           | Docker Hub repository of the images            |
    | TRACKING_WAIT_SECONDS  | 60                    | how long to wait for the tracking server       |
    """

    tracking_uri: str | None
    local_store: Path
    experiment_name: str
    model_name: str
    model_alias: str
    output_dir: Path
    log_artifacts: bool
    mlflow_ui_url: str
    frontend_url: str
    image_repository: str  # namespace/repository
    tracking_wait_seconds: float


def load_report_settings(argv: list[str] | None = None) -> ReportSettings:
    """Parse ``argv`` on top of the environment for the report command."""
    parser = argparse.ArgumentParser(
        prog="python -m trainer.report",
        description="Write the experiment report (Markdown, HTML, Word) from the tracking server.",
    )
    add_store_arguments(parser)
    parser.add_argument("--output-dir", type=Path, default=Path(_env("REPORT_DIR", "reports")), help="env REPORT_DIR")
    parser.add_argument(
        "--no-log-artifacts",
        dest="log_artifacts",
        action="store_false",
        default=_env("REPORT_LOG_ARTIFACTS", "true").lower() in TRUE_WORDS,
        help="do not log the report to the best run (env REPORT_LOG_ARTIFACTS=false)",
    )
    args = parser.parse_args(argv)
    if problem := tracking_uri_problem(args.tracking_uri):
        parser.error(problem)
    web_uri = args.tracking_uri if (args.tracking_uri or "").startswith(("http://", "https://")) else None
    return ReportSettings(
        tracking_uri=args.tracking_uri,
        local_store=args.local_store,
        experiment_name=args.experiment,
        model_name=args.model_name,
        model_alias=args.alias,
        output_dir=args.output_dir,
        log_artifacts=args.log_artifacts,
        mlflow_ui_url=_env("MLFLOW_UI_URL", web_uri or "http://localhost:5000").rstrip("/"),
        frontend_url=_env("FRONTEND_URL", "http://localhost").rstrip("/"),
        image_repository=f"{_env('IMAGE_NAMESPACE', 'mnistmlops')}/{_env('IMAGE_REPOSITORY', 'mlops-mnist')}",
        tracking_wait_seconds=args.tracking_wait,
    )
