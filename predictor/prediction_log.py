"""The prediction log: every answer recorded in PostgreSQL off the request path, and people's corrections.

``PredictionLog.record`` only puts the record on a bounded queue; one background thread per worker
writes the queue in batches. If the database is down, records wait in the queue (and the batch in
hand) until it is back; past the queue's bound new records are dropped, counted and logged, and the
answer is never delayed or failed. ``label`` writes a correction at once, because the person who
sent it waits for the acknowledgement. The schema is created and upgraded by Alembic
(``predictor/migrations``) the first time the thread reaches the database.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import SQLAlchemyError

from predictor.errors import short
from predictor.schema import predictions
from predictor.settings import PredictorSettings

log = logging.getLogger("predictor")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BATCH_SIZE = 200  # records per INSERT: one round trip for a busy second's answers
FLUSH_SECONDS = 0.2  # how long a record waits for others before it is written alone
RETRY_MAX_SECONDS = 10.0  # longest pause between attempts while the database is down
RETENTION_EVERY_SECONDS = 3600.0  # how often unlabelled records past the retention are deleted
LABEL_WAIT_SECONDS = 1.0  # a correction may arrive before its prediction is written: wait this long


class PredictionLogUnavailableError(Exception):
    """The database cannot be reached (or the log is turned off)."""


class UnknownPredictionError(Exception):
    """No prediction with that id: never made, or deleted by the retention."""


@dataclass(frozen=True)
class PredictionRecord:
    """One answer: what was asked (the 28x28 input the model saw, the upload's size and format) and said."""

    id: str
    created_at: datetime
    model_name: str
    model_version: str
    digit: int
    confidence: float
    probabilities: list[float]
    input_pixels: bytes  # 784 bytes, the model's input scaled to 0-255, row by row
    image_format: str
    image_width: int
    image_height: int


def migrate(url: str | sa.URL) -> None:
    """Create or upgrade the schema to the newest migration (safe to run from several processes at once)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


class PredictionLog:
    """A bounded queue of records and the thread that writes them; ``label`` for corrections."""

    def __init__(self, settings: PredictorSettings, on_drop: Callable[[], None] | None = None) -> None:
        self.url = settings.prediction_db_url
        self.retention = timedelta(days=settings.prediction_retention_days)
        self.queue: queue.Queue[PredictionRecord] = queue.Queue(maxsize=settings.prediction_log_queue_size)
        self.dropped = 0
        self.on_drop = on_drop
        self.engine = sa.create_engine(self.url, pool_size=2, pool_pre_ping=True, connect_args={"connect_timeout": 3})
        self.migrated = False
        self.problem = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)

    def start(self) -> None:
        """Start writing in the background."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued (for up to ``timeout`` seconds), then stop."""
        self._stop.set()
        self._thread.join(timeout)

    def record(self, record: PredictionRecord) -> None:
        """Queue a record; never blocks. A full queue drops it, counts it and says so."""
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.dropped += 1
            if self.on_drop:
                self.on_drop()
            if self.dropped & (self.dropped - 1) == 0:  # 1st, 2nd, 4th, 8th...: visible, not a flood
                log.warning(
                    "prediction log: queue full (%d records), %d dropped so far (%s)",
                    self.queue.maxsize,
                    self.dropped,
                    self.problem or "database slow",
                )

    def label(self, prediction_id: str, label: int) -> tuple[bool, int]:
        """Store a person's label for a prediction; return (it replaced an earlier label, the predicted digit)."""
        deadline = time.monotonic() + LABEL_WAIT_SECONDS
        while not self.migrated and time.monotonic() < deadline:
            time.sleep(0.05)  # just started: the thread is creating the schema
        if not self.migrated:
            raise PredictionLogUnavailableError(self.problem or "the prediction database is not ready yet")
        while True:
            try:
                with self.engine.begin() as connection:
                    earlier = connection.execute(
                        sa.select(predictions.c.label, predictions.c.digit)
                        .where(predictions.c.id == prediction_id)
                        .with_for_update()
                    ).first()
                    if earlier is not None:
                        connection.execute(
                            predictions.update()
                            .where(predictions.c.id == prediction_id)
                            .values(label=label, labelled_at=datetime.now(UTC))
                        )
                        return earlier.label is not None, earlier.digit
            except SQLAlchemyError as exc:
                raise PredictionLogUnavailableError(
                    f"the prediction database cannot be reached ({short(exc)})"
                ) from exc
            if time.monotonic() >= deadline:
                raise UnknownPredictionError(prediction_id)
            time.sleep(FLUSH_SECONDS)  # perhaps still queued in a worker: it is written within a flush

    def delete_expired(self, now: datetime | None = None) -> int:
        """Delete unlabelled records older than the retention; return how many."""
        cutoff = (now or datetime.now(UTC)) - self.retention
        with self.engine.begin() as connection:
            result = connection.execute(
                predictions.delete().where(predictions.c.label.is_(None), predictions.c.created_at < cutoff)
            )
        return result.rowcount

    def _run(self) -> None:
        batch: list[PredictionRecord] = []
        pause = FLUSH_SECONDS
        next_retention = time.monotonic()
        while not (self._stop.is_set() and not batch and self.queue.empty()):
            batch += self._take(BATCH_SIZE - len(batch))
            try:
                if not self.migrated:
                    migrate(self.url)
                    self.migrated = True
                if batch:
                    with self.engine.begin() as connection:
                        connection.execute(predictions.insert(), [asdict(record) for record in batch])
                    batch = []
                if self.retention and time.monotonic() >= next_retention:
                    deleted = self.delete_expired()
                    if deleted:
                        log.info("prediction log: %d unlabelled records past the retention deleted", deleted)
                    next_retention = time.monotonic() + RETENTION_EVERY_SECONDS
                if self.problem:
                    log.info("prediction log: database reachable again, writing")
                self.problem, pause = "", FLUSH_SECONDS
            except Exception as exc:  # noqa: BLE001 - the thread must survive anything and retry
                if not self.problem:
                    log.warning("prediction log: cannot write (%s); keeping records queued", short(exc))
                self.problem = short(exc)
                if self._stop.wait(pause):
                    return  # stopping while the database is down: what is queued is lost, as it must be
                pause = min(pause * 2, RETRY_MAX_SECONDS)

    def _take(self, most: int) -> list[PredictionRecord]:
        """Up to ``most`` records: waits up to a flush interval for a first one, then one more for others.

        Waiting for the others makes a busy second five INSERTs instead of one per answer.
        """
        taken: list[PredictionRecord] = []
        if most <= 0:
            return taken
        try:
            taken.append(self.queue.get(timeout=FLUSH_SECONDS))
        except queue.Empty:
            return taken
        self._stop.wait(FLUSH_SECONDS)
        try:
            while len(taken) < most:
                taken.append(self.queue.get_nowait())
        except queue.Empty:
            pass
        return taken
