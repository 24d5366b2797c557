"""Real gunicorn serving models registered in a real MLflow server.

One module-wide server holds a model the trainer registered (read only); every test that changes a
registry or stops a server gets its own, with tiny real ONNX models that answer a chosen digit.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import onnxruntime
import pytest
import requests
from mlflow import MlflowClient
from PIL import Image

from devkit.drawing import SEVEN, png_bytes, stroke_digit
from devkit.mlflow_server import MlflowServer
from devkit.onnx_model import linear_classifier, register_as_production
from devkit.predictor_server import predictor_server
from devkit.processes import wait_until
from devkit.trainer_process import run_trainer_ok
from predictor import preprocess

pytestmark = pytest.mark.integration

MODEL = "Mnist_Best_Model"
DRAWING = png_bytes(stroke_digit(SEVEN, style="dark_on_transparent"))


def predict(base: str) -> requests.Response:
    return requests.post(f"{base}/predict?debug=1", data=DRAWING, headers={"Content-Type": "image/png"}, timeout=10)


def served_version(base: str) -> str | None:
    response = requests.get(f"{base}/model", timeout=5)
    return response.json()["version"] if response.ok else None


def problem(base: str) -> str:
    return requests.get(f"{base}/model", timeout=5).json()["problem"] or ""


def access_lines(log: Path) -> list[dict]:
    """The access log's lines (JSON objects) among gunicorn's and the app's other log lines."""
    return [json.loads(text) for text in log.read_text().splitlines() if text.startswith("{")]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_slice) -> Iterator[dict]:
    """A tracking server where the trainer registered one baseline model, and a predictor serving it."""
    base = tmp_path_factory.mktemp("trained")
    tracking = MlflowServer(base / "mlflow")
    tracking.start()
    try:
        run_trainer_ok(
            {
                "MLFLOW_TRACKING_URI": tracking.uri,
                "MNIST_PATH": str(mnist_slice),
                "TRAINER_EPOCHS": "1",
                "TRAINER_RUNS": "baseline",
                "MLFLOW_EXPERIMENT_NAME": "predictor-it",
            }
        )
        with predictor_server(tracking.uri, base / "cache", base / "predictor.log") as (url, process, started):
            wait_until(lambda: requests.get(f"{url}/ready", timeout=2).ok, 60, "predictor ready", process)
            ready_seconds = time.monotonic() - started
            yield {"uri": tracking.uri, "url": url, "base": base, "ready_seconds": ready_seconds}
    finally:
        tracking.stop()


@pytest.fixture()
def registry(tmp_path) -> Iterator[MlflowServer]:
    """A tracking server of this test's own with a tiny model (it answers 3) as version 1 @production."""
    tracking = MlflowServer(tmp_path / "mlflow")
    tracking.start()
    try:
        register_as_production(tracking.uri, linear_classifier(tmp_path / "three.onnx", favourite=3))
        yield tracking
    finally:
        tracking.stop()


@pytest.fixture()
def service(registry: MlflowServer, tmp_path) -> Iterator[tuple[str, Path]]:
    """The predictor following ``registry``; yields its URL and its log."""
    log = tmp_path / "predictor.log"
    with predictor_server(registry.uri, tmp_path / "cache", log) as (url, process, _started):
        wait_until(lambda: requests.get(f"{url}/ready", timeout=2).ok, 60, "predictor ready", process)
        yield url, log


def test_serves_the_trainers_model_and_its_onnx_output(trained):
    response = predict(trained["url"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["version"] == "1" and body["model"]["alias"] == "production"
    # The answer is exactly what the registered ONNX model says about the MNIST-style input.
    version = MlflowClient(trained["uri"]).get_model_version_by_alias(MODEL, "production")
    assert body["model"]["run_id"] == version.run_id
    seen = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["input_image"].split(",")[1]))), np.float32) / 255
    expected = preprocess.mnist_style(Image.open(io.BytesIO(DRAWING)))
    assert np.abs(seen - expected).max() < 0.01
    session = onnxruntime.InferenceSession(str(trained["base"] / "cache" / "current" / "model.onnx"))
    probabilities = session.run(None, {session.get_inputs()[0].name: expected[None, :, :, None]})[0][0]
    assert body["digit"] == int(probabilities.argmax())
    assert body["probabilities"] == pytest.approx(probabilities.tolist(), abs=1e-4)
    print(f"\npredictor ready {trained['ready_seconds']:.2f}s after start (tracking server up)")


