"""Test-time augmentation: the preprocessed digit seen a few ways, so the model's answers can be averaged.

A drawing sits a pixel off, or leans a little more, than the digits the model learned from;
averaging what the model reads in the digit as drawn, shifted by one pixel each way and turned by
±6° evens that out. It costs one batch of seven model runs instead of one run per request
(``TEST_TIME_AUGMENTATION``; what it gains and costs: docs/performance.md).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))  # (rows, columns): down, up, right, left
ROTATIONS_DEGREES = (6.0, -6.0)
VIEW_COUNT = 1 + len(SHIFTS) + len(ROTATIONS_DEGREES)


def shifted(digit: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """``digit`` moved by whole pixels, down and right for positive ones; what leaves the frame is lost."""
    margin = max(abs(rows), abs(columns))
    padded = np.pad(digit, margin)  # blank all round, so what comes in is blank
    height, width = digit.shape
    return padded[margin - rows : margin - rows + height, margin - columns : margin - columns + width]


def rotated(digit: np.ndarray, degrees: float) -> np.ndarray:
    """``digit`` turned anticlockwise about the frame's centre, bilinear, blank outside."""
    image = Image.fromarray(digit.astype(np.float32))  # a float image: mode "F"
    return np.asarray(image.rotate(degrees, resample=Image.Resampling.BILINEAR, fillcolor=0.0), dtype=digit.dtype)


def views(digit: np.ndarray) -> np.ndarray:
    """The digit as drawn first, then shifted and turned: shape (VIEW_COUNT, 28, 28)."""
    return np.stack(
        [
            digit,
            *(shifted(digit, rows, columns) for rows, columns in SHIFTS),
            *(rotated(digit, degrees) for degrees in ROTATIONS_DEGREES),
        ]
    )
