"""The whole trainer against a real ``mlflow server`` process (SQLite backend, proxied artifacts)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from mlflow import MlflowClient

from devkit.mlflow_server import mlflow_server
from devkit.processes import REPO_ROOT, free_port, stop, wait_until
from devkit.trainer_process import run_trainer
from trainer.gate import REAL_PEN_MARGIN, TEST_TOLERANCE, Candidate, Scores, select_best
from trainer.promotion import recorded_scores, register_and_promote

pytestmark = pytest.mark.integration

MODEL = "Mnist_Best_Model"
EXPERIMENT = "it-mnist"
EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")


def trainer_env(tracking_uri: str, mnist_path: Path, **extra: str) -> dict[str, str]:
    env = {"MLFLOW_TRACKING_URI": tracking_uri, "MNIST_PATH": str(mnist_path)}
    env.update({"MLFLOW_EXPERIMENT_NAME": EXPERIMENT, "TRAINER_EPOCHS": "2", "TRACKING_WAIT_SECONDS": "30"})
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as uri:
        yield uri


@pytest.fixture(scope="module")
def trained(server: str, mnist_slice: Path) -> subprocess.CompletedProcess:
    """One full trainer run (3 runs, 2 epochs each, on the 3,000-image slice)."""
    result = run_trainer(trainer_env(server, mnist_slice))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def client(server: str) -> MlflowClient:
    return MlflowClient(tracking_uri=server, registry_uri=server)


def scores_of(run) -> Scores:
    metrics = run.data.metrics
    return Scores(
        test_accuracy=metrics["test_accuracy"],
        real_pen_accuracy=metrics["real_pen_accuracy"],
        synthetic_drawn_accuracy=metrics["synthetic_drawn_accuracy"],
    )


def experiment_runs(client: MlflowClient):
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])


def test_three_finished_runs_each_with_its_reason(trained, client):
    runs = experiment_runs(client)
    assert [run.data.tags["run_key"] for run in runs] == ["baseline", "architecture", "tuned"]
    for run in runs:
        assert run.info.status == "FINISHED"
        assert len(run.data.tags["reason"]) > 40
        description = run.data.tags["mlflow.note.content"]  # what the UI shows: why, then what it read
        assert description.startswith(run.data.tags["reason"]), "UI description"
        real_pens = f"real people's pens (UJI, 60 writers) {run.data.metrics['real_pen_accuracy']:.2%}"
        assert real_pens in description and "synthetic drawn digits" in description


def test_runs_log_params_metrics_and_dataset(trained, client):
    for run in experiment_runs(client):
        params = run.data.params
        for name in ("epochs", "batch_size", "learning_rate", "architecture", "total_params", "dropout"):
            assert name in params
        assert params["epochs"] == "2"
        for name in (
            "test_accuracy",
            "real_pen_accuracy",
            "synthetic_drawn_accuracy",
            "test_loss",
            "training_seconds",
            "seconds_per_epoch",
        ):
            assert name in run.data.metrics
        assert 0.5 < run.data.metrics["test_accuracy"] <= 1.0
        assert 0.1 < run.data.metrics["synthetic_drawn_accuracy"] <= 1.0
        assert 0.1 < run.data.metrics["real_pen_accuracy"] <= 1.0
        assert int(params["synthetic_drawn_size"]) == 3000 and int(params["synthetic_styles_size"]) > 0
        assert int(params["real_pen_size"]) == 1200 and int(params["marked_size"]) > 0
        for name in EPOCH_METRICS:
            history = client.get_metric_history(run.info.run_id, name)
            assert sorted(point.step for point in history) == [0, 1], name
        contexts = {
            tag.value for ds in run.inputs.dataset_inputs for tag in ds.tags if tag.key == "mlflow.data.context"
        }
        assert contexts == {"training", "testing", "evaluation"}
        names = {ds.dataset.name for ds in run.inputs.dataset_inputs}
        assert names == {
            "mnist-train",
            "mnist-train-marked",
            "synthetic-styles",
            "mnist-test",
            "real-pens",
            "synthetic-drawn-digits",
        }
        assert all(ds.dataset.digest for ds in run.inputs.dataset_inputs)


def test_runs_log_figures_and_both_models(trained, client, tmp_path):
    for run in experiment_runs(client):
        plots = {item.path for item in client.list_artifacts(run.info.run_id, "plots")}
        expected = {
            "learning_curves",
            "confusion_matrix",
            "misclassified",
            "drawn_misclassified",
            "real_pen_confusion_matrix",
            "real_pen_misclassified",
        }
        assert plots == {f"plots/{name}.png" for name in expected}
        styles = json.loads(
            Path(client.download_artifacts(run.info.run_id, "drawn/accuracy_by_style.json", str(tmp_path))).read_text()
        )
        assert "1 long_flag" in styles and all(0 <= value <= 1 for value in styles.values())
        real_pens = json.loads(
            Path(client.download_artifacts(run.info.run_id, "real_pens/accuracy.json", str(tmp_path))).read_text()
        )
        assert sorted(real_pens["by_digit"]) == list("0123456789")
        misread = round((1 - run.data.metrics["real_pen_accuracy"]) * 1200)
        assert sum(confusion["count"] for confusion in real_pens["confusions"]) == misread
        local = client.download_artifacts(run.info.run_id, "plots/confusion_matrix.png", str(tmp_path))
        assert Path(local).read_bytes().startswith(b"\x89PNG") and Path(local).stat().st_size > 10_000
        assert run.data.tags["onnx_model_uri"].startswith("models:/")
        assert run.data.metrics["onnx_max_abs_diff"] < 1e-4
        logged = client.search_logged_models(
            experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
        )
        assert {model.name for model in logged} == {"model", "onnx_model"}


def test_best_run_is_registered_with_alias_and_tags(trained, client):
    runs = experiment_runs(client)
    version = client.get_model_version_by_alias(MODEL, "production")
    best = {run.info.run_id: run for run in runs}[version.run_id]
    scored = [
        Candidate(run.info.run_id, run.data.tags["run_key"], run.info.run_name, scores_of(run), "", "") for run in runs
    ]
    # Scores, not run ids: two runs can tie on a test slice (the trainer then keeps the earlier).
    assert scores_of(best) == select_best(scored).scores
    assert version.tags["stage"] == "Production"
    assert version.tags["onnx_model_uri"] == best.data.tags["onnx_model_uri"]
    assert float(version.tags["test_accuracy"]) == pytest.approx(best.data.metrics["test_accuracy"], abs=1e-6)
    assert float(version.tags["synthetic_drawn_accuracy"]) == pytest.approx(
        best.data.metrics["synthetic_drawn_accuracy"], abs=1e-6
    )
    assert version.tags["synthetic_drawn_set_digest"] == best.data.tags["synthetic_drawn_set_digest"]
    assert float(version.tags["real_pen_accuracy"]) == pytest.approx(best.data.metrics["real_pen_accuracy"], abs=1e-6)
    assert version.tags["real_pen_set_digest"] == best.data.tags["real_pen_set_digest"]
    assert "MNIST test accuracy" in version.description and "real-pen accuracy" in version.description
    assert f"{MODEL}@production -> version {version.version}" in trained.stdout
    assert "real pens" in trained.stdout and "Tuned learning rate" in trained.stdout


LOAD_BOTH = """
import json, sys
import numpy as np, onnxruntime, mlflow
from mlflow import MlflowClient
name = "Mnist_Best_Model"
images = np.load(sys.argv[1])["x_test"][:200].astype("float32")[..., None] / 255
keras_model = mlflow.keras.load_model(f"models:/{name}@production")
version = MlflowClient().get_model_version_by_alias(name, "production")
onnx_dir = mlflow.artifacts.download_artifacts(version.tags["onnx_model_uri"])
session = onnxruntime.InferenceSession(onnx_dir + "/model.onnx")
served = session.run(None, {session.get_inputs()[0].name: images})[0]
trained = keras_model.predict(images, verbose=0)
print(json.dumps({"max_diff": float(np.abs(served - trained).max()),
                  "agree": float((served.argmax(1) == trained.argmax(1)).mean())}))
