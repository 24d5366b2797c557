"""A real PostgreSQL with prediction databases made as the stack makes them, for the trainer's feedback."""

from __future__ import annotations

import itertools

import pytest

from devkit.postgres import create_prediction_db, postgres_server
from devkit.prediction_db import owner_settings
from predictor.prediction_log import migrate

names = (f"feedback_{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def prediction_server(tmp_path_factory: pytest.TempPathFactory):
    """PostgreSQL with MLflow's database, as in the stack."""
    with postgres_server(tmp_path_factory.mktemp("pg"), "postgres", "pg-pw", "mlflow") as pg:
        yield pg


@pytest.fixture()
def prediction_db(prediction_server: dict) -> dict[str, str]:
    """A prediction database of this test's own (database/create-prediction-db.sh), migrated by the predictor's code."""
    database = create_prediction_db(prediction_server, next(names))
    migrate(owner_settings(database).prediction_db_url)
    return database
