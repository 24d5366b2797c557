"""End-to-end: the project's own compose.yaml, built and run for real, as a user meets it.

The module's fixtures build and start one stack (``stack``) and train it once (``trained``); each
test asks for the state it needs, so any test runs alone as well as with the others. Only the work
is shrunk (compose.e2e.yaml mounts the local MNIST; a slice, fewer epochs).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import requests
from mlflow import MlflowClient

from devkit.compose_stack import ComposeStack, ensure_base_images, ensure_docker
from devkit.drawing import SEVEN, png_bytes, stroke_digit
from devkit.flywheel import correct, flywheel_drawings, served_versions
from devkit.processes import free_port, wait_until
from trainer.datagen.canvas import redraw
from trainer.gate import Candidate, Scores, select_best

pytestmark = pytest.mark.e2e

PROJECT = "mnist-mlops-e2e"
EXPERIMENT = "mnist-cnn"
MODEL = "Mnist_Best_Model"
ALIAS = "production"
RUN_KEYS = {"baseline", "architecture", "tuned"}
DRAWINGS_PER_DIGIT = 3
# Credentials of this run only: they must reach the containers' environment, never an image.
CREDENTIALS = {
    "POSTGRES_PASSWORD": secrets.token_hex(12),
    "MINIO_ROOT_USER": "e2e-" + secrets.token_hex(4),
    "MINIO_ROOT_PASSWORD": secrets.token_hex(12),
}
MIN_DRAWN_CORRECT = 0.9  # a model trained on a slice for 3 epochs; the full one scores 98 % here
OVERRIDE = Path(__file__).with_name("compose.e2e.yaml")


@dataclass
class Stack:
    """The running stack: compose, its published addresses, and the answer before any training."""

    compose: ComposeStack
    frontend: str
    mlflow: str
    prometheus: str
    untrained_answer: requests.Response

    def wait_for_model(self, timeout: float = 120) -> dict:
        """Poll the predictor through nginx until all its workers serve the same model; returns ``/api/model``.

        Each gunicorn worker follows the registry on its own, so for a few seconds after a promotion
        one may serve it and the other not yet: ten answers in a row must agree.
        """

        def every_worker_serves() -> bool:
            versions = served_versions(self.frontend)
            return len(versions) == 1 and None not in versions

        wait_until(every_worker_serves, timeout, "a model served by every worker, through the frontend")
        return requests.get(f"{self.frontend}/api/model", timeout=5).json()

    def production_version(self) -> str:
        """The version behind the alias now (a test of the loop may have promoted a new one)."""
        return MlflowClient(self.mlflow).get_model_version_by_alias(MODEL, ALIAS).version

    def all_healthy(self) -> None:
        """Every long-running service is running and healthy."""
        states = self.compose.states()
        expected = {"postgres", "minio", "tracking", "predictor", "frontend", "prometheus"}
        assert expected <= set(states), states
        for service in expected:
            assert states[service] == ("running", "healthy"), (service, states[service])

    def predict_seven(self) -> requests.Response:
        return requests.post(
            f"{self.frontend}/api/predict",
            data=png_bytes(stroke_digit(SEVEN)),
            headers={"Content-Type": "image/png"},
            timeout=10,
        )


def compose_for(project: str, mnist_full: Path) -> tuple[ComposeStack, dict[str, str]]:
    """compose for ``project`` on free host ports, with this run's credentials; returns it and the addresses."""
    ports = {name: free_port() for name in ("FRONTEND_PORT", "MLFLOW_UI_PORT", "PROMETHEUS_PORT")}
    env = {
        **os.environ,
        "E2E_MNIST_FILE": str(mnist_full),
        "PUBLISH_ADDRESS": "127.0.0.1",
        "IMAGE_TAG_SUFFIX": "-e2e",
        **{name: str(port) for name, port in ports.items()},
        **CREDENTIALS,
    }
    return ComposeStack(project, OVERRIDE, env), {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}


