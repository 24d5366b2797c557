"""What the served model met in production, read from the prediction database for the report.

Read with the read-only role (``PREDICTION_DB_HOST`` etc., trainer.settings): predictions per
day, people's labels (how often the model was right, per digit, and what it confused), and what
recent drawings look like next to MNIST (trainer.input_stats).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from trainer.feedback import PREDICTIONS, database_name, has_predictions_table
from trainer.input_stats import InputStats, input_stats
from trainer.settings import StoreSettings

DAYS = 14  # rows of the per-day table
RECENT = 1000  # the latest predictions whose inputs are summarised


@dataclass(frozen=True)
class DayCount:
    """One day's answers and how many of them people labelled or corrected."""

    day: date
    predictions: int
    labelled: int
    corrected: int


@dataclass(frozen=True)
class Production:
    """The prediction database's story, or the reason it cannot be told (``problem``)."""

    source: str = ""
    problem: str = ""
    total: int = 0
    days: tuple[DayCount, ...] = ()
    labels: np.ndarray | None = None  # people's labels ...
    predicted: np.ndarray | None = None  # ... and what the model had said, for the same drawings
    recent: InputStats | None = None

    @property
    def labelled(self) -> int:
        """How many predictions people labelled."""
        return 0 if self.labels is None else len(self.labels)


def read_production(settings: StoreSettings) -> Production:
    """Everything the report's Production section shows; a ``problem`` instead when it cannot be read."""
    url = settings.prediction_reader_url
    if url is None:
        return Production(problem="no prediction database is configured (PREDICTION_DB_HOST)")
    source = database_name(url)
    p = PREDICTIONS
    day = sa.func.date(p.c.created_at)
    per_day = (
        sa.select(
            day.label("day"),
            sa.func.count().label("predictions"),
            sa.func.count(p.c.label).label("labelled"),
            sa.func.count().filter(p.c.label != p.c.digit).label("corrected"),
        )
        .group_by(day)
        .order_by(day.desc())
        .limit(DAYS)
    )
    engine = sa.create_engine(url, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as connection:
            if not has_predictions_table(connection):
                return Production(source, problem="the predictor has not recorded any prediction yet")
            total = connection.execute(sa.select(sa.func.count()).select_from(p)).scalar_one()
            days = tuple(DayCount(*row) for row in connection.execute(per_day))
            labelled = connection.execute(sa.select(p.c.label, p.c.digit).where(p.c.label.is_not(None))).all()
            recent = connection.execute(
                sa.select(p.c.input_pixels, p.c.digit).order_by(p.c.created_at.desc()).limit(RECENT)
            ).all()
    except SQLAlchemyError as exc:
        return Production(source, problem=f"it could not be read: {getattr(exc, 'orig', exc)}")
    finally:
        engine.dispose()
    stats = None
    if recent:
        images = np.frombuffer(b"".join(bytes(row.input_pixels) for row in recent), dtype=np.uint8)
        stats = input_stats(images.reshape(len(recent), 28, 28), np.array([row.digit for row in recent]))
    return Production(
        source,
        total=total,
        days=days,
        labels=np.array([row.label for row in labelled], dtype=np.int64),
        predicted=np.array([row.digit for row in labelled], dtype=np.int64),
        recent=stats,
    )
