"""The forms people write that MNIST lacks, drawn onto real MNIST digits.

MNIST's writers rarely slash a zero, give a one a long flag, bar a seven or curl a nine's tail
left like a "g"; people on the page often do, and a model trained on MNIST alone misreads those
forms. Drawing the missing stroke onto a real MNIST digit keeps everything else a real writer's
(slant, proportions, wobble) and adds only the form. The mark is drawn at four times MNIST's
resolution with a pen as wide as the digit's own strokes, then the digit is normalised again the
way the predictor normalises a drawing (crop to the ink, fit 20x20, centre of mass in 28x28), since
a flag or a tail changes the digit's box.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SIDE = 28
BOX = 20
CENTER = 14.0
SCALE = 4  # marks are drawn at 112x112: smooth enough for a 2-pixel stroke
INK = 0.3  # a pixel counts as ink above this, for finding where to draw a mark
CROP_THRESHOLD = 0.15  # the predictor's INK_THRESHOLD: what counts as the digit's box
SHARPEN = 2.0  # contrast of the upsampled digit's stroke edges

Point = tuple[float, float]


def _line(draw: ImageDraw.ImageDraw, points: list[Point], width: float) -> None:
    """A polyline with the round caps and joins of the page's pen."""
    draw.line(points, fill=255, width=max(1, round(width)), joint="curve")
    radius = width / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)


def _curve(p0: Point, p1: Point, p2: Point, p3: Point, samples: int = 16) -> list[Point]:
    """A cubic Bézier curve from ``p0`` to ``p3``."""
    t = np.linspace(0.0, 1.0, samples)[:, None]
    points = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
    return [tuple(point) for point in points]


def pen_width(ink: np.ndarray) -> float:
    """The digit's stroke width in pixels: inked area over the length of its strokes (about half its border)."""
    inked = ink > INK
    border = inked & ~(np.roll(inked, 1, 0) & np.roll(inked, -1, 0) & np.roll(inked, 1, 1) & np.roll(inked, -1, 1))
    return float(np.clip(2 * inked.sum() / max(border.sum(), 1), 4, 16))


def slashed_zero(ink: np.ndarray, rng: np.random.Generator) -> list[list[Point]]:
    """A slash through the loop that passes it at both ends, bottom left to top right."""
    top, bottom, left, right = _box(ink)
    height, cx, cy = bottom - top, (left + right) / 2, (top + bottom) / 2
    angle = math.radians(rng.uniform(10, 40))  # from the vertical, leaning right
    below, above = rng.uniform(0.55, 1.1, size=2) * height  # half the loop's height and what passes it
    dx, dy = math.sin(angle), math.cos(angle)
    return [[(cx - dx * below, cy + dy * below), (cx + dx * above, cy - dy * above)]]


def flagged_one(ink: np.ndarray, rng: np.random.Generator) -> list[list[Point]]:
    """A long up-stroke flag from low on the left to the top of the one."""
    top, bottom, _, _ = _box(ink)
    x_top = float(np.flatnonzero(ink[top] > INK).mean())
    length = rng.uniform(0.3, 0.8) * (bottom - top)
    angle = math.radians(rng.uniform(15, 60))  # below the horizontal
    return [[(x_top - length * math.cos(angle), top + length * math.sin(angle)), (x_top, top)]]


def barred_seven(ink: np.ndarray, rng: np.random.Generator) -> list[list[Point]]:
    """A bar across the stem, a little below the middle."""
    top, bottom, left, right = _box(ink)
    row = round(top + rng.uniform(0.45, 0.65) * (bottom - top))
    stem = np.flatnonzero(ink[row] > INK)
    x = float(stem.mean()) if len(stem) else (left + right) / 2
    half = rng.uniform(0.22, 0.4) * (right - left)
    shift, tilt = rng.uniform(-0.3, 0.3) * half, rng.uniform(-0.08, 0.08) * half
    return [[(x - half + shift, row + tilt), (x + half + shift, row - tilt)]]