@pytest.fixture(scope="module")
def stack(mnist_full: Path) -> Iterator[Stack]:
    """The stack built and started (all healthy), nothing trained yet."""
    ensure_docker()
    ensure_base_images()
    compose, urls = compose_for(PROJECT, mnist_full)
    compose.down("-v", "--remove-orphans")  # a stack left by an interrupted run
    try:
        compose("--profile", "train", "build", timeout=3600)  # the one-shot trainer's image too
        compose("up", "-d", "--wait", "--wait-timeout", "300", timeout=420)
        frontend = urls["FRONTEND_PORT"]
        untrained = requests.post(
            f"{frontend}/api/predict",
            data=png_bytes(stroke_digit(SEVEN)),
            headers={"Content-Type": "image/png"},
            timeout=10,
        )
        yield Stack(compose, frontend, urls["MLFLOW_UI_PORT"], urls["PROMETHEUS_PORT"], untrained)
    finally:
        compose.down("-v", "--remove-orphans")


@dataclass
class Trained:
    """What ``docker compose run --rm trainer`` left: its output and the version it put behind the alias."""

    output: str
    version: str


@pytest.fixture(scope="module")
def trained(stack: Stack) -> Trained:
    output = stack.compose("run", "--rm", "trainer", timeout=1800, with_log=True)
    version = MlflowClient(stack.mlflow).get_model_version_by_alias(MODEL, ALIAS).version
    return Trained(output, version)


def run_ids(tracking_uri: str) -> list[str]:
    """The ids of every run in the trainer's experiment."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return sorted(run.info.run_id for run in client.search_runs([experiment.experiment_id]))


def test_images_build_and_every_service_becomes_healthy_unprivileged(stack: Stack):
    stack.all_healthy()
    assert requests.get(f"{stack.mlflow}/health", timeout=5).status_code == 200
    for service in ("tracking", "predictor", "frontend"):
        assert stack.compose("exec", "-T", service, "id", "-u").strip() != "0", f"{service} runs as root"


def test_before_training_the_api_says_there_is_no_model_and_what_to_run(stack: Stack):
    answer = stack.untrained_answer
    assert answer.status_code == 503 and answer.json()["error"] == "model_unavailable"
    assert "docker compose run" in answer.json()["message"]


def test_no_credential_is_baked_into_any_image(stack: Stack):
    for service in ("tracking", "trainer", "predictor", "frontend"):
        image = f"mnist-mlops/mlops-mnist:{service}-e2e"
        history = subprocess.run(
            ["docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", image],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        config = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .Config.Env}}", image],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for value in CREDENTIALS.values():
            assert value not in history + config, f"a credential is in the {service} image"
        for name in ("PASSWORD", "SECRET", "ACCESS_KEY"):
            assert name not in config, f"{service} image sets {name} in its environment"
    # ... while the running stack does have them, where they belong.
    environment = stack.compose("exec", "-T", "tracking", "env")
    assert f"POSTGRES_PASSWORD={CREDENTIALS['POSTGRES_PASSWORD']}" in environment


def test_trainer_logs_three_runs_registers_the_best_and_stores_artifacts_in_the_bucket(stack: Stack, trained):
    client = MlflowClient(stack.mlflow)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    # In the order the trainer ran them: select_best keeps the earlier of two runs that tie, so the
    # order is part of the rule (search_runs' own order is newest first).
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert {run.data.tags["run_key"] for run in runs} == RUN_KEYS, trained.output[-2000:]
    assert all(run.info.status == "FINISHED" for run in runs)
    version = client.get_model_version(MODEL, trained.version)
    scores = {
        run.info.run_id: Scores(
            test_accuracy=run.data.metrics["test_accuracy"],
            real_pen_accuracy=run.data.metrics["real_pen_accuracy"],
            synthetic_drawn_accuracy=run.data.metrics["synthetic_drawn_accuracy"],
        )
        for run in runs
    }
    # The alias is on the run the gate's rule picks (compare scores, not run ids: runs can tie).
    best = select_best([Candidate(run_id, "", "", score, "", "") for run_id, score in scores.items()])
    assert scores[version.run_id] == best.scores, (version.run_id, scores)
    # The artifacts are objects in the bucket: list it from inside the tracking container (the
    # object store is on an internal network), with the credentials the tracking server has.
    listing = stack.compose(
        "exec",
        "-T",
        "tracking",
        "python",
        "-c",
        (
            "import os, boto3; s3 = boto3.client('s3', endpoint_url=os.environ['MLFLOW_S3_ENDPOINT_URL']); "
            "pages = s3.get_paginator('list_objects_v2').paginate(Bucket='mlflow'); "
            "print('\\n'.join(o['Key'] for p in pages for o in p.get('Contents', [])))"
        ),
    )
    keys = listing.split()
    for run in runs:
        assert any(run.info.run_id in key for key in keys), f"no objects for run {run.data.tags['run_key']}"
    assert sum(key.endswith("/MLmodel") for key in keys) >= 6, "a Keras and an ONNX model per run"


def drawn_digits(mnist_full: Path) -> list[tuple[int, bytes]]:
    """MNIST test digits the trainer never saw, re-drawn as canvas strokes (fixed seed)."""
    rng = np.random.default_rng(7)
    with np.load(mnist_full) as data:
        images, labels = data["x_test"][5000:], data["y_test"][5000:]
    chosen = [index for digit in range(10) for index in np.flatnonzero(labels == digit)[:DRAWINGS_PER_DIGIT]]
    return [(int(labels[i]), png_bytes(redraw(images[i], rng))) for i in chosen]


def test_the_page_loads_and_drawn_digits_come_back_right_through_the_frontend(stack: Stack, trained, mnist_full):
    page = requests.get(stack.frontend + "/", timeout=10)
    assert page.status_code == 200 and "<canvas" in page.text
    production = stack.production_version()
    assert stack.wait_for_model()["version"] == production
    right = 0
    for label, png in drawn_digits(mnist_full):
        answer = requests.post(
            f"{stack.frontend}/api/predict", files={"image": ("digit.png", png, "image/png")}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["model"]["version"] == production
        right += answer.json()["digit"] == label
    total = 10 * DRAWINGS_PER_DIGIT
    assert right >= MIN_DRAWN_CORRECT * total, f"{right}/{total} drawn digits read right"


# A notebook: the tracking URI in code, no MLflow variable in its environment.
NOTEBOOK = """
import json, os, sys, time
import mlflow, numpy as np, onnxruntime
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
started = time.monotonic()
client = MlflowClient()
runs = client.search_runs([client.get_experiment_by_name("mnist-cnn").experiment_id])
keras = mlflow.artifacts.download_artifacts("models:/Mnist_Best_Model@production")
version = client.get_model_version_by_alias("Mnist_Best_Model", "production")
onnx_folder = mlflow.artifacts.download_artifacts(version.tags["onnx_model_uri"])
session = onnxruntime.InferenceSession(os.path.join(onnx_folder, "model.onnx"))
out = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 28, 28, 1), np.float32)})[0]
print(json.dumps({"runs": len(runs), "keras": sorted(os.listdir(keras)), "onnx": list(out.shape),
                  "seconds": time.monotonic() - started}))
