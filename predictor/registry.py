"""The MLflow registry as the predictor needs it: which version holds the alias, and its ONNX file."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import mlflow
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from predictor.errors import short
from predictor.model_cache import ModelCache
from predictor.served_model import ONNX_FILE, LoadedModel, ModelInfo, load_onnx, stamped
from predictor.settings import PredictorSettings

ONNX_URI_TAG = "onnx_model_uri"
# What MLflow answers when the alias (or the model) does not exist.
NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"}
log = logging.getLogger("predictor.model")


class RegistryError(Exception):
    """The registry cannot tell (or give) what to serve; the message says why, for people."""


class NoModelError(RegistryError):
    """No version holds the alias: nothing has been trained and promoted yet."""


def _caused_by_network(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a connection that failed (refused, timed out, name not found)."""
    while exc is not None:
        if isinstance(exc, requests.ConnectionError | requests.Timeout):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class Registry:
    """The MLflow registry as this service needs it: which version holds the alias, and its ONNX file."""

    def __init__(self, settings: PredictorSettings):
        self.settings = settings
        self.uri = settings.mlflow_tracking_uri
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)

    def current(self) -> ModelInfo:
        """The version that holds the alias now; ``RegistryError`` says why there is none."""
        name, alias = self.settings.model_name, self.settings.model_alias
        try:
            version = self.client.get_model_version_by_alias(name, alias)
        except Exception as exc:
            raise self.problem(exc) from exc
        onnx_uri = version.tags.get(ONNX_URI_TAG)
        if not onnx_uri:
            raise RegistryError(
                f"{name} version {version.version} has no ONNX model (tag {ONNX_URI_TAG}): "
                "register models with this project's trainer."
            )
        return ModelInfo(name, version.version, alias, version.run_id or "", onnx_uri)

    def problem(self, exc: Exception) -> RegistryError:
        """What a failed registry request means for the service, in words."""
        name, alias = self.settings.model_name, self.settings.model_alias
        if not isinstance(exc, MlflowException):
            kind = "is unreachable" if _caused_by_network(exc) else "could not be asked"
            return RegistryError(f"The tracking server at {self.uri} {kind} ({short(exc)}).")
        if exc.error_code in NOT_FOUND_CODES:
            return NoModelError(
                f"No model has been trained yet: no version of {name} holds the alias {alias!r}. "
                "Run `docker compose run --rm trainer`, then try again."
            )
        status = exc.get_http_status_code()
        if status in (401, 403):
            return RegistryError(
                f"The tracking server at {self.uri} refused the predictor (HTTP {status}): "
                "check MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD."
            )
        if _caused_by_network(exc):
            return RegistryError(f"The tracking server at {self.uri} is unreachable ({short(exc)}).")
        return RegistryError(f"The tracking server at {self.uri} failed the request ({short(exc)}).")

    def artifact_location(self, model_uri: str) -> str:
        """Where a model's files are: ``models:/<id>`` is resolved on this server.

        MLflow would resolve it through its process-wide tracking URI, which this class never sets.
        """
        if not model_uri.startswith("models:/"):
            return model_uri
        return self.client.get_logged_model(model_uri.removeprefix("models:/")).artifact_location

    def load(self, info: ModelInfo, cache: ModelCache) -> LoadedModel:
        """Download the ONNX model of ``info``, load it, and keep a copy in ``cache``."""
        with tempfile.TemporaryDirectory() as folder:
            local = Path(
                mlflow.artifacts.download_artifacts(
                    artifact_uri=self.artifact_location(info.onnx_uri), dst_path=folder, tracking_uri=self.uri
                )
            )
            path = local / ONNX_FILE if local.is_dir() else local
            model = load_onnx(path, stamped(info, source="registry"))
            try:
                cache.save(path, model.info)
            except OSError as exc:  # a full or read-only disk costs the local copy, not the model
                log.warning("serving %s version %s without a local copy: %s", info.name, info.version, exc)
        return model
