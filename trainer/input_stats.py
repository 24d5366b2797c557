"""What a set of 28x28 digits looks like, in four numbers a person can compare: the drift to watch.

The trainer logs them for MNIST test with every run; the report computes them for the drawings
people sent recently and shows both side by side. Images are uint8 (0-255) or floats in [0, 1].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

INK = 0.5  # a pixel brighter than half is ink
MNIST_STATS_ARTIFACT = "data/mnist_test_input_stats.json"  # logged by every run, read by the report


@dataclass(frozen=True)
class InputStats:
    """Averages over a set of digits, and the share of each class (labels or predictions)."""

    count: int
    ink_share: float  # share of the 784 pixels that are ink
    stroke_width: float  # pixels: the width of a rectangle with the ink's area and outline length
    centre_x: float  # centre of mass, in pixels from the left (MNIST centres at about 14)
    centre_y: float
    class_share: list[float]  # share of each digit 0-9

    def as_dict(self) -> dict:
        """For ``mlflow.log_dict`` and JSON."""
        return asdict(self)


def input_stats(images: np.ndarray, classes: np.ndarray) -> InputStats:
    """The statistics of ``images`` (N, 28, 28[, 1]) whose labels or predicted digits are ``classes``."""
    x = images.reshape(len(images), 28, 28).astype(np.float32)
    if x.max(initial=0) > 1:
        x /= 255.0
    ink = x > INK
    area = ink.sum(axis=(1, 2))
    # Outline: ink pixels next to background, counted along rows and columns.
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    edges = (np.diff(padded, axis=1) != 0).sum(axis=(1, 2)) + (np.diff(padded, axis=2) != 0).sum(axis=(1, 2))
    drawn = area > 0
    # A w x l rectangle has area w*l and outline 2(w + l): w is the smaller root of w^2 - (outline/2) w + area.
    half = edges[drawn] / 2
    width = (half - np.sqrt(np.maximum(half**2 - 4 * area[drawn], 0))) / 2
    mass = x.sum(axis=(1, 2))
    rows, cols = np.mgrid[0:28, 0:28]
    weighted = mass > 0
    centre_y = (x * rows).sum(axis=(1, 2))[weighted] / mass[weighted]
    centre_x = (x * cols).sum(axis=(1, 2))[weighted] / mass[weighted]
    counts = np.bincount(np.asarray(classes, dtype=np.int64), minlength=10)[:10]
    return InputStats(
        count=len(images),
        ink_share=round(float(area.mean() / 784), 4),
        stroke_width=round(float(width.mean()) if drawn.any() else 0.0, 2),
        centre_x=round(float(centre_x.mean()) if weighted.any() else 0.0, 2),
        centre_y=round(float(centre_y.mean()) if weighted.any() else 0.0, 2),
        class_share=[round(float(c / max(1, counts.sum())), 4) for c in counts],
    )
