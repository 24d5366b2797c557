"""Real gunicorn serving a model the trainer registered in a real MLflow server.

One story, in order (the fixtures are module-scoped): train v1 -> serve -> promote v2 -> the
served version follows without a restart -> a broken version never replaces a working one ->
the tracking server goes away -> predictions go on, a restart serves the cached copy -> a fresh
predictor with no model waits, 503, until the tracking server is back.
"""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import mlflow
import numpy as np
import onnxruntime
import pytest
import requests
from mlflow import MlflowClient
from PIL import Image

from predictor import preprocess
from tests.drawing import SEVEN, png_bytes, stroke_digit
from tests.services import MlflowServer, predictor_server, run_trainer_ok, wait_until

pytestmark = pytest.mark.integration

MODEL = "Mnist_Best_Model"
DRAWING = png_bytes(stroke_digit(SEVEN, style="dark_on_transparent"))


def train(uri: str, mnist_slice: Path, **extra: str) -> None:
    run_trainer_ok({"MLFLOW_TRACKING_URI": uri, "MNIST_PATH": str(mnist_slice), "TRAINER_EPOCHS": "1",
                    "TRAINER_RUNS": "baseline", "MLFLOW_EXPERIMENT_NAME": "predictor-it", **extra})  # fmt: skip


def predict(base: str) -> requests.Response:
    return requests.post(f"{base}/predict?debug=1", data=DRAWING, headers={"Content-Type": "image/png"}, timeout=10)


def served_version(base: str) -> str | None:
    response = requests.get(f"{base}/model", timeout=5)
    return response.json()["version"] if response.ok else None


@pytest.fixture(scope="module")
def world(tmp_path_factory, mnist_slice):
    base = tmp_path_factory.mktemp("predictor")
    tracking = MlflowServer(base / "mlflow")
    tracking.start()
    try:
        train(tracking.uri, mnist_slice)
        yield {"uri": tracking.uri, "tracking": tracking, "base": base, "mnist": mnist_slice}
    finally:
        tracking.stop()


@pytest.fixture(scope="module")
def service(world):
    with predictor_server(world["uri"], world["base"] / "cache", world["base"] / "predictor.log") as (
        url,
        process,
        started,
    ):
        wait_until(lambda: requests.get(f"{url}/ready", timeout=2).ok, 60, "predictor ready", process)
        world["ready_seconds"] = time.monotonic() - started
        yield url, process


def test_serves_the_registered_model_and_its_onnx_output(world, service):
    url, _ = service
    response = predict(url)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"]["version"] == "1" and body["model"]["alias"] == "production"
    # The answer is exactly what the registered ONNX model says about the MNIST-style input.
    version = MlflowClient(world["uri"]).get_model_version_by_alias(MODEL, "production")
    assert body["model"]["run_id"] == version.run_id
    seen = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["input_image"].split(",")[1]))), np.float32) / 255
    expected = preprocess.mnist_style(Image.open(io.BytesIO(DRAWING)))
    assert np.abs(seen - expected).max() < 0.01
    onnx_file = world["base"] / "cache" / "current" / "model.onnx"
    session = onnxruntime.InferenceSession(str(onnx_file))
    probabilities = session.run(None, {session.get_inputs()[0].name: expected[None, :, :, None]})[0][0]
    assert body["digit"] == int(probabilities.argmax())
    assert body["probabilities"] == pytest.approx(probabilities.tolist(), abs=1e-4)
    print(f"\npredictor ready {world['ready_seconds']:.2f}s after start (tracking server up)")


def test_alias_moved_to_a_new_version_is_served_without_restart(world, service):
    url, process = service
    train(world["uri"], world["mnist"], FORCE_PROMOTE="true")
    wait_until(lambda: served_version(url) == "2", 30, "hot reload to version 2", process)
    assert process.poll() is None, "no restart"
    assert predict(url).json()["model"]["version"] == "2"
    assert f"now serving {MODEL} version 2" in (world["base"] / "predictor.log").read_text()  # the app's own log