"""
NOTEBOOK_SECONDS = 30  # downloads through the server take a few seconds; presigned ones hung for 10+ minutes


def loaded(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["runs"] == 3 and "MLmodel" in answer["keras"] and answer["onnx"] == [1, 10], answer
    assert answer["seconds"] < NOTEBOOK_SECONDS, f"{answer['seconds']:.0f} s to download the models"
    return answer


def test_a_notebook_on_the_host_with_no_mlflow_settings_loads_the_production_model(stack: Stack, trained, tmp_path):
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", NOTEBOOK, stack.mlflow],
        env=clean,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    print(f"\nnotebook on the host: {loaded(result)['seconds']:.1f} s")


def test_a_client_in_a_container_with_no_mlflow_settings_loads_the_production_model(stack: Stack, trained):
    # The trainer's image (MLflow, onnxruntime) on the stack's network, with nothing but its own ENV.
    result = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--network",
            f"{PROJECT}_app",
            "--entrypoint",
            "python",
            "mnist-mlops/mlops-mnist:trainer-e2e",
            "-c",
            NOTEBOOK,
            "http://tracking:5000",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(f"\nclient in a container: {loaded(result)['seconds']:.1f} s")


def test_mlflow_telemetry_is_off_in_the_stack(stack: Stack):
    answer = requests.post(f"{stack.mlflow}/ajax-api/3.0/mlflow/ui-telemetry", json={"records": []}, timeout=10)
    assert answer.status_code == 200 and answer.json() == {"status": "disabled"}
    for service in ("tracking", "predictor"):
        assert "MLFLOW_DISABLE_TELEMETRY=true" in stack.compose("exec", "-T", service, "env")


def test_the_report_is_a_subcommand_of_the_trainer(stack: Stack, trained):
    output = stack.compose("run", "--rm", "trainer", "report", timeout=600)
    assert "wrote /tmp/reports/experiment-report.md" in output and "under report/" in output


def test_restart_and_down_up_lose_nothing(stack: Stack, trained):
    before, production = run_ids(stack.mlflow), stack.production_version()
    for cycle in ("restart", "down"):
        if cycle == "restart":
            stack.compose("restart", timeout=300)
        else:
            stack.compose.down()  # without -v: the volumes stay
        stack.compose("up", "-d", "--wait", "--wait-timeout", "300", timeout=420)
        stack.all_healthy()
        assert run_ids(stack.mlflow) == before, cycle
        assert stack.production_version() == production
        assert stack.wait_for_model()["version"] == production, cycle
        answer = stack.predict_seven()
        assert answer.status_code == 200 and answer.json()["digit"] == 7, (cycle, answer.text)


def feedback_db(stack: Stack, query: str) -> str:
    """A query on the prediction database, as PostgreSQL's superuser inside its container."""
    return stack.compose("exec", "-T", "postgres", "psql", "-U", "mlflow", "-d", "feedback", "-tA", "-c", query).strip()


