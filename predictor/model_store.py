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
import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnxruntime

from predictor.settings import PredictorSettings

# MLflow's own retries would hold a request for minutes while the tracking server is down; this
# module retries with its own back-off instead. Downloads go through the tracking server, not via
# presigned URLs to an S3 endpoint this container cannot reach. Explicit user settings win.
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
os.environ.setdefault("MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD", "false")

import mlflow  # imported after the settings above, which it reads when first used
from mlflow import MlflowClient

ONNX_URI_TAG = "onnx_model_uri"
ONNX_FILE = "model.onnx"
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


# The registry facts every prediction carries (the API contract's "model" object).
PUBLIC_FIELDS = ("name", "version", "alias", "run_id")


@dataclass
class LoadedModel:
    """An onnxruntime session with the registry facts about it."""

    info: ModelInfo
    session: onnxruntime.InferenceSession
    input_name: str = field(init=False)
    public_info: dict[str, str] = field(init=False)  # built once, sent with every prediction

    def __post_init__(self) -> None:
        self.input_name = self.session.get_inputs()[0].name
        self.public_info = {key: getattr(self.info, key) for key in PUBLIC_FIELDS}

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Class probabilities, shape (N, 10), for images of shape (N, 28, 28, 1) in [0, 1]."""
        return self.session.run(None, {self.input_name: batch.astype(np.float32)})[0]


class NoModelError(Exception):
    """No version holds the alias yet (nothing has been trained and promoted)."""


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


class ModelCache:
    """The last good model on local disk: ``model.onnx`` and ``model.json`` (its ``ModelInfo``)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def save(self, onnx_path: Path, info: ModelInfo) -> None:
        """Replace the cached copy atomically (write to a temporary folder, then rename).

        Every gunicorn worker keeps the same cache and, started together, they download and save
        the same version at the same moment: a lock file makes them take turns at the swap
        (without it one worker's rename found the other's folder in place and failed).
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
            return load_onnx(self.folder / ONNX_FILE, _stamped(info, source="cache"))
        except FileNotFoundError:
            return None
        except Exception as exc:  # noqa: BLE001 - a corrupt cache must not stop the service
            log.warning("ignoring unreadable model cache in %s: %s", self.folder, exc)
            return None


def _stamped(info: ModelInfo, source: str) -> ModelInfo:
    return ModelInfo(**{**asdict(info), "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
                        "source": source})  # fmt: skip


class Registry:
    """The MLflow registry as this service needs it: which version holds the alias, and its ONNX file."""

    def __init__(self, settings: PredictorSettings):
        self.settings = settings
        # models:/ URIs resolve through the process-wide tracking URI, whatever download_artifacts is
        # told; this process follows exactly one server, so set it once here.
        mlflow.set_tracking_uri(settings.tracking_uri)
        mlflow.set_registry_uri(settings.tracking_uri)
        self.client = MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)

    def current(self) -> ModelInfo:
        """The version that holds the alias now; ``NoModelError`` when none does."""
        name, alias = self.settings.model_name, self.settings.model_alias
        try:
            version = self.client.get_model_version_by_alias(name, alias)
        except mlflow.exceptions.MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
                raise NoModelError(f"no version of {name} holds the alias {alias!r}") from exc
            raise
        onnx_uri = version.tags.get(ONNX_URI_TAG)
        if not onnx_uri:
            raise ValueError(f"{name} version {version.version} has no {ONNX_URI_TAG} tag")
        return ModelInfo(name, version.version, alias, version.run_id or "", onnx_uri)

    def load(self, info: ModelInfo, cache: ModelCache) -> LoadedModel:
        """Download the ONNX model of ``info``, load it, and keep a copy in ``cache``."""
        with tempfile.TemporaryDirectory() as folder:
            local = Path(mlflow.artifacts.download_artifacts(info.onnx_uri, dst_path=folder))
            path = local / ONNX_FILE if local.is_dir() else local
            model = load_onnx(path, _stamped(info, source="registry"))
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
        self.cache = ModelCache(settings.cache_dir / "current")
        self.model: LoadedModel | None = None
        self.problem = "the model is loading"
        # The last version that failed to load, and when: retried only every ten polls.
        self._failed: tuple[str | None, float] = (None, 0.0)
        self._failed_retry_seconds = 10 * settings.poll_seconds

    def start(self) -> None:
        """Serve the cached model at once if there is one, then follow the registry in the background."""
        if self.model is None:
            cached = self.cache.load()
            if cached is not None:
                self.model = cached
                log.info("serving cached %s version %s until the registry answers",
                         cached.info.name, cached.info.version)  # fmt: skip
        threading.Thread(target=self._follow, name="model-follower", daemon=True).start()

    def refresh(self) -> None:
        """Check the alias once; load and swap in a new version if it moved."""
        try:
            wanted = self.registry.current()
        except NoModelError as exc:
            self.problem = (f"No model has been trained yet ({exc}). "
                            "Run `docker compose run --rm trainer`, then try again.")  # fmt: skip
            return
        except Exception as exc:  # noqa: BLE001 - unreachable server, HTTP errors: keep serving, retry
            self.problem = f"The tracking server at {self.settings.tracking_uri} is unreachable ({_short(exc)})."
            return
        failed_version, failed_at = self._failed
        if wanted.version == failed_version and time.monotonic() - failed_at < self._failed_retry_seconds:
            return  # known broken: keep its problem on show, and don't download it again every poll
        current = self.model
        if current is not None and current.info.version == wanted.version:
            self.problem = ""  # the registry answers and we serve what it says: nothing to report
            if current.info.source != "registry":
                # the cached copy is this very version: adopt the registry's facts without reloading
                self.model = LoadedModel(info=_stamped(wanted, source="registry"), session=current.session)
            return
        try:
            model = self.registry.load(wanted, self.cache)
        except Exception as exc:  # noqa: BLE001 - a broken version must not replace a working one
            self._failed = (wanted.version, time.monotonic())
            self.problem = f"{wanted.name} version {wanted.version} failed to load: {_short(exc)}"
            log.error("%s; still serving %s", self.problem,
                      f"version {current.info.version}" if current else "nothing")  # fmt: skip
            return
        self.model = model
        self.problem = ""
        log.info("now serving %s version %s (run %s)", wanted.name, wanted.version, wanted.run_id)

    def _follow(self) -> None:
        delay = 0.5
        while True:
            self.refresh()
            if self.model is None or self.model.info.source == "cache":
                delay = min(delay * 2, self.settings.retry_max_seconds)  # back off while not current
            else:
                delay = self.settings.poll_seconds
            time.sleep(delay)


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
