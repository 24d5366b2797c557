"""The prediction database as tests and benchmarks fill and read it (the predictor's own table definition)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from predictor.schema import predictions
from predictor.settings import PredictorSettings

START = datetime(2026, 11, 1, tzinfo=UTC)


def owner_settings(database: dict[str, str]) -> PredictorSettings:
    """The predictor's settings for a database ``devkit.postgres.create_prediction_db`` made."""
    return PredictorSettings(**{k.lower(): v for k, v in database.items() if k.startswith("PREDICTION_DB_")})


def reader_env(database: dict[str, str]) -> dict[str, str]:
    """The trainer's environment for that database, as compose gives it: the read-only role only."""
    return {
        "PREDICTION_DB_HOST": database["PREDICTION_DB_HOST"],
        "PREDICTION_DB_PORT": database["PREDICTION_DB_PORT"],
        "PREDICTION_DB_NAME": database["PREDICTION_DB_NAME"],
        "PREDICTION_READER_USER": database["PREDICTION_READER_USER"],
        "PREDICTION_READER_PASSWORD": database["PREDICTION_READER_PASSWORD"],
    }


def add_predictions(
    database: dict[str, str],
    images: np.ndarray,
    labels: list[int | None],
    digits: list[int] | None = None,
    start: datetime = START,
) -> None:
    """Record one prediction per 28x28 uint8 image, a minute apart from ``start``, as the predictor's role.

    ``digits`` are what the model said (default 0); ``labels`` what people said (None: no answer).
    """
    digits = digits if digits is not None else [0] * len(images)
    rows = [
        {
            "id": uuid.uuid4().hex,
            "created_at": start + timedelta(minutes=i),
            "model_name": "m",
            "model_version": "1",
            "digit": digit,
            "confidence": 0.5,
            "probabilities": [0.1] * 10,
            "input_pixels": image.astype(np.uint8).tobytes(),
            "image_format": "PNG",
            "image_width": 280,
            "image_height": 280,
            "label": label,
        }
        for i, (image, label, digit) in enumerate(zip(images, labels, digits, strict=True))
    ]
    engine = sa.create_engine(owner_settings(database).prediction_db_url)
    try:
        with engine.begin() as connection:
            connection.execute(sa.insert(predictions), rows)
    finally:
        engine.dispose()
