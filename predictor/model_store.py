"""Finding, loading, caching and hot-swapping the served model.

The registered version (``<name>@<alias>``) is a Keras model; its ``onnx_model_uri`` tag points at
the ONNX copy logged by the same run, which is what this service downloads and runs with
onnxruntime. The last good model is copied to a local cache so that a restart while the tracking
server is down still serves. A background thread polls the alias and swaps in new versions; a
version that fails to load never replaces the one being served.
"""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import numpy as np
import onnxruntime
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from predictor.settings import PredictorSettings

ONNX_URI_TAG = "onnx_model_uri"
ONNX_FILE = "model.onnx"
# What MLflow answers when the alias (or the model) does not exist.
NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"}
log = logging.getLogger("predictor.model")


@dataclass(frozen=True)
class ModelInfo:
    """Which registered version is served, and since when."""

    name: str
    version: str
    alias: str
    run_id: str
    onnx_uri: str
    loaded_at: str = ""
    source: str = "registry"  # or "cache" when loaded from the local copy

    def public(self) -> dict[str, str]:
        """The registry facts every prediction carries (the API's "model" object)."""
        return {"name": self.name, "version": self.version, "alias": self.alias, "run_id": self.run_id}


@dataclass
class LoadedModel:
    """An onnxruntime session with the registry facts about it."""

    info: ModelInfo
    session: onnxruntime.InferenceSession
    input_name: str = field(init=False)

    def __post_init__(self) -> None:
        self.input_name = self.session.get_inputs()[0].name

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (N, 10), for images of shape (N, 28, 28, 1) in [0, 1]."""
        return self.session.run(None, {self.input_name: batch.astype(np.float32)})[0]


def load_onnx(path: Path, info: ModelInfo) -> LoadedModel:
    """Create an onnxruntime session for ``path`` and check it answers like an MNIST classifier."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # one request, one core: gunicorn's workers give the parallelism
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    model = LoadedModel(info=info, session=session)
    probabilities = model.predict(np.zeros((1, 28, 28, 1), np.float32))
    if probabilities.shape != (1, 10):
        raise ValueError(f"model answers with shape {probabilities.shape}, expected (1, 10)")
    return model


def stamped(info: ModelInfo, source: str) -> ModelInfo:
    """``info`` marked as loaded now, from ``source``."""
    return replace(info, loaded_at=datetime.now(UTC).isoformat(timespec="seconds"), source=source)


class ModelCache:
    """The last good model on local disk: ``model.onnx`` and ``model.json`` (its ``ModelInfo``)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def save(self, onnx_path: Path, info: ModelInfo) -> None:
        """Replace the cached copy atomically (write to a temporary folder, then rename).

        Every gunicorn worker keeps the same cache and, started together, they save the same
        version at the same moment: a lock file makes them take turns at the swap.
        """
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=self.folder.parent, prefix=".model-"))
        try:
            shutil.copyfile(onnx_path, staging / ONNX_FILE)
            (staging / "model.json").write_text(json.dumps(asdict(info)))
            previous = self.folder.with_name(self.folder.name + ".old")
            with open(self.folder.with_name(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
                shutil.rmtree(previous, ignore_errors=True)
                if self.folder.exists():
                    self.folder.rename(previous)
                staging.rename(self.folder)
                shutil.rmtree(previous, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # left over only when something failed

    def load(self) -> LoadedModel | None:
        """The cached model, or None when there is none (or it is unreadable)."""
        try:
            info = ModelInfo(**json.loads((self.folder / "model.json").read_text()))
            return load_onnx(self.folder / ONNX_FILE, stamped(info, source="cache"))
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a corrupt cache must not stop the service
            log.warning("ignoring unreadable model cache in %s: %s", self.folder, exc)
            return None


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


class ModelManager:
    """Holds the served model and keeps it current; safe to read from any thread.

    Swapping is a single reference assignment, so a request sees either the old or the new model,
    never a half-loaded one.
    """

    def __init__(self, settings: PredictorSettings, registry: Registry | None = None):
        self.settings = settings
        self.registry = registry or Registry(settings)
        self.cache = ModelCache(settings.model_cache_dir / "current")
        self.model: LoadedModel | None = None
        self.problem = "the model is loading"
        self._failed: tuple[str | None, float] = (None, 0.0)  # the last version that failed to load, and when

    def start(self) -> None:
        """Serve the cached model at once if there is one, then follow the registry in the background."""
        if self.model is None:
            cached = self.cache.load()
            if cached is not None:
                self.model = cached
                log.info(
                    "serving cached %s version %s until the registry answers", cached.info.name, cached.info.version
                )
        threading.Thread(target=self._follow, name="model-follower", daemon=True).start()

    def refresh(self) -> None:
        """Check the alias once; load and swap in a new version if it moved."""
        try:
            wanted = self.registry.current()
        except RegistryError as exc:  # keep serving what we have, and say why it may be stale
            self.problem = str(exc)
            return
        failed_version, failed_at = self._failed
        if wanted.version == failed_version and time.monotonic() - failed_at < self.settings.model_failed_retry_seconds:
            return  # known broken: keep its problem on show, and don't download it again every poll
        current = self.model
        if current is not None and current.info.version == wanted.version:
            self.problem = ""  # the registry answers and we serve what it says: nothing to report
            if current.info.source != "registry":
                # the cached copy is this very version: adopt the registry's facts without reloading
                self.model = LoadedModel(info=stamped(wanted, source="registry"), session=current.session)
            return
        try:
            model = self.registry.load(wanted, self.cache)
        except Exception as exc:  # noqa: BLE001 - a broken version must not replace a working one
            self._failed = (wanted.version, time.monotonic())
            self.problem = f"{wanted.name} version {wanted.version} failed to load: {short(exc)}"
            log.error("%s; still serving %s", self.problem, f"version {current.info.version}" if current else "nothing")
            return
        self.model = model
        self.problem = ""
        log.info("now serving %s version %s (run %s)", wanted.name, wanted.version, wanted.run_id)

    def next_delay(self, previous: float) -> float:
        """Seconds until the next check of the alias, given the wait before the last one.

        While the registry's version is served: the poll interval. While it is not (nothing
        trained yet, or the registry down): a doubling back-off, never longer than the poll
        interval, so a worker with no model never checks less often than one with a model.
        """
        if self.model is not None and self.model.info.source == "registry":
            return self.settings.model_poll_seconds
        return min(previous * 2, self.settings.model_retry_max_seconds, self.settings.model_poll_seconds)

    def _follow(self) -> None:
        delay = self.settings.model_retry_min_seconds
        while True:
            try:
                self.refresh()
            except Exception:
                log.exception("checking the registry failed")
            delay = self.next_delay(delay)
            time.sleep(delay)


def short(exc: BaseException) -> str:
    """The first line of an error, at most 300 characters."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
