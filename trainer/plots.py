"""Matplotlib figures logged with each run: learning curves, confusion matrix, misclassified digits."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: the trainer runs in containers and CI without a display

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def learning_curves(histories: dict[str, dict[str, list[float]]], title: str) -> Figure:
    """Loss and accuracy per epoch of one run or several (name -> Keras history), on shared axes.

    Validation is drawn solid, training dashed, each run in its own colour.
    """
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for index, (name, history) in enumerate(histories.items()):
        for ax, metric in ((ax_loss, "loss"), (ax_acc, "accuracy")):
            for prefix, style, kind in (("val_", "-o", "validation"), ("", "--", "training")):
                values = history.get(prefix + metric) or []
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, style, color=f"C{index}", markersize=3, label=f"{name} ({kind})")
    for ax, metric in ((ax_loss, "loss"), (ax_acc, "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=7, loc="lower right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, title: str) -> Figure:
    """10x10 counts of true digit (rows) against predicted digit (columns)."""
    counts = np.zeros((10, 10), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    fig, ax = plt.subplots(figsize=(6.5, 6))
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, fraction=0.046)
    threshold = counts.max() / 2
    for (row, col), value in np.ndenumerate(counts):
        ax.text(
            col, row, str(value), ha="center", va="center", fontsize=8, color="white" if value > threshold else "black"
        )
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def misclassified_grid(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    confidence: np.ndarray,
    title: str,
    limit: int = 36,
) -> Figure:
    """The most confidently wrong test digits, each labelled true -> predicted (confidence)."""
    wrong = np.flatnonzero(y_true != y_pred)
    wrong = wrong[np.argsort(-confidence[wrong])][:limit]
    columns = 6
    rows = max(1, int(np.ceil(len(wrong) / columns)))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.6, rows * 1.8), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, index in zip(axes.flat, wrong, strict=False):
        ax.imshow(images[index].squeeze(), cmap="gray")
        ax.set_title(f"{y_true[index]}→{y_pred[index]} ({confidence[index]:.2f})", fontsize=8)
    if len(wrong) == 0:
        axes.flat[0].text(0.5, 0.5, "no misclassified digits", ha="center", va="center")
    fig.suptitle(f"{title}: {int((y_true != y_pred).sum())} misclassified")
    fig.tight_layout()
    return fig
