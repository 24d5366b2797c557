"""People's corrected drawings, read from the prediction database with the read-only role.

The predictor records every answer with the 28x28 image the model saw; a person's answer on the
page (``POST /feedback``) adds its label. Those labelled drawings are the only data that show
how the stack's own users write. ``load_feedback`` splits them by time: the later
``FEEDBACK_HOLDOUT_FRACTION`` evaluates every run and decides the gate (``feedback_accuracy``),
the earlier part is mixed into training. A drawing sent twice is never on both sides.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import ProgrammingError, SQLAlchemyError

from trainer.data import IMAGE_SIDE, DataError, DrawnDigits, to_model_input
from trainer.settings import StoreSettings

log = logging.getLogger(__name__)

# The columns of the predictor's table the trainer reads (predictor/schema.py owns the schema).
PREDICTIONS = sa.table(
    "predictions",
    sa.column("id"),
    sa.column("created_at"),
    sa.column("input_pixels"),
    sa.column("digit"),
    sa.column("label"),
)


@dataclass(frozen=True)
class LabelledDrawing:
    """One labelled prediction: when it was made, the model's input (784 bytes), what it said, the label."""

    created_at: datetime
    pixels: bytes
    predicted: int
    label: int


@dataclass(frozen=True)
class Feedback:
    """Labelled drawings split by time: ``train`` (earlier) is learned from, ``held_out`` (later) judges."""

    train: DrawnDigits
    held_out: DrawnDigits
    cutoff: datetime  # the first held-out drawing's time
    source: str  # the database, without credentials


def has_predictions_table(connection: sa.Connection) -> bool:
    """Whether the predictor has created its table yet (it does at its first start)."""
    return sa.inspect(connection).has_table(PREDICTIONS.name)


def read_labelled(settings: StoreSettings) -> list[LabelledDrawing] | None:
    """Every labelled prediction, oldest first; None when no prediction database is configured.

    A database without the predictions table yet (the predictor never started) has no feedback.
    """
    url = settings.prediction_reader_url
    if url is None:
        return None
    query = (
        sa.select(PREDICTIONS.c.created_at, PREDICTIONS.c.input_pixels, PREDICTIONS.c.digit, PREDICTIONS.c.label)
        .where(PREDICTIONS.c.label.is_not(None))
        .order_by(PREDICTIONS.c.created_at, PREDICTIONS.c.id)
    )
    engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            if not has_predictions_table(connection):
                return []
            rows = connection.execute(query).all()
    except ProgrammingError as exc:
        raise DataError(f"cannot read feedback from {database_name(url)}: {exc.orig}") from exc
    except SQLAlchemyError as exc:
        raise DataError(
            f"cannot read feedback from {database_name(url)} ({getattr(exc, 'orig', exc)}); start the database, "
            "or set PREDICTION_DB_HOST= (empty) to train without people's feedback"
        ) from exc
    finally:
        engine.dispose()
    return [LabelledDrawing(row.created_at, bytes(row.input_pixels), row.digit, row.label) for row in rows]


def database_name(url: sa.URL) -> str:
    """``postgresql://host:port/name``: the database as logs and MLflow may show it (no credentials)."""
    return f"postgresql://{url.host}:{url.port}/{url.database}"


def split_by_time(drawings: list[LabelledDrawing], holdout_fraction: float) -> tuple[list, list]:
    """(earlier, later): the last ``holdout_fraction`` of ``drawings`` (oldest first), at least one, held out.

    A drawing whose pixels are also held out is dropped from the earlier part, so no image is
    trained on and evaluated on.
    """
    n_held_out = max(1, math.ceil(len(drawings) * holdout_fraction))
    earlier, later = drawings[:-n_held_out], drawings[-n_held_out:]
    held_out_pixels = {drawing.pixels for drawing in later}
    return [d for d in earlier if d.pixels not in held_out_pixels], later


def as_drawn_digits(drawings: list[LabelledDrawing], source: str) -> DrawnDigits:
    """The drawings as the model sees them; each one's "style" is what the model had said."""
    pixels = np.frombuffer(b"".join(d.pixels for d in drawings), dtype=np.uint8)
    images = pixels.reshape(len(drawings), IMAGE_SIDE, IMAGE_SIDE)
    labels = np.array([d.label for d in drawings], dtype=np.int64)
    said = np.array([f"predicted {d.predicted}" for d in drawings])
    return DrawnDigits(to_model_input(images), labels, said, source)


def load_feedback(settings: StoreSettings, holdout_fraction: float, min_labelled: int) -> Feedback | None:
    """People's labelled drawings split by time, or None when there are fewer than ``min_labelled``."""
    drawings = read_labelled(settings)
    if drawings is None:
        return None
    source = database_name(settings.prediction_reader_url)
    if len(drawings) < min_labelled:
        log.info(f"{len(drawings)} labelled drawings in {source}: fewer than {min_labelled}, training without feedback")
        return None
    for drawing in drawings:
        if len(drawing.pixels) != IMAGE_SIDE * IMAGE_SIDE or not 0 <= drawing.label <= 9:
            raise DataError(f"a labelled drawing in {source} is not a 28x28 image with a digit label")
    earlier, later = split_by_time(drawings, holdout_fraction)
    return Feedback(as_drawn_digits(earlier, source), as_drawn_digits(later, source), later[0].created_at, source)
