"""Runs the three tracked experiments and promotes the best model.

``train_model`` trains and logs one run inside ``mlflow.start_run()``; ``run_training`` is what
``python -m trainer`` does: load data, connect, train every run, print a summary, promote.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import keras
import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.entities import RunStatus
from mlflow.exceptions import MlflowException

from trainer import plots
from trainer.augment import training_dataset
from trainer.data import (
    DRAWN_EVALUATION,
    DRAWN_TRAINING,
    DataError,
    DrawnDigits,
    MnistSplits,
    load_drawn,
    load_real_pens,
    load_splits,
)
from trainer.experiments import DRAWN_STYLES_SHARE, STYLE_MARKS_SHARE, RunConfig, select_runs
from trainer.export import ExportMismatchError, log_models
from trainer.feedback import Feedback, load_feedback
from trainer.input_stats import MNIST_STATS_ARTIFACT, input_stats
from trainer.models import build_model, describe_model, learning_rate_for
from trainer.promotion import Candidate, PromotionResult, Scores, register_and_promote, select_best
from trainer.settings import TrainerSettings
from trainer.stopping import StopRequest
from trainer.style_marks import MarkedDigits, marked_digits
from trainer.tags import (
    FEEDBACK_DIGEST_TAG,
    REAL_PEN_DIGEST_TAG,
    REAL_PENS_ARTIFACT,
    REASON_TAG,
    RUN_KEY_TAG,
    SYNTHETIC_DRAWN_DIGEST_TAG,
    TEST_DIGEST_TAG,
)
from trainer.tracking import TrackingUnavailableError, connect, where_results_went

# MLflow shows this tag as the run's description (what ``start_run(description=...)`` sets).
RUN_DESCRIPTION_TAG = "mlflow.note.content"


log = logging.getLogger(__name__)


class TrainingDivergedError(Exception):
    """The loss became NaN or infinite; the run is failed and never promoted."""


@dataclass(frozen=True)
class TrainingData:
    """What one training reads: MNIST, marked MNIST digits, synthetic styles, the evaluation sets, feedback.

    MNIST digits with the forms people write drawn on (``marked``), the synthetic styles and the
    earlier feedback are mixed into the training set. Every run is evaluated on MNIST test, real
    people's pens, the synthetic drawn-digit set and the held-out feedback; the real pens are never
    trained on.
    """

    mnist: MnistSplits
    marked: MarkedDigits
    styles: DrawnDigits
    real_pens: DrawnDigits
    drawn: DrawnDigits
    feedback: Feedback | None = None
    feedback_weight: int = 0  # times each earlier labelled drawing is repeated in the training set

    @property
    def x_train(self) -> np.ndarray:
        """MNIST training images, marked ones, synthetic styles, earlier feedback (``feedback_weight`` times)."""
        return np.concatenate([self.mnist.x_train, self.marked.x, self.styles.x, *self._feedback_copies("x")])

    @property
    def y_train(self) -> np.ndarray:
        """Their labels."""
        return np.concatenate([self.mnist.y_train, self.marked.y, self.styles.y, *self._feedback_copies("y")])

    def _feedback_copies(self, field: str) -> list[np.ndarray]:
        if self.feedback is None or not self.feedback_weight:
            return []
        return [getattr(self.feedback.train, field)] * self.feedback_weight


def load_training_data(settings: TrainerSettings) -> TrainingData:
    """MNIST as configured, synthetic styles in proportion to it, the evaluation sets, and feedback."""
    mnist = load_splits(
        settings.mnist_path, settings.mnist_train_limit, settings.mnist_test_limit, settings.validation_fraction
    )
    marked = marked_digits(
        mnist.x_train, mnist.y_train, round(len(mnist.x_train) * STYLE_MARKS_SHARE), settings.trainer_seed
    )
    styles = load_drawn(DRAWN_TRAINING, limit=max(1, round(len(mnist.x_train) * DRAWN_STYLES_SHARE)))
    feedback = load_feedback(settings, settings.feedback_holdout_fraction, settings.feedback_min_labelled)
    return TrainingData(
        mnist, marked, styles, load_real_pens(), load_drawn(DRAWN_EVALUATION), feedback, settings.feedback_weight
    )


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


def _log_datasets(data: TrainingData) -> dict[str, str]:
    """Log the training and evaluation sets as run inputs; return each set's digest by name."""
    mnist = data.mnist
    sets = [
        ("training", "mnist-train", mnist.x_train, mnist.y_train, mnist.source),
        ("training", "mnist-train-marked", data.marked.x, data.marked.y, mnist.source),
        ("training", "synthetic-styles", data.styles.x, data.styles.y, data.styles.source),
        ("testing", "mnist-test", mnist.x_test, mnist.y_test, mnist.source),
        ("evaluation", "real-pens", data.real_pens.x, data.real_pens.y, data.real_pens.source),
        ("evaluation", "synthetic-drawn-digits", data.drawn.x, data.drawn.y, data.drawn.source),
    ]
    if (feedback := data.feedback) is not None:
        # MLflow has no source type for a database query: a "code" source that names the database.
        source = CodeDatasetSource({"database": feedback.source, "held_out_from": feedback.cutoff.isoformat()})
        sets.append(("evaluation", "feedback-held-out", feedback.held_out.x, feedback.held_out.y, source))
        if len(feedback.train):
            sets.append(("training", "feedback-train", feedback.train.x, feedback.train.y, source))
    digests = {}
    with warnings.catch_warnings():
        # MLflow registers its local-file dataset source under two URI schemes and warns that a
        # file path is ambiguous between the two identical classes; nothing is actually ambiguous.
        warnings.filterwarnings("ignore", message="The specified dataset source can be interpreted")
        for context, name, x, y, source in sets:
            dataset = mlflow.data.from_numpy(x, targets=y, source=source, name=name)
            mlflow.log_input(dataset, context=context)
            digests[name] = dataset.digest
    return digests