def test_a_broken_version_never_replaces_the_served_one(world, service):
    url, _ = service
    client = MlflowClient(world["uri"])
    good = client.get_model_version_by_alias(MODEL, "production")
    not_onnx = f"runs:/{good.run_id}/plots/confusion_matrix.png"  # a PNG where the ONNX model should be
    mlflow.set_tracking_uri(world["uri"])
    broken = mlflow.register_model(good.source, MODEL, tags={"onnx_model_uri": not_onnx})
    client.set_registered_model_alias(MODEL, "production", broken.version)
    try:
        wait_until(lambda: "failed to load" in (requests.get(f"{url}/model", timeout=5).json()["problem"] or ""),
                   30, "failure reported")  # fmt: skip
        assert served_version(url) == good.version
        assert predict(url).status_code == 200
        log = (world["base"] / "predictor.log").read_text()
        assert f"version {broken.version} failed to load" in log and f"still serving version {good.version}" in log
    finally:
        client.set_registered_model_alias(MODEL, "production", good.version)
    wait_until(lambda: requests.get(f"{url}/model", timeout=5).json()["problem"] is None, 30, "problem cleared")


def test_tracking_down_keeps_serving_and_restart_uses_the_cache(world, service, tmp_path):
    url, _ = service
    world["tracking"].stop()
    try:
        wait_until(lambda: requests.get(f"{url}/model", timeout=5).json()["problem"], 30, "outage noticed")
        for _ in range(5):
            assert predict(url).status_code == 200
        version = served_version(url)
        with predictor_server(world["uri"], world["base"] / "cache", tmp_path / "restart.log") as (again, process, _):
            wait_until(lambda: requests.get(f"{again}/ready", timeout=2).ok, 30, "ready from the cache", process)
            info = requests.get(f"{again}/model", timeout=5).json()
            assert info["source"] == "cache" and info["version"] == version
            assert predict(again).status_code == 200
    finally:
        world["tracking"].start()


def test_no_model_and_no_tracking_server_waits_then_recovers_by_itself(world, tmp_path):
    world["tracking"].stop()
    try:
        with predictor_server(world["uri"], tmp_path / "empty-cache", tmp_path / "cold.log") as (url, process, _):
            time.sleep(2)
            assert requests.get(f"{url}/ready", timeout=5).status_code == 503
            response = predict(url)
            assert response.status_code == 503 and response.json()["error"] == "model_unavailable"
            assert "unreachable" in response.json()["message"]
            world["tracking"].start()
            wait_until(lambda: requests.get(f"{url}/ready", timeout=2).ok, 30, "ready after the outage", process)
            assert predict(url).status_code == 200
            assert requests.get(f"{url}/model", timeout=5).json()["problem"] is None
            assert process.poll() is None, "it never crash-loops"
    finally:
        if world["tracking"].process is None:
            world["tracking"].start()


def test_access_log_has_one_json_line_per_request_with_its_latency(world, service):
    url, _ = service
    agent = 'tester "quoted" \\ agent'
    requests.post(f"{url}/predict", data=DRAWING, headers={"Content-Type": "image/png", "User-Agent": agent},
                  timeout=10)  # fmt: skip
    log = world["base"] / "predictor.log"
    wait_until(lambda: any(line["agent"] == agent for line in access_lines(log)), 10, "its access line")
    line = next(line for line in access_lines(log) if line["agent"] == agent)
    assert line["method"] == "POST" and line["path"] == "/predict" and line["status"] == 200
    assert line["agent"] == agent and line["bytes"] > 100
    assert 0 < line["latency_ms"] < 10_000 and line["time"].endswith("Z")


def access_lines(log: Path) -> list[dict]:
    """The access log's lines (JSON objects) among gunicorn's and the app's other log lines."""
    return [json.loads(text) for text in log.read_text().splitlines() if text.startswith("{")]
