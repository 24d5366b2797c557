"""People's labelled drawings, read by the trainer from a real PostgreSQL with the read-only role.

The database is made as the stack makes it (database/create-prediction-db.sh, the predictor's
migrations); the records are written with the predictor's own table definition.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from mlflow import MlflowClient

from devkit.mlflow_server import mlflow_server
from devkit.postgres import create_prediction_db
from devkit.prediction_db import START, add_predictions, reader_env
from devkit.processes import free_port
from devkit.trainer_process import run_trainer
from trainer.data import DataError
from trainer.feedback import LabelledDrawing, load_feedback, split_by_time
from trainer.settings import TrainerSettings

pytestmark = pytest.mark.integration


def reader(database: dict[str, str], **extra) -> TrainerSettings:
    """The trainer's settings for ``database``, as compose gives them (the reader's role)."""
    return TrainerSettings(**{key.lower(): value for key, value in reader_env(database).items()}, **extra)


def distinct_images(count: int) -> np.ndarray:
    """``count`` different 28x28 images (image i has pixel i lit)."""
    images = np.zeros((count, 28, 28), dtype=np.uint8)
    images.reshape(count, -1)[np.arange(count), np.arange(count)] = 255
    return images


def test_later_labelled_drawings_judge_earlier_ones_train(prediction_db):
    images = distinct_images(40)
    labels = [i % 10 if i % 4 else None for i in range(40)]  # every fourth one never labelled
    add_predictions(prediction_db, images, labels)
    feedback = load_feedback(reader(prediction_db), holdout_fraction=0.3, min_labelled=10)
    assert (len(feedback.train), len(feedback.held_out)) == (21, 9)  # 30 labelled, the latest 9 held out
    assert feedback.cutoff == START + timedelta(minutes=29)
    assert list(feedback.held_out.y) == [i % 10 for i in range(29, 40) if i % 4]
    assert feedback.train.x.shape == (21, 28, 28, 1) and feedback.train.x.max() == 1.0
    assert feedback.source.startswith("postgresql://127.0.0.1:") and "reader-pw" not in feedback.source


def test_a_drawing_sent_again_later_is_held_out_only():
    same = b"\xff" * 784
    drawings = [
        LabelledDrawing(START + timedelta(minutes=i), same if i in (0, 9) else bytes([i]) * 784, 0, 1)
        for i in range(10)
    ]
    earlier, later = split_by_time(drawings, 0.1)
    assert later == [drawings[9]] and drawings[0] not in earlier and len(earlier) == 8


def test_too_few_labels_or_no_table_or_no_host_means_no_feedback(prediction_server, prediction_db):
    add_predictions(prediction_db, distinct_images(5), [1, 2, 3, None, None])
    assert load_feedback(reader(prediction_db), 0.3, min_labelled=4) is None
    never_migrated = create_prediction_db(prediction_server, "never_migrated")  # the predictor never started
    assert load_feedback(reader(never_migrated), 0.3, min_labelled=1) is None
    assert load_feedback(TrainerSettings(), 0.3, min_labelled=1) is None


def test_the_reader_cannot_write_and_an_unreachable_database_is_a_clear_error(prediction_db):
    engine = sa.create_engine(reader(prediction_db).prediction_reader_url)
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM predictions"))
    engine.dispose()
    with pytest.raises(DataError, match="PREDICTION_DB_HOST=") as error:
        load_feedback(reader({**prediction_db, "PREDICTION_DB_PORT": str(free_port())}), 0.3, min_labelled=1)
    assert "reader-pw" not in str(error.value)


def test_training_logs_the_feedback_input_and_accuracy_and_the_gate_uses_them(prediction_db, mnist_slice, tmp_path):
    images = np.load(mnist_slice)["x_test"][:60]
    labels = [int(y) for y in np.load(mnist_slice)["y_test"][:60]]
    add_predictions(prediction_db, images, labels)
    env = {
        **reader_env(prediction_db),
        "MNIST_PATH": str(mnist_slice),
        "TRAINER_RUNS": "baseline",
        "TRAINER_EPOCHS": "1",
        "MLFLOW_EXPERIMENT_NAME": "feedback-it",
        "FEEDBACK_WEIGHT": "3",
    }
    with mlflow_server(tmp_path / "mlflow") as uri:
        result = run_trainer({**env, "MLFLOW_TRACKING_URI": uri})
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "42 labelled drawings to train on (each 3x), 18 later ones held out" in result.stderr
        client = MlflowClient(uri, uri)
        version = client.get_model_version_by_alias("Mnist_Best_Model", "production")
        run = client.get_run(version.run_id)
        inputs = {item.dataset.name: item for item in run.inputs.dataset_inputs}
        held_out = inputs["feedback-held-out"]
        assert {tag.value for tag in held_out.tags} == {"evaluation"} and "feedback-train" in inputs
        assert "postgresql://127.0.0.1:" in held_out.dataset.source
        assert run.data.params["feedback_held_out_size"] == "18" and run.data.params["feedback_weight"] == "3"
        accuracy = run.data.metrics["feedback_accuracy"]
        assert float(version.tags["feedback_accuracy"]) == pytest.approx(accuracy, abs=1e-6)
        assert version.tags["feedback_set_digest"] == held_out.dataset.digest

        # A challenger trained on 200 images: rejected by the rule's first criterion, both models
        # judged with their feedback accuracy (the rule's order: tests/trainer/test_gate.py).
        again = run_trainer({**env, "MLFLOW_TRACKING_URI": uri, "MNIST_TRAIN_LIMIT": "200"})
        assert again.returncode == 0, again.stdout[-3000:]
        assert "not promoted" in again.stdout and "more than 0.1 points worse on MNIST test" in again.stdout
        assert again.stdout.count("feedback accuracy") >= 2, again.stdout[-3000:]
        assert client.get_model_version_by_alias("Mnist_Best_Model", "production").version == version.version