def test_predictions_are_logged_and_people_correct_them_through_the_page(stack: Stack, trained):
    stack.wait_for_model()
    answer = stack.predict_seven()
    assert answer.status_code == 200, answer.text
    prediction_id = answer.json()["prediction_id"]
    feedback = requests.post(
        f"{stack.frontend}/api/feedback", json={"prediction_id": prediction_id, "label": 1}, timeout=10
    )
    assert feedback.status_code == 201, feedback.text
    again = requests.post(
        f"{stack.frontend}/api/feedback", json={"prediction_id": prediction_id, "label": 7}, timeout=10
    )
    assert again.status_code == 200 and again.json()["status"] == "replaced"
    row = feedback_db(
        stack, f"SELECT digit, label, image_format, length(input_pixels) FROM predictions WHERE id = '{prediction_id}'"
    )
    assert row == f"{answer.json()['digit']}|7|PNG|784"
    bad = requests.post(
        f"{stack.frontend}/api/feedback", json={"prediction_id": prediction_id, "label": 12}, timeout=10
    )
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_label"
    assert requests.get(f"{stack.frontend}/api/metrics", timeout=10).status_code == 404, "metrics stay private"


def test_a_database_outage_loses_no_answer(stack: Stack, trained):
    stack.wait_for_model()
    stack.compose("stop", "postgres", timeout=120)
    try:
        answers = [stack.predict_seven() for _ in range(5)]
        assert [answer.status_code for answer in answers] == [200] * 5
        feedback = requests.post(
            f"{stack.frontend}/api/feedback",
            timeout=30,
            json={"prediction_id": answers[0].json()["prediction_id"], "label": 7},
        )
        assert feedback.status_code == 503 and feedback.json()["error"] == "feedback_unavailable"
    finally:
        stack.compose("start", "postgres", timeout=120)
    ids = ", ".join(f"'{answer.json()['prediction_id']}'" for answer in answers)

    def all_written() -> bool:
        try:
            return feedback_db(stack, f"SELECT count(*) FROM predictions WHERE id IN ({ids})") == "5"
        except AssertionError:  # PostgreSQL still starting
            return False

    wait_until(all_written, 120, "the queued records written after the outage")
    stack.compose("up", "-d", "--wait", "--wait-timeout", "300", timeout=420)  # the tracking server, if it tripped


