"""Following the served model: the local cache (workers take turns; an unwritable cache costs only
the copy), the registry's problems, each reported for what it is, and how often a worker checks."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from devkit.onnx_model import linear_classifier
from devkit.processes import free_port
from predictor.model_cache import ModelCache
from predictor.model_manager import ModelManager
from predictor.registry import NoModelError, Registry, RegistryError
from predictor.served_model import ModelInfo, load_onnx
from predictor.settings import PredictorSettings

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
    settings = PredictorSettings(mlflow_tracking_uri="http://127.0.0.1:9", model_cache_dir=blocked)
    info = replace(INFO, onnx_uri=onnx.as_uri())  # a local file: downloading needs no server
    model = Registry(settings).load(info, ModelCache(blocked / "current"))
    assert model.info.version == "4" and model.predict(np.zeros((1, 28, 28, 1), np.float32)).argmax() == 3
    assert "without a local copy" in caplog.text


class RegistryStub(BaseHTTPRequestHandler):
    """Answers every request the way a tracking server in trouble would (the test sets ``answer``)."""

    answer: tuple[int, dict] = (200, {})

    def do_GET(self) -> None:
        status, body = self.answer
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def stub_uri():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RegistryStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


VERSION_WITHOUT_ONNX = {"model_version": {"name": "Mnist_Best_Model", "version": "7", "run_id": "r", "tags": []}}


@pytest.mark.parametrize(
    ("answer", "kind", "words"),
    [
        (
            (404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "alias not found"}),
            NoModelError,
            "No model has been trained yet",
        ),
        ((401, {"error_code": "UNAUTHENTICATED", "message": "log in"}), RegistryError, "refused the predictor (HTTP 4"),
        ((403, {"error_code": "PERMISSION_DENIED", "message": "no"}), RegistryError, "refused the predictor (HTTP 403"),
        ((200, VERSION_WITHOUT_ONNX), RegistryError, "version 7 has no ONNX model"),
        ((500, {"error_code": "INTERNAL_ERROR", "message": "database down"}), RegistryError, "failed the request"),
    ],
)
def test_registry_problems_are_reported_for_what_they_are(stub_uri, answer, kind, words):
    RegistryStub.answer = answer
    registry = Registry(PredictorSettings(mlflow_tracking_uri=stub_uri))
    with pytest.raises(kind, match=re.escape(words)):
        registry.current()


def test_an_unreachable_registry_is_reported_as_unreachable():
    nowhere = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError, match=f"The tracking server at {nowhere} is unreachable"):
        Registry(PredictorSettings(mlflow_tracking_uri=nowhere)).current()


def test_a_manager_shows_the_problem_and_keeps_serving(tmp_path, stub_uri):
    onnx = linear_classifier(tmp_path / "m.onnx", favourite=3)
    settings = PredictorSettings(mlflow_tracking_uri=stub_uri, model_cache_dir=tmp_path / "cache")
    manager = ModelManager(settings)
    manager.model = load_onnx(onnx, INFO)
    RegistryStub.answer = (401, {"error_code": "UNAUTHENTICATED", "message": "log in"})
    manager.refresh()
    assert "refused the predictor" in manager.problem
    assert manager.model is not None and manager.model.info.version == "4"


def test_a_worker_without_a_model_never_checks_less_often_than_the_poll(tmp_path):
    settings = PredictorSettings(
        model_cache_dir=tmp_path / "cache",
        model_poll_seconds=3,
        model_retry_min_seconds=0.5,
        model_retry_max_seconds=30,
    )
    manager = ModelManager(settings)
    delays = [settings.model_retry_min_seconds]
    for _ in range(6):
        delays.append(manager.next_delay(delays[-1]))
    assert delays == [0.5, 1, 2, 3, 3, 3, 3]  # backs off, but a promotion is seen within one poll


def test_a_worker_serving_the_registry_s_version_checks_every_poll(tmp_path):
    onnx = linear_classifier(tmp_path / "m.onnx", favourite=3)
    settings = PredictorSettings(model_cache_dir=tmp_path / "cache", model_poll_seconds=7, model_retry_max_seconds=2)
    manager = ModelManager(settings)
    manager.model = load_onnx(onnx, INFO)
    assert manager.model.info.source == "registry"
    assert manager.next_delay(0.5) == 7
    manager.model = load_onnx(onnx, replace(INFO, source="cache"))
    assert manager.next_delay(0.5) == 1  # a cached copy is not current: back off towards the registry
