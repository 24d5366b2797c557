"""The last good model on local disk, so that a restart while the tracking server is down still serves."""

from __future__ import annotations

import fcntl
import json
import logging
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from predictor.served_model import ONNX_FILE, LoadedModel, ModelInfo, load_onnx, stamped

log = logging.getLogger("predictor.model")


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