def prometheus_query(stack: Stack, query: str) -> list[dict]:
    answer = requests.get(f"{stack.prometheus}/api/v1/query", params={"query": query}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["result"]


def test_prometheus_watches_the_predictor_and_alerts_when_it_stops(stack: Stack, trained):
    stack.wait_for_model()

    def predictions_seen() -> float:
        result = prometheus_query(stack, 'sum(predictor_predictions_total{job="predictor"})')
        return float(result[0]["value"][1]) if result else 0.0

    wait_until(lambda: prometheus_query(stack, 'up{job="predictor"} == 1') != [], 90, "the predictor scraped")
    assert prometheus_query(stack, 'up{job="tracking"} == 1') != [], "the tracking server is scraped too"
    before = predictions_seen()
    for _ in range(6):
        assert stack.predict_seven().status_code == 200
    wait_until(lambda: predictions_seen() >= before + 6, 90, "the 6 predictions counted in Prometheus")
    stack.compose("stop", "predictor", timeout=120)
    try:

        def predictor_down_fires() -> bool:
            alerts = requests.get(f"{stack.prometheus}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
            return any(a["labels"]["alertname"] == "PredictorDown" and a["state"] == "firing" for a in alerts)

        wait_until(predictor_down_fires, 240, "the PredictorDown alert firing")
    finally:
        stack.compose("up", "-d", "--wait", "--wait-timeout", "300", timeout=420)


def retrain(stack: Stack, **settings: str) -> tuple[str, object]:
    """``docker compose run --rm trainer`` with ``settings``; its output and log, and the version it registered."""
    flags = [item for key, value in settings.items() for item in ("-e", f"{key}={value}")]
    output = stack.compose("run", "--rm", *flags, "trainer", timeout=1800, with_log=True)
    client = MlflowClient(stack.mlflow)
    newest = max(client.search_model_versions(f"name = '{MODEL}'"), key=lambda v: int(v.version))
    return output, newest


def test_people_correct_an_unseen_form_and_the_gate_promotes_only_the_model_that_learned_it(stack: Stack, trained):
    champion = stack.wait_for_model()["version"]
    # Two forms neither drawn set has, interleaved in time: the later 30 % (held out) has both.
    sent, _ = flywheel_drawings(sent=40, fresh=0)
    correct(stack.frontend, sent)
    client = MlflowClient(stack.mlflow)

    # Worse: 600 MNIST images, one epoch. It sees the feedback, and the gate keeps the champion.
    output, worse = retrain(stack, TRAINER_RUNS="baseline", TRAINER_EPOCHS="1", MNIST_TRAIN_LIMIT="600")
    assert "labelled drawings to train on" in output and "not promoted" in output, output[-2000:]
    assert worse.tags["stage"] == "Challenger" and "feedback_accuracy" in worse.tags
    assert stack.production_version() == champion
    run = client.get_run(worse.run_id)
    inputs = {item.dataset.name: item.dataset for item in run.inputs.dataset_inputs}
    assert "postgresql://postgres:5432/feedback" in inputs["feedback-held-out"].source
    assert inputs["feedback-held-out"].digest == worse.tags["feedback_set_digest"]
    assert run.data.metrics["feedback_accuracy"] == pytest.approx(float(worse.tags["feedback_accuracy"]), abs=1e-6)

    # Better: the tuned run on all of MNIST, learning from the corrections. On 20,000 images it can
    # land 0.25 points under the champion on the 2,000 test digits (seen once), and the gate then
    # rightly keeps the champion. Promoted, and the predictor follows.
    output, better = retrain(stack, TRAINER_RUNS="tuned", TRAINER_EPOCHS="5", MNIST_TRAIN_LIMIT="0")
    assert f"version {better.version} promoted" in output, output[-2000:]
    assert "beats version" in better.tags["promotion"] and "feedback accuracy" in better.tags["promotion"]
    assert stack.production_version() == better.version
    wait_until(lambda: stack.wait_for_model()["version"] == better.version, 120, "the predictor serving it")


def test_down_with_volumes_leaves_nothing(stack: Stack, mnist_full):
    # A stack of its own (the services that keep volumes, on the images the fixture built).
    compose, _ = compose_for(f"{PROJECT}-down", mnist_full)
    try:
        compose("up", "-d", "--wait", "--wait-timeout", "300", "tracking", timeout=420)
        assert compose.leftovers()["volumes"], "the stores keep their data in volumes"
    finally:
        compose.down("-v", "--remove-orphans")
    assert compose.leftovers() == {"containers": [], "volumes": [], "networks": []}
