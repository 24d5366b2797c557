"""Measuring a model: on MNIST test, real people's pens, the synthetic drawn digits and held-out feedback.

``log_evaluation`` measures the run's own model and logs metrics, figures and per-digit tables;
``champion_evaluator`` measures a registered model on the same sets for the promotion gate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import keras
import mlflow
import numpy as np

from trainer import plots
from trainer.data import DrawnDigits
from trainer.gate import Scores
from trainer.input_stats import MNIST_STATS_ARTIFACT, input_stats
from trainer.tags import REAL_PENS_ARTIFACT
from trainer.training_data import TrainingData


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


def log_evaluation(model: keras.Model, data: TrainingData, history: dict, title: str) -> tuple[float, Scores]:
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


def champion_evaluator(data: TrainingData, sets: Scores) -> Callable[[str], Scores]:
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
