"""The local model cache: workers saving at once take turns; a cache that cannot be written costs only the copy."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np

from predictor.model_store import ModelCache, ModelInfo, Registry
from predictor.settings import load_settings
from tests.onnx_model import linear_classifier

INFO = ModelInfo("Mnist_Best_Model", "4", "production", "run-abc", "models:/m-1")


def test_workers_saving_the_same_version_at_once_all_succeed(tmp_path):
    onnx = linear_classifier(tmp_path / "m.onnx", favourite=3)
    folder = tmp_path / "cache" / "current"
    errors: list[Exception] = []

    def save_repeatedly(worker: int) -> None:
        cache = ModelCache(folder)  # each worker its own, as each gunicorn worker has
        for round_number in range(25):
            try:
                cache.save(onnx, replace(INFO, version=f"{worker}.{round_number}"))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    workers = [threading.Thread(target=save_repeatedly, args=(number,)) for number in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    cached = ModelCache(folder).load()
    assert cached is not None and cached.info.version.endswith(".24")
    assert sorted(path.name for path in folder.parent.iterdir()) == [".lock", "current"], "no staging left behind"


def test_a_cache_that_cannot_be_written_costs_the_copy_not_the_model(tmp_path, caplog):
    onnx = linear_classifier(tmp_path / "m.onnx", favourite=3)
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    settings = load_settings({"MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "MODEL_CACHE_DIR": str(blocked)})
    info = replace(INFO, onnx_uri=onnx.as_uri())  # a local file: downloading needs no server
    model = Registry(settings).load(info, ModelCache(blocked / "current"))
    assert model.info.version == "4" and model.predict(np.zeros((1, 28, 28, 1), np.float32)).argmax() == 3
    assert "without a local copy" in caplog.text
