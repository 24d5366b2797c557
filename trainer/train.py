"""One tracked run: ``train_model`` builds, fits, evaluates and logs a model inside ``mlflow.start_run()``.

``trainer.command`` runs it for every configured experiment and promotes the best.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field, replace

import keras
import mlflow
import numpy as np
from mlflow.entities import RunStatus

from trainer.augment import training_dataset
from trainer.evaluation import describe_result, log_evaluation
from trainer.experiments import RunConfig
from trainer.export import log_models
from trainer.gate import Candidate, Scores
from trainer.models import build_model, describe_model, learning_rate_for
from trainer.stopping import StopRequest
from trainer.tags import (
    FEEDBACK_DIGEST_TAG,
    REAL_PEN_DIGEST_TAG,
    REASON_TAG,
    RUN_KEY_TAG,
    SYNTHETIC_DRAWN_DIGEST_TAG,
    TEST_DIGEST_TAG,
)
from trainer.training_data import TrainingData, log_datasets

# MLflow shows this tag as the run's description (what ``start_run(description=...)`` sets).
RUN_DESCRIPTION_TAG = "mlflow.note.content"


log = logging.getLogger(__name__)


class TrainingDivergedError(Exception):
    """The loss became NaN or infinite; the run is failed and never promoted."""


@dataclass
class RunResult:
    """The outcome of one run, for the summary table and for promotion."""

    config: RunConfig
    run_id: str
    status: str
    scores: Scores = field(default_factory=lambda: Scores(float("nan"), float("nan")))
    test_loss: float = float("nan")
    train_seconds: float = float("nan")
    seconds_per_epoch: float = float("nan")
    keras_uri: str = ""
    onnx_uri: str = ""
    error: str = ""

    def as_candidate(self) -> Candidate:
        """Return the run as a promotion candidate."""
        return Candidate(self.run_id, self.config.key, self.config.title, self.scores, self.keras_uri, self.onnx_uri)


class EpochTimer(keras.callbacks.Callback):
    """Logs each epoch's wall time as the ``epoch_seconds`` metric (step = epoch)."""

    def __init__(self) -> None:
        super().__init__()
        self.durations: list[float] = []
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:  # noqa: D102
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:  # noqa: D102
        self.durations.append(time.perf_counter() - self._started)
        mlflow.log_metric("epoch_seconds", self.durations[-1], step=epoch)


