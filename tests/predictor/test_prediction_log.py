"""The prediction log and ``POST /feedback`` against a real PostgreSQL, set up by the stack's own script."""

from __future__ import annotations

import itertools
import logging
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from flask import Flask
from flask.testing import FlaskClient

from devkit.drawing import SEVEN, png_bytes, stroke_digit
from devkit.postgres import create_prediction_db, postgres_server, start_postgres, stop_postgres
from devkit.processes import REPO_ROOT, wait_until
from predictor.app import create_app
from predictor.model_manager import ModelManager
from predictor.prediction_log import PredictionLog, PredictionRecord, migrate
from predictor.settings import PredictorSettings

pytestmark = pytest.mark.integration

SUPERUSER, SUPERUSER_PASSWORD, MLFLOW_DB = "mlflow", "pg-superuser-pw", "mlflow"
names = (f"feedback_{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """A PostgreSQL of this module's own, with MLflow's database as the stack has it."""
    folder = tmp_path_factory.mktemp("pg")
    with postgres_server(folder, SUPERUSER, SUPERUSER_PASSWORD, MLFLOW_DB) as pg:
        yield {"pg": pg, "folder": folder}


@pytest.fixture()
def database(server: dict) -> dict[str, str]:
    """A prediction database of this test's own, made by database/create-prediction-db.sh."""
    return create_prediction_db(server["pg"], next(names))


def settings_for(database: dict[str, str], tmp_path: Path, **extra) -> PredictorSettings:
    fields = {key.lower(): value for key, value in database.items() if key.startswith("PREDICTION_DB_")}
    return PredictorSettings(
        model_cache_dir=tmp_path / "cache", mlflow_tracking_uri="http://127.0.0.1:9", **fields, **extra
    )


def connect(database: dict[str, str], user: str = "PREDICTION_DB", dbname: str | None = None):
    return psycopg2.connect(
        host=database["PREDICTION_DB_HOST"],
        port=database["PREDICTION_DB_PORT"],
        user=database[f"{user}_USER"],
        password=database[f"{user}_PASSWORD"],
        dbname=dbname or database["PREDICTION_DB_NAME"],
    )


def rows(database: dict[str, str], query: str = "SELECT * FROM predictions") -> list[dict]:
    with connect(database) as connection, connection.cursor() as cursor:
        cursor.execute(query)
        columns = [column.name for column in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture()
def logged_app(database: dict[str, str], tmp_path: Path, manager: ModelManager):
    """The predictor's app with a real prediction log on the test's database."""
    settings = settings_for(database, tmp_path)
    prediction_log = PredictionLog(settings)
    prediction_log.start()
    app = create_app(settings, manager, prediction_log)
    yield app
    prediction_log.stop()


@pytest.fixture()
def logged_client(logged_app: Flask) -> FlaskClient:
    return logged_app.test_client()


def predict(client: FlaskClient) -> dict:
    png = png_bytes(stroke_digit(SEVEN))
    response = client.post("/predict", data=png, content_type="image/png")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def written(database: dict[str, str], count: int) -> None:
    def enough() -> bool:
        try:
            return len(rows(database)) >= count
        except psycopg2.errors.UndefinedTable:
            return False  # the log's thread has not migrated yet

    wait_until(enough, 15, f"{count} prediction records")


MIGRATE = (
    "from predictor.prediction_log import migrate; from predictor.settings import PredictorSettings; "
    "migrate(PredictorSettings().prediction_db_url)"
)


def test_migrations_create_the_schema_once_even_from_several_processes_at_once(database):
    env = {**os.environ, **database, "PYTHONPATH": str(REPO_ROOT)}
    processes = [
        subprocess.Popen([sys.executable, "-c", MIGRATE], env=env, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr[-2000:]
    assert rows(database, "SELECT version_num FROM alembic_version") == [{"version_num": "0001"}]
    assert rows(database) == []


def test_the_roles_hold_only_what_they_may_touch(database, tmp_path):
    migrate(settings_for(database, tmp_path).prediction_db_url)
    with connect(database, "PREDICTION_READER") as reader, reader.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM predictions")
        assert cursor.fetchone() == (0,)
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cursor.execute("DELETE FROM predictions")
    for user in ("PREDICTION_DB", "PREDICTION_READER"):
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            connect(database, user, dbname=MLFLOW_DB)


def test_the_setup_script_runs_again_on_an_existing_database_and_keeps_its_rows(server, database, tmp_path):
    """compose runs it on every start: on a volume from before, and on one it already set up."""
    writer = PredictionLog(settings_for(database, tmp_path))
    writer.record(record(datetime.now(UTC), 1))
    writer.start()
    written(database, 1)
    writer.stop()
    assert create_prediction_db(server["pg"], database["PREDICTION_DB_NAME"]) == database
    assert len(rows(database)) == 1
    with connect(database, "PREDICTION_READER") as reader, reader.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM predictions")  # grants hold for tables made since
        assert cursor.fetchone() == (1,)


def test_every_answer_is_recorded_with_what_the_model_saw(logged_client, database):
    answer = predict(logged_client)
    written(database, 1)
    [row] = rows(database)
    assert row["id"] == answer["prediction_id"] and len(answer["prediction_id"]) == 32
    assert row["digit"] == answer["digit"] and row["model_version"] == answer["model"]["version"]
    assert row["model_name"] == "Mnist_Best_Model"
    assert row["confidence"] == pytest.approx(answer["confidence"], abs=1e-6)
    assert sum(row["probabilities"]) == pytest.approx(1.0)
    assert len(bytes(row["input_pixels"])) == 784 and max(bytes(row["input_pixels"])) > 200
    assert (row["image_format"], row["image_width"], row["image_height"]) == ("PNG", 280, 280)
    assert row["label"] is None and row["created_at"].tzinfo is not None


def test_feedback_creates_then_replaces_the_label(logged_client, database):
    answer = predict(logged_client)
    created = logged_client.post("/feedback", json={"prediction_id": answer["prediction_id"], "label": 1})
    assert created.status_code == 201 and created.get_json()["status"] == "created"
    replaced = logged_client.post("/feedback", json={"prediction_id": answer["prediction_id"], "label": 7})
    assert replaced.status_code == 200 and replaced.get_json() == {
        "prediction_id": answer["prediction_id"],
        "label": 7,
        "status": "replaced",
    }
    [row] = rows(database)
    assert row["label"] == 7 and row["labelled_at"] is not None


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"prediction_id": "0" * 32, "label": 3}, 404, "unknown_prediction"),
        ({"prediction_id": "not-an-id", "label": 3}, 404, "unknown_prediction"),
        ({"prediction_id": "0" * 32, "label": 10}, 422, "invalid_label"),
        ({"prediction_id": "0" * 32, "label": "7"}, 422, "invalid_label"),
        ({"prediction_id": "0" * 32, "label": True}, 422, "invalid_label"),
        ({"prediction_id": "0" * 32, "label": 7.0}, 422, "invalid_label"),
        ({"label": 3}, 400, "invalid_json"),
        ([1, 2], 400, "invalid_json"),
    ],
)
def test_bad_feedback_is_a_json_4xx(logged_client, body, status, code):
    response = logged_client.post("/feedback", json=body)
    assert response.status_code == status
    assert response.get_json()["error"] == code and response.get_json()["message"]