def accuracy_by_style(drawn: DrawnDigits, predicted: np.ndarray) -> dict[str, float]:
    """Accuracy on the drawn-digit set per digit and writing style, e.g. ``{"1 long_flag": 0.98, ...}``."""
    result = {}
    for label in range(10):
        for style in sorted(set(drawn.style[drawn.y == label])):
            chosen = (drawn.y == label) & (drawn.style == style)
            result[f"{label} {style}"] = round(float((predicted[chosen] == label).mean()), 4)
    return result


def real_pen_figures(real_pens: DrawnDigits, predicted: np.ndarray) -> dict[str, object]:
    """Accuracy on the real pens per digit, and every misreading: ``{"by_digit": ..., "confusions": ...}``.

    ``confusions`` lists ``{"written", "read", "count"}``, most frequent first.
    """
    by_digit = {str(d): round(float((predicted[real_pens.y == d] == d).mean()), 4) for d in range(10)}
    wrong = real_pens.y != predicted
    pairs, counts = np.unique(np.stack([real_pens.y[wrong], predicted[wrong]], axis=1), axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    confusions = [{"written": int(pairs[i][0]), "read": int(pairs[i][1]), "count": int(counts[i])} for i in order]
    return {"by_digit": by_digit, "confusions": confusions}


def _log_evaluation(model: keras.Model, data: TrainingData, history: dict, title: str) -> tuple[float, Scores]:
    """Evaluate on MNIST test, real pens, the synthetic drawn digits and the held-out feedback; log it all.

    Returns the test loss and the scores (without digests).
    """
    mnist, real_pens, drawn = data.mnist, data.real_pens, data.drawn
    test_loss, test_accuracy = model.evaluate(mnist.x_test, mnist.y_test, batch_size=1000, verbose=0)
    probabilities = model.predict(mnist.x_test, batch_size=1000, verbose=0)
    predicted = probabilities.argmax(axis=1)
    real_probabilities = model.predict(real_pens.x, batch_size=1000, verbose=0)
    real_predicted = real_probabilities.argmax(axis=1)
    real_pen_accuracy = float((real_predicted == real_pens.y).mean())
    drawn_probabilities = model.predict(drawn.x, batch_size=1000, verbose=0)
    drawn_predicted = drawn_probabilities.argmax(axis=1)
    synthetic_drawn_accuracy = float((drawn_predicted == drawn.y).mean())
    feedback_accuracy = None
    if data.feedback is not None:
        held_out = data.feedback.held_out
        feedback_accuracy = float((model.predict(held_out.x, verbose=0).argmax(axis=1) == held_out.y).mean())
        mlflow.log_metric("feedback_accuracy", feedback_accuracy)
    mlflow.log_metrics(
        {
            "test_loss": float(test_loss),
            "test_accuracy": float(test_accuracy),
            "real_pen_accuracy": real_pen_accuracy,
            "synthetic_drawn_accuracy": synthetic_drawn_accuracy,
        }
    )
    mlflow.log_dict(real_pen_figures(real_pens, real_predicted), REAL_PENS_ARTIFACT)
    mlflow.log_dict(accuracy_by_style(drawn, drawn_predicted), "drawn/accuracy_by_style.json")
    mlflow.log_dict(input_stats(mnist.x_test, mnist.y_test).as_dict(), MNIST_STATS_ARTIFACT)
    figures = {
        "plots/learning_curves.png": plots.learning_curves({title: history}, title),
        "plots/confusion_matrix.png": plots.confusion_matrix(mnist.y_test, predicted, title),
        "plots/misclassified.png": plots.misclassified_grid(
            mnist.x_test, mnist.y_test, predicted, probabilities.max(axis=1), title
        ),
        "plots/real_pen_confusion_matrix.png": plots.confusion_matrix(
            real_pens.y, real_predicted, f"{title}, real pens"
        ),
        "plots/real_pen_misclassified.png": plots.misclassified_grid(
            real_pens.x, real_pens.y, real_predicted, real_probabilities.max(axis=1), f"{title}, real pens"
        ),
        "plots/drawn_misclassified.png": plots.misclassified_grid(
            drawn.x, drawn.y, drawn_predicted, drawn_probabilities.max(axis=1), f"{title}, synthetic drawn digits"
        ),
    }
    for path, figure in figures.items():
        mlflow.log_figure(figure, path)
        plots.plt.close(figure)
    scores = Scores(
        test_accuracy=float(test_accuracy),
        real_pen_accuracy=real_pen_accuracy,
        synthetic_drawn_accuracy=synthetic_drawn_accuracy,
        feedback_accuracy=feedback_accuracy,
    )
    return float(test_loss), scores


def describe_result(reason: str, scores: Scores) -> str:
    """The run's description once it is measured: why it exists, then what it read."""
    result = (
        f"Result: MNIST test {scores.test_accuracy:.2%}, real people's pens (UJI, 60 writers) "
        f"{scores.real_pen_accuracy:.2%}, synthetic drawn digits {scores.synthetic_drawn_accuracy:.2%}"
    )
    if scores.feedback_accuracy is not None:
        result += f", people's held-out feedback {scores.feedback_accuracy:.2%}"
    return f"{reason}\n\n{result}."


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
            digests = _log_datasets(data)
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
            result.test_loss, scores = _log_evaluation(model, data, fit.history, config.title)
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


def _evaluate_champion(data: TrainingData, sets: Scores) -> Callable[[str], Scores]:
    """Measure a registered model on this training's sets (a champion trained on other data)."""

    def evaluate(model_uri: str) -> Scores:
        model = mlflow.keras.load_model(model_uri)

        def accuracy(x: np.ndarray, y: np.ndarray) -> float:
            return float((model.predict(x, batch_size=1000, verbose=0).argmax(axis=1) == y).mean())

        test = accuracy(data.mnist.x_test, data.mnist.y_test)
        held_out = data.feedback.held_out if data.feedback is not None else None
        feedback = accuracy(held_out.x, held_out.y) if held_out is not None else None
        return replace(
            sets,
            test_accuracy=test,
            real_pen_accuracy=accuracy(data.real_pens.x, data.real_pens.y),
            synthetic_drawn_accuracy=accuracy(data.drawn.x, data.drawn.y),
            feedback_accuracy=feedback,
        )

    return evaluate


def run_all(settings: TrainerSettings, stop: StopRequest) -> tuple[list[RunResult], PromotionResult | None]:
    """Train every configured run, then promote the best finished one; ``stop`` ends it early."""
    runs = select_runs(settings.run_keys, settings.trainer_epochs or None)
    data = load_training_data(settings)
    mnist = data.mnist
    log.info(
        f"MNIST from {mnist.source}: {len(mnist.x_train)} train / {len(mnist.x_val)} validation / "
        f"{len(mnist.x_test)} test images; {len(data.marked.y)} marked digits and {len(data.styles)} synthetic "
        "styles mixed in; evaluated on "
        f"{len(data.real_pens)} real pen-drawn digits and {len(data.drawn)} synthetic drawn digits"
    )
    if data.feedback is not None:
        log.info(
            f"People's feedback from {data.feedback.source}: {len(data.feedback.train)} labelled drawings to train "
            f"on (each {data.feedback_weight}x), {len(data.feedback.held_out)} later ones held out (from "
            f"{data.feedback.cutoff:%Y-%m-%d %H:%M:%S %Z})"
        )
    experiment_id = connect(settings)
    results: list[RunResult] = []
    for config in runs:
        stop.check()
        log.info(f"\n=== {config.title} ===\n{config.reason}")
        try:
            results.append(train_model(config, data, settings.trainer_seed, experiment_id, stop))
        except (TrainingDivergedError, ExportMismatchError, ValueError, RuntimeError) as exc:
            log.error(f"  run failed: {exc}")
            results.append(
                RunResult(config=config, run_id=mlflow.last_active_run().info.run_id, status="FAILED", error=str(exc))
            )
    print("\n" + format_summary(results))  # the command's output: stdout
    finished = [r.as_candidate() for r in results if r.status == RunStatus.to_string(RunStatus.FINISHED)]
    if not finished:
        return results, None
    best = select_best(finished)
    stop.check()
    promotion = register_and_promote(
        MlflowClient(),
        best,
        settings.registered_model_name,
        settings.model_alias,
        settings.force_promote,
        _evaluate_champion(data, best.scores),
    )
    return results, promotion


def run_training(settings: TrainerSettings) -> int:
    """``python -m trainer``: train, promote, and return the process exit code."""
    stop = StopRequest()
    # `docker stop` sends SIGTERM: handled like Ctrl-C, so the active run ends KILLED, not RUNNING.
    stop.install()
    try:
        results, promotion = run_all(settings, stop)
    except DataError as exc:
        log.error(f"error: {exc}")
        return 2
    except TrackingUnavailableError as exc:
        log.error(f"error: {exc}")
        return 3
    except MlflowException as exc:
        log.error(f"error: the tracking server refused or failed a request: {exc}")
        log.error("Nothing was registered; a run that was in progress is marked FAILED.")
        if exc.get_http_status_code() in (401, 403) or "401" in str(exc):
            log.error(
                "The tracking server asks for a login: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD "
                "(in the stack: MLFLOW_AUTH_ADMIN_USERNAME / MLFLOW_AUTH_ADMIN_PASSWORD in .env)."
            )
        if "500" in str(exc):
            log.error(
                "The tracking server's log says why (docker compose logs tracking); HTTP 500s on artifact "
                "uploads usually mean its artifact store (S3/MinIO) is down or its credentials are wrong."
            )
        return 4
    except KeyboardInterrupt:
        log.error("interrupted: the active run is marked KILLED and nothing was promoted")
        return 130
    if promotion is None:
        log.error("error: no run finished, nothing was registered")
        return 1
    verdict = "promoted" if promotion.decision.promote else "not promoted"
    name = settings.registered_model_name
    # The command's output, on stdout: what was promoted, and where the results are.
    print(f"\n{name} version {promotion.version} {verdict}: {promotion.decision.reason}.")
    if promotion.alias_version:
        print(f"{name}@{settings.model_alias} -> version {promotion.alias_version}")
    print(where_results_went(settings))
    return 0 if all(r.status == RunStatus.to_string(RunStatus.FINISHED) for r in results) else 1
