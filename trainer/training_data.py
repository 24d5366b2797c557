"""What one training reads, assembled from the settings, and logged on each run as its inputs."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import mlflow
import numpy as np
from mlflow.data.code_dataset_source import CodeDatasetSource

from trainer.data import (
    DRAWN_EVALUATION,
    DRAWN_TRAINING,
    DrawnDigits,
    MnistSplits,
    load_drawn,
    load_real_pens,
    load_splits,
)
from trainer.experiments import DRAWN_STYLES_SHARE, STYLE_MARKS_SHARE
from trainer.feedback import Feedback, load_feedback
from trainer.settings import TrainerSettings
from trainer.style_marks import MarkedDigits, marked_digits


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


def log_datasets(data: TrainingData) -> dict[str, str]:
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