def train_model(
    config: RunConfig, data: TrainingData, seed: int, experiment_id: str, stop: StopRequest | None = None
) -> RunResult:
    """Train, evaluate and log one run; the run ends FINISHED, FAILED (error, NaN) or KILLED.

    Exceptions propagate after the run is marked, so the caller decides whether to go on; a
    ``KeyboardInterrupt`` (``stop`` asked for after Ctrl-C or SIGTERM) ends the run as KILLED.
    """
    stop = stop or StopRequest()
    keras.utils.set_random_seed(seed)
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=config.title,
        description=config.reason,
        tags={REASON_TAG: config.reason, RUN_KEY_TAG: config.key},
    ) as run:
        result = RunResult(config=config, run_id=run.info.run_id, status=RunStatus.to_string(RunStatus.RUNNING))
        try:
            mnist = data.mnist
            mlflow.log_params(
                {
                    **config.hyperparameters(),
                    "seed": seed,
                    "train_size": len(mnist.x_train),
                    "marked_size": len(data.marked.y),
                    "synthetic_styles_size": len(data.styles),
                    "validation_size": len(mnist.x_val),
                    "test_size": len(mnist.x_test),
                    "real_pen_size": len(data.real_pens),
                    "synthetic_drawn_size": len(data.drawn),
                }
            )
            if data.feedback is not None:
                mlflow.log_params(
                    {
                        "feedback_train_size": len(data.feedback.train),
                        "feedback_held_out_size": len(data.feedback.held_out),
                        "feedback_weight": data.feedback_weight,
                        "feedback_cutoff": data.feedback.cutoff.isoformat(),
                    }
                )
            digests = log_datasets(data)
            set_digests = {
                "test_digest": digests["mnist-test"],
                "real_pen_digest": digests["real-pens"],
                "synthetic_drawn_digest": digests["synthetic-drawn-digits"],
                "feedback_digest": digests.get("feedback-held-out", ""),
            }
            mlflow.set_tags(
                {
                    TEST_DIGEST_TAG: set_digests["test_digest"],
                    REAL_PEN_DIGEST_TAG: set_digests["real_pen_digest"],
                    SYNTHETIC_DRAWN_DIGEST_TAG: set_digests["synthetic_drawn_digest"],
                    **({FEEDBACK_DIGEST_TAG: set_digests["feedback_digest"]} if data.feedback else {}),
                }
            )
            x_train, y_train = data.x_train, data.y_train
            steps_per_epoch = math.ceil(len(x_train) / config.batch_size)
            learning_rate = learning_rate_for(config.learning_rate, config.lr_schedule, steps_per_epoch, config.epochs)
            model = build_model(config.architecture, learning_rate, seed)
            architecture = describe_model(model)
            log.info(architecture)
            mlflow.log_params({"architecture": architecture, "total_params": model.count_params()})
            timer = EpochTimer()
            started = time.perf_counter()
            train_data = training_dataset(x_train, y_train, config.batch_size, config.augmentation, seed)
            fit = model.fit(
                train_data,
                validation_data=(mnist.x_val, mnist.y_val),
                epochs=config.epochs,
                shuffle=False,  # the dataset shuffles itself every epoch
                verbose=2,
                callbacks=[mlflow.keras.MlflowCallback(), timer, keras.callbacks.TerminateOnNaN(), stop.callback()],
            )
            stop.check()  # a signal during the last validation pass
            result.train_seconds = time.perf_counter() - started
            losses = fit.history.get("loss", [])
            if len(losses) < config.epochs or not np.all(np.isfinite(losses)):
                raise TrainingDivergedError(f"{config.key}: training loss became NaN/inf after {len(losses)} epoch(s)")
            result.seconds_per_epoch = float(np.mean(timer.durations))
            mlflow.log_metrics(
                {"training_seconds": result.train_seconds, "seconds_per_epoch": result.seconds_per_epoch}
            )
            result.test_loss, scores = log_evaluation(model, data, fit.history, config.title)
            result.scores = replace(scores, **set_digests)
            mlflow.set_tag(RUN_DESCRIPTION_TAG, describe_result(config.reason, result.scores))
            stop.check()
            logged = log_models(model, mnist.x_test[:256])
            result.keras_uri, result.onnx_uri = logged.keras_uri, logged.onnx_uri
        except KeyboardInterrupt:
            # MLflow's run context marks any exception FAILED; a person (Ctrl-C) or SIGTERM killed this one.
            mlflow.end_run(RunStatus.to_string(RunStatus.KILLED))
            raise
    result.status = RunStatus.to_string(RunStatus.FINISHED)
    return result


def format_summary(results: list[RunResult]) -> str:
    """A plain-text table of the runs: what each trained and how it did."""
    header = (
        f"{'run':<36} {'epochs':>6} {'batch':>5} {'lr':>7} {'MNIST':>7} {'real pens':>9} {'synthetic':>9} "
        f"{'test loss':>9} {'s/epoch':>7} {'train s':>7}  status"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        c, scores = r.config, r.scores
        lines.append(
            f"{c.title:<36} {c.epochs:>6} {c.batch_size:>5} {c.learning_rate:>7.4g} {scores.test_accuracy:>7.4f} "
            f"{scores.real_pen_accuracy:>9.4f} {scores.synthetic_drawn_accuracy:>9.4f} {r.test_loss:>9.4f} "
            f"{r.seconds_per_epoch:>7.1f} {r.train_seconds:>7.1f}  {r.status}" + (f" ({r.error})" if r.error else "")
        )
    return "\n".join(lines)