def test_feedback_that_is_not_json_is_a_400(logged_client):
    response = logged_client.post("/feedback", data="prediction_id=1&label=2")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_json"


def test_a_database_outage_loses_no_answer_and_no_record(server, database, tmp_path, manager, caplog):
    settings = settings_for(database, tmp_path)
    prediction_log = PredictionLog(settings)
    prediction_log.start()
    client = create_app(settings, manager, prediction_log).test_client()
    try:
        predict(client)
        written(database, 1)
        stop_postgres(server["folder"])
        try:
            with caplog.at_level(logging.WARNING, logger="predictor"):
                answers = [predict(client) for _ in range(5)]
                wait_until(lambda: prediction_log.problem != "", 10, "the log noticing the outage")
            feedback = client.post("/feedback", json={"prediction_id": answers[0]["prediction_id"], "label": 2})
            assert feedback.status_code == 503 and feedback.get_json()["error"] == "feedback_unavailable"
            assert "cannot write" in caplog.text
        finally:
            start_postgres(server["folder"])
        written(database, 6)
        assert {row["id"] for row in rows(database)} >= {answer["prediction_id"] for answer in answers}
        assert prediction_log.dropped == 0
    finally:
        prediction_log.stop()


def test_past_the_queue_bound_records_are_dropped_and_counted_never_the_answer(server, database, tmp_path, manager):
    settings = settings_for(database, tmp_path, prediction_log_queue_size=3)
    prediction_log = PredictionLog(settings)
    client = create_app(settings, manager, prediction_log).test_client()  # not started: nothing is written
    answers = [predict(client) for _ in range(5)]
    assert len(answers) == 5 and prediction_log.dropped == 2
    prediction_log.start()
    try:
        written(database, 3)
        assert {row["id"] for row in rows(database)} == {answer["prediction_id"] for answer in answers[:3]}
    finally:
        prediction_log.stop()


def record(created_at: datetime, n: int) -> PredictionRecord:
    return PredictionRecord(f"{n:032x}", created_at, "m", "1", 3, 0.9, [0.1] * 10, bytes(784), "PNG", 28, 28)


def test_retention_deletes_old_unlabelled_records_only(database, tmp_path):
    keeper = PredictionLog(settings_for(database, tmp_path, prediction_retention_days=0))  # 0: keeps everything
    now = datetime.now(UTC)
    for n, age in enumerate((40, 40, 1)):
        keeper.record(record(now - timedelta(days=age), n))
    keeper.start()
    written(database, 3)
    assert keeper.label(f"{1:032x}", 5) == (False, 3)  # an old record with a label stays
    keeper.stop()
    pruner = PredictionLog(settings_for(database, tmp_path, prediction_retention_days=30))
    pruner.start()  # prunes when it starts, then hourly
    try:
        wait_until(lambda: len(rows(database)) == 2, 15, "the retention")
        assert sorted(row["id"] for row in rows(database)) == [f"{1:032x}", f"{2:032x}"]
    finally:
        pruner.stop()


def test_the_writer_waits_a_flush_interval_for_more_records_so_busy_seconds_are_few_inserts(tmp_path):
    prediction_log = PredictionLog(PredictorSettings(model_cache_dir=tmp_path / "cache"))  # never started
    records = [record(datetime.now(UTC), n) for n in range(40)]

    def arrive_one_every_2_ms() -> None:
        for item in records:
            prediction_log.queue.put(item)
            time.sleep(0.002)

    sender = threading.Thread(target=arrive_one_every_2_ms)
    sender.start()
    taken = prediction_log._take(200)
    sender.join()
    assert len(taken) >= 20, f"one INSERT for {len(taken)} record(s): the writer did not wait for the others"