def test_access_log_has_one_json_line_per_request_with_its_latency(trained):
    agent = 'tester "quoted" \\ agent'
    requests.post(
        f"{trained['url']}/predict",
        data=DRAWING,
        timeout=10,
        headers={"Content-Type": "image/png", "User-Agent": agent},
    )
    log = trained["base"] / "predictor.log"
    wait_until(lambda: any(line["agent"] == agent for line in access_lines(log)), 10, "its access line")
    line = next(line for line in access_lines(log) if line["agent"] == agent)
    assert line["method"] == "POST" and line["path"] == "/predict" and line["status"] == 200
    assert line["bytes"] > 100
    assert 0 < line["latency_ms"] < 10_000 and line["time"].endswith("Z")


def test_alias_moved_to_a_new_version_is_served_without_restart(registry, service, tmp_path):
    url, log = service
    assert predict(url).json()["digit"] == 3
    register_as_production(registry.uri, linear_classifier(tmp_path / "five.onnx", favourite=5))
    wait_until(lambda: served_version(url) == "2", 30, "hot reload to version 2")
    answer = predict(url).json()
    assert answer["model"]["version"] == "2" and answer["digit"] == 5
    assert f"now serving {MODEL} version 2" in log.read_text()  # the app's own log


def test_a_broken_version_never_replaces_the_served_one(registry, service):
    url, log = service
    client = MlflowClient(registry.uri)
    good = client.get_model_version_by_alias(MODEL, "production")
    client.log_text(good.run_id, "not a model", "notes.txt")
    not_onnx = f"runs:/{good.run_id}/notes.txt"  # a file of the run, but not a model onnxruntime can load
    mlflow.set_tracking_uri(registry.uri)
    broken = mlflow.register_model(good.source, MODEL, tags={"onnx_model_uri": not_onnx})
    client.set_registered_model_alias(MODEL, "production", broken.version)
    wait_until(lambda: "failed to load" in problem(url), 30, "failure reported")
    assert served_version(url) == good.version
    assert predict(url).status_code == 200
    text = log.read_text()
    assert f"version {broken.version} failed to load" in text and f"still serving version {good.version}" in text
    client.set_registered_model_alias(MODEL, "production", good.version)
    wait_until(lambda: problem(url) == "", 30, "problem cleared")


def test_a_version_without_an_onnx_model_is_reported_and_not_served(registry, service):
    url, _log = service
    client = MlflowClient(registry.uri)
    good = client.get_model_version_by_alias(MODEL, "production")
    mlflow.set_tracking_uri(registry.uri)
    untagged = mlflow.register_model(good.source, MODEL)  # registered by hand, not by the trainer
    client.set_registered_model_alias(MODEL, "production", untagged.version)
    wait_until(lambda: "has no ONNX model" in problem(url), 30, "the missing ONNX model reported")
    assert served_version(url) == good.version and predict(url).status_code == 200


def test_tracking_down_keeps_serving_and_restart_uses_the_cache(registry, service, tmp_path):
    url, _log = service
    registry.stop()
    wait_until(lambda: "unreachable" in problem(url), 30, "outage noticed")
    for _ in range(5):
        assert predict(url).status_code == 200
    with predictor_server(registry.uri, tmp_path / "cache", tmp_path / "restart.log") as (again, process, _):
        wait_until(lambda: requests.get(f"{again}/ready", timeout=2).ok, 30, "ready from the cache", process)
        info = requests.get(f"{again}/model", timeout=5).json()
        assert info["source"] == "cache" and info["version"] == "1"
        assert predict(again).status_code == 200


def test_no_model_and_no_tracking_server_waits_then_recovers_by_itself(registry, tmp_path):
    registry.stop()
    with predictor_server(registry.uri, tmp_path / "empty-cache", tmp_path / "cold.log") as (url, process, _):
        time.sleep(2)
        assert requests.get(f"{url}/ready", timeout=5).status_code == 503
        response = predict(url)
        assert response.status_code == 503 and response.json()["error"] == "model_unavailable"
        assert "unreachable" in response.json()["message"]
        registry.start()
        wait_until(lambda: requests.get(f"{url}/ready", timeout=2).ok, 30, "ready after the outage", process)
        assert predict(url).status_code == 200
        assert problem(url) == ""
        assert process.poll() is None, "it never crash-loops"