def hooked_nine(ink: np.ndarray, rng: np.random.Generator) -> list[list[Point]]:
    """The stem's end curled left under the loop, like a "g"."""
    top, bottom, left, right = _box(ink)
    height, width = bottom - top, right - left
    end = np.flatnonzero(ink[bottom] > INK)
    x0, y0 = float(end.mean()), float(bottom)
    drop = rng.uniform(0.05, 0.2) * height
    reach = rng.uniform(0.5, 1.1) * width
    rise = rng.uniform(-0.05, 0.3) * height
    return [_curve((x0, y0 - 2), (x0, y0 + drop), (x0 - reach * 0.6, y0 + drop), (x0 - reach, y0 - rise))]


# digit -> how to mark it
MARKS: dict[int, Callable[[np.ndarray, np.random.Generator], list[list[Point]]]] = {
    0: slashed_zero,
    1: flagged_one,
    7: barred_seven,
    9: hooked_nine,
}


def _box(ink: np.ndarray) -> tuple[int, int, int, int]:
    rows = np.flatnonzero((ink > INK).any(axis=1))
    cols = np.flatnonzero((ink > INK).any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def normalise(ink: np.ndarray) -> np.ndarray:
    """As the predictor does (predictor/preprocess.py): crop to the ink, fit 20x20, centre of mass on 14, 14."""
    inked = ink > CROP_THRESHOLD
    rows, cols = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    cropped = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = cropped.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = np.clip(np.asarray(Image.fromarray(cropped, mode="F").resize(size, Image.Resampling.LANCZOS)), 0.0, None)
    peak = float(digit.max())
    digit = digit / peak if peak > 0 else digit
    total = float(digit.sum())
    row = float(digit.sum(axis=1) @ np.arange(digit.shape[0])) / total
    col = float(digit.sum(axis=0) @ np.arange(digit.shape[1])) / total
    top = min(max(round(CENTER - row), 0), SIDE - digit.shape[0])
    left = min(max(round(CENTER - col), 0), SIDE - digit.shape[1])
    field = np.zeros((SIDE, SIDE), np.float32)
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return field


def mark(digit: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
    """``digit`` (28x28 in [0, 1]) with its label's missing form drawn on, normalised again."""
    big = Image.fromarray(digit.astype(np.float32), mode="F").resize((SIDE * SCALE,) * 2, Image.Resampling.BILINEAR)
    # Upsampling blurs the strokes; steepen their edges back to MNIST's solid cores.
    ink = np.clip((np.asarray(big) - 0.5) * SHARPEN + 0.5, 0, 1)
    canvas = Image.new("L", (SIDE * SCALE * 2,) * 2, 0)  # room for a mark past the digit's edge
    offset = SIDE * SCALE / 2
    draw = ImageDraw.Draw(canvas)
    for stroke in MARKS[label](ink, rng):
        _line(draw, [(x + offset, y + offset) for x, y in stroke], pen_width(ink))
    whole = np.asarray(canvas, dtype=np.float32) / 255.0
    inner = slice(int(offset), int(offset) + SIDE * SCALE)
    whole[inner, inner] = np.maximum(whole[inner, inner], ink)
    return normalise(whole)


@dataclass(frozen=True)
class MarkedDigits:
    """MNIST training digits with their missing form drawn on: images (N, 28, 28, 1) in [0, 1] and labels."""

    x: np.ndarray
    y: np.ndarray


def marked_digits(images: np.ndarray, labels: np.ndarray, count: int, seed: int) -> MarkedDigits:
    """``count`` digits of the marked labels drawn from ``images`` (N, 28, 28, 1), each with its mark."""
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(np.isin(labels, list(MARKS)))
    chosen = np.sort(rng.choice(candidates, size=min(count, len(candidates)), replace=False))
    marked = [mark(images[i, ..., 0], int(labels[i]), rng) for i in chosen]
    x = np.stack(marked)[..., np.newaxis] if marked else np.zeros((0, SIDE, SIDE, 1), np.float32)
    return MarkedDigits(x, labels[chosen])