"""


def test_fresh_process_loads_keras_and_onnx_and_they_agree(trained, server, mnist_slice):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env["MLFLOW_TRACKING_URI"] = server
    result = subprocess.run(
        [sys.executable, "-c", LOAD_BOTH, str(mnist_slice)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["agree"] == 1.0
    assert report["max_diff"] < 1e-4


def test_champion_challenger_keeps_alias_unless_better_or_forced(trained, client, server):
    import mlflow

    mlflow.set_tracking_uri(server)
    trained_best = client.get_model_version_by_alias(MODEL, "production")
    run = client.get_run(trained_best.run_id)
    logged = {
        model.name: model.model_uri
        for model in client.search_logged_models(
            experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
        )
    }
    recorded = recorded_scores(trained_best.tags)
    name = "Gate_Test_Model"  # a registered model of this test's own: the trainer's stays as it trained it

    def challenger(test: float = 0.0, real: float = 0.0) -> Candidate:
        scores = replace(
            recorded, test_accuracy=recorded.test_accuracy + test, real_pen_accuracy=recorded.real_pen_accuracy + real
        )
        return Candidate(run.info.run_id, "tuned", "Challenger", scores, logged["model"], logged["onnx_model"])

    def never_evaluated(uri: str) -> Scores:
        raise AssertionError("same sets: the recorded scores must be reused")

    def holder() -> str:
        return client.get_model_version_by_alias(name, "production").version

    first = register_and_promote(client, challenger(), name, "production", False, never_evaluated)
    assert first.decision.promote and "no version holds the alias" in first.decision.reason

    same = register_and_promote(client, challenger(), name, "production", False, never_evaluated)
    assert not same.decision.promote and holder() == first.version
    assert client.get_model_version(name, same.version).tags["stage"] == "Challenger"

    # Reads real pens better, but loses more than the tolerance on MNIST test: kept out.
    trade = register_and_promote(
        client, challenger(test=-3 * TEST_TOLERANCE, real=0.02), name, "production", False, never_evaluated
    )
    assert not trade.decision.promote and holder() == first.version

    # Within the real-pen set's sampling error and no better on MNIST: a tie, the holder stays.
    noise = register_and_promote(
        client, challenger(real=REAL_PEN_MARGIN / 2), name, "production", False, never_evaluated
    )
    assert not noise.decision.promote and holder() == first.version

    forced = register_and_promote(client, challenger(test=-0.1), name, "production", True, never_evaluated)
    assert forced.decision.promote and holder() == forced.version
    assert client.get_model_version(name, first.version).tags["stage"] == "Archived"

    better = register_and_promote(
        client, challenger(real=2 * REAL_PEN_MARGIN), name, "production", False, never_evaluated
    )
    assert better.decision.promote and "beats version" in better.decision.reason
    assert holder() == better.version
    assert float(client.get_model_version(name, better.version).tags["real_pen_accuracy"]) == pytest.approx(
        recorded.real_pen_accuracy + 2 * REAL_PEN_MARGIN
    )


def test_unreachable_tracking_server_is_a_clear_bounded_error(mnist_slice):
    started = time.monotonic()
    env = trainer_env(f"http://127.0.0.1:{free_port()}", mnist_slice, TRACKING_WAIT_SECONDS="3")
    result = run_trainer(env, timeout=120)
    assert result.returncode == 3
    assert "is not reachable after 3s" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 100


def test_unreachable_tracking_database_is_a_clear_bounded_error_without_the_password(mnist_slice):
    started = time.monotonic()
    uri = f"postgresql+psycopg2://mlflow:s3cret-pw@127.0.0.1:{free_port()}/mlflow"
    result = run_trainer(trainer_env(uri, mnist_slice, TRACKING_WAIT_SECONDS="3"), timeout=120)
    assert result.returncode == 3
    assert "is not reachable after 3s" in result.stderr and "mlflow:***@127.0.0.1" in result.stderr
    assert "s3cret-pw" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 60  # MLflow's own database retries alone would take ~100 s


def test_nan_loss_fails_the_run_and_nothing_is_promoted(tmp_path, mnist_slice):
    import mlflow

    from trainer.data import DRAWN_EVALUATION, DRAWN_TRAINING, load_drawn, load_real_pens, load_splits
    from trainer.experiments import BASELINE
    from trainer.train import TrainingDivergedError, train_model
    from trainer.training_data import TrainingData

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'nan.db'}")
    experiment_id = mlflow.create_experiment("nan", artifact_location=(tmp_path / "art").as_uri())
    from trainer.style_marks import marked_digits

    mnist = load_splits(mnist_slice, train_limit=500)
    data = TrainingData(
        mnist,
        marked_digits(mnist.x_train, mnist.y_train, 50, seed=1),
        load_drawn(DRAWN_TRAINING, limit=100),
        load_real_pens(),
        load_drawn(DRAWN_EVALUATION, limit=100),
    )
    diverging = replace(BASELINE, learning_rate=float("nan"), epochs=1)
    with pytest.raises(TrainingDivergedError):
        train_model(diverging, data, seed=1, experiment_id=experiment_id)
    runs = mlflow.search_runs([experiment_id], output_format="list")
    assert [run.info.status for run in runs] == ["FAILED"]
    assert MlflowClient().search_registered_models() == []


def test_sigterm_marks_the_run_killed_and_registers_nothing(tmp_path, mnist_full):
    store = tmp_path / "store"
    env = {
        **os.environ,
        "MNIST_PATH": str(mnist_full),
        "MLFLOW_TRACKING_URI": "",
        "TRAINER_LOCAL_STORE": str(store),
        "PYTHONUNBUFFERED": "1",  # the log is read while the trainer writes it
    }
    log = tmp_path / "trainer.log"
    with open(log, "w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "trainer", "--runs", "architecture", "--epochs", "5"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )

    def training_started() -> bool:
        # Keras' first epoch line comes after the run started. The store is read only once the
        # trainer has exited: a second client opening the new SQLite store while the trainer
        # creates its tables races it (the trainer then exits 3, "tracking unavailable").
        return "Epoch 1/" in log.read_text()

    try:
        wait_until(training_started, 180, "trainer run start", process)
        time.sleep(2)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)
    finally:
        stop(process)
    output = log.read_text()
    assert process.returncode == 130, output[-2000:]
    assert "marked KILLED" in output
    client = MlflowClient(tracking_uri=f"sqlite:///{store / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("mnist-cnn").experiment_id])
    assert [run.info.status for run in runs] == ["KILLED"]
    assert client.search_registered_models() == []
