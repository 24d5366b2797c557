"""Digits as people draw them on the page: pen strokes in many writing styles, rendered on a canvas.

Each digit has several allographs (the forms people write it in): plain ones, and the ones MNIST
hardly has — a slashed zero, a one with a flag (and a base, or a long up-stroke from low on the
left), a crossed seven (its stem straight or curved), an open-top four (in one stroke or two), a
nine whose tail curls left like a "g", a flat-topped three, a looped two. The training set draws
the forms people write and MNIST lacks two or three times as often as the plain ones.
A drawing is one allograph's strokes through smooth curves, with what a real hand adds: a slant
from -20° to +25°, a narrower or wider digit, a little rotation, jitter in every control point,
strokes that overshoot or stop short, loops that do not close, and fast writing: the page draws a
straight line between pointer events (about 60 a second), so a quick stroke arrives as a few
straight segments. Drawn with a uniform round pen of random width, small or large anywhere on a
280-pixel canvas, dark on light or light on dark, opaque or transparent — what the page's canvas sends.

Deterministic for a given seed. ``drawings(count, seed)`` makes them; ``python -m trainer.datagen.handwriting``
writes the two data sets the trainer ships (``trainer/data/``): the drawn-digit evaluation set and
the synthetic training styles, each preprocessed by the predictor's own pipeline, with different
seeds and separate writers.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from predictor import preprocess
from trainer.data import load_raw
from trainer.datagen.allographs import (
    CORNER,
    EVALUATION_ALLOGRAPHS,
    TRAINING_ALLOGRAPHS,
    TRAINING_FORM_WEIGHTS,
    UNSEEN_ALLOGRAPHS,
)
from trainer.datagen.canvas import CANVAS, redraw
from trainer.datagen.canvas import STYLES as CANVAS_STYLES
from trainer.datagen.canvas import render as on_canvas

SUPERSAMPLE = 2  # drawn at twice the canvas' resolution, then averaged down: anti-aliased like a canvas
Stroke = list[tuple[float, float]]


@dataclass(frozen=True)
class Writer:
    """How a population of writers varies (ranges the random draws come from)."""

    slant_degrees: tuple[float, float] = (-20.0, 25.0)
    width_scale: tuple[float, float] = (0.65, 1.15)
    rotation_degrees: float = 6.0
    jitter: float = 0.025  # standard deviation of each control point's offset, in digit heights
    end_change: float = 0.12  # a stroke's ends run on or stop short by up to this share of their segment
    pen: tuple[float, float] = (0.06, 0.17)  # pen width, as a share of the digit's height
    height: tuple[float, float] = (0.3, 0.9)  # digit height, as a share of the canvas
    fast: float = 0.3  # share of drawings written fast, as straight segments between pointer events
    fast_spacing: tuple[float, float] = (0.15, 0.45)  # how far the pen moves between two events, in digit heights


@dataclass(frozen=True)
class Drawing:
    """One drawn digit: the canvas image and what it shows."""

    image: Image.Image
    label: int
    allograph: str
    canvas_style: str
    fast: bool = False


def catmull_rom(points: list, samples: int = 12) -> list[tuple[float, float]]:
    """A smooth curve through ``points``; at a CORNER entry it turns sharply instead."""
    pieces, piece = [], []
    for point in points:
        if point is CORNER:
            pieces.append(piece)
            piece = [piece[-1]]
        else:
            piece.append(point)
    pieces.append(piece)
    curve: list[tuple[float, float]] = []
    for piece in pieces:
        smooth = _smooth(piece, samples)
        curve += smooth[1:] if curve else smooth
    return curve


def _smooth(points: list[tuple[float, float]], samples: int) -> list[tuple[float, float]]:
    if len(points) < 3:
        return list(points)
    padded = [points[0], *points, points[-1]]
    out = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = (np.array(p) for p in padded[i - 1 : i + 3])
        for t in np.linspace(0, 1, samples, endpoint=False):
            out.append(tuple(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t
                                    + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)))  # fmt: skip
    out.append(points[-1])
    return out


def _ellipse(cx: float, cy: float, rx: float, ry: float, rng: np.random.Generator) -> list:
    """A loop from the top, anticlockwise as most people draw it; it may overshoot or stay open."""
    start = -math.pi / 2 + rng.normal(0, 0.25)
    sweep = 2 * math.pi * rng.uniform(0.9, 1.12)
    angles = start - np.linspace(0, sweep, 16)
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def pointer_events(curve: list[tuple[float, float]], spacing: float) -> Stroke:
    """The points of the curve about ``spacing`` apart along it: what the page records of a quick stroke."""
    points = np.array(curve)
    if len(points) < 3:
        return curve
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    at = np.linspace(0.0, along[-1], max(2, math.ceil(along[-1] / spacing)) + 1)
    return list(zip(np.interp(at, along, points[:, 0]), np.interp(at, along, points[:, 1]), strict=True))


def strokes_of(
    template_strokes: list[list], rng: np.random.Generator, writer: Writer, fast: bool = False
) -> list[Stroke]:
    """An allograph's strokes as a writer draws them: jittered, changed at the ends, slanted, in a unit box.

    A ``fast`` drawing's strokes are straight segments between a few pointer events.
    """
    spacing = rng.uniform(*writer.fast_spacing) if fast else 0.0
    strokes = []
    for template in template_strokes:
        loop = template[0] == "ellipse"
        points = _ellipse(*template[1:], rng) if loop else list(template)
        sigma = writer.jitter * (0.4 if loop else 1.0)  # a loop's 16 points: less each, or it frays
        jittered = [p if p is CORNER else (p[0] + rng.normal(0, sigma), p[1] + rng.normal(0, sigma)) for p in points]
        curve = _change_ends(catmull_rom(jittered), rng, writer.end_change)
        if fast:
            curve = pointer_events(curve, spacing)
        strokes.append(curve)
    slant = math.radians(rng.uniform(*writer.slant_degrees))
    rotation = math.radians(rng.uniform(-writer.rotation_degrees, writer.rotation_degrees))
    width = rng.uniform(*writer.width_scale)
    cos, sin = math.cos(rotation), math.sin(rotation)

    def place(x: float, y: float) -> tuple[float, float]:
        x, y = (x - 0.5) * width, y - 0.5
        x += -y * math.tan(slant)  # a positive slant leans the top to the right
        return x * cos - y * sin, x * sin + y * cos

    return [[place(x, y) for x, y in stroke] for stroke in strokes]


def _change_ends(curve: list[tuple[float, float]], rng: np.random.Generator, amount: float) -> Stroke:
    """Run the stroke's ends on, or stop them short, a little."""
    if len(curve) < 4:
        return curve
    points = np.array(curve)
    for end, inner in ((0, 1), (-1, -2)):
        change = rng.uniform(-amount, amount)
        points[end] = points[end] + (points[end] - points[inner]) * change * 6
    return [tuple(p) for p in points]


def render(strokes: list[Stroke], rng: np.random.Generator, writer: Writer, style: str) -> Image.Image:
    """The strokes drawn with a round pen, somewhere on a 280-pixel canvas, in one of the page's styles."""
    xs = [x for stroke in strokes for x, _ in stroke]
    ys = [y for stroke in strokes for _, y in stroke]
    height_units = max(ys) - min(ys)
    height = rng.uniform(*writer.height) * CANVAS
    scale = height / max(height_units, 1e-6)
    pen = rng.uniform(*writer.pen) * height
    box_w, box_h = (max(xs) - min(xs)) * scale + pen, height + pen
    fit = min(1.0, (CANVAS - 2) / max(box_w, box_h))  # a wide, thick digit still fits the canvas
    scale, pen, box_w, box_h = scale * fit, pen * fit, box_w * fit, box_h * fit
    left = rng.uniform(0, CANVAS - box_w) + pen / 2
    top = rng.uniform(0, CANVAS - box_h) + pen / 2
    size = CANVAS * SUPERSAMPLE
    ink = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(ink)
    radius = pen * SUPERSAMPLE / 2
    for stroke in strokes:
        points = [((x - min(xs)) * scale * SUPERSAMPLE + left * SUPERSAMPLE,
                   (y - min(ys)) * scale * SUPERSAMPLE + top * SUPERSAMPLE) for x, y in stroke]  # fmt: skip
        draw.line(points, fill=255, width=max(1, round(2 * radius)), joint="curve")
        for x, y in (points[0], points[-1]):  # round caps, as the page's pen has
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return on_canvas(np.asarray(ink.reduce(SUPERSAMPLE), dtype=np.float32) / 255.0, style)


def draw(template: list[list], label: int, allograph: str, rng: np.random.Generator, writer: Writer) -> Drawing:
    """One drawing of an allograph: a random canvas style, written fast or not, by ``writer``."""
    style = CANVAS_STYLES[int(rng.integers(len(CANVAS_STYLES)))]
    fast = writer.fast > 0 and bool(rng.random() < writer.fast)  # never fast: no draw, older sets stay as they were
    return Drawing(render(strokes_of(template, rng, writer, fast), rng, writer, style), label, allograph, style, fast)


def drawings(
    count: int,
    seed: int,
    writer: Writer,
    allographs: dict[int, dict[str, list[list]]],
    weights: dict[tuple[int, str], int] | None = None,
) -> Iterator[Drawing]:
    """``count`` drawings, the digits and their allographs in turn, everything else at random.

    A form with a weight in ``weights`` comes that many times in its digit's turn.
    """
    rng = np.random.default_rng(seed)
    weights = weights or {}
    turns = {label: [name for name in forms for _ in range(weights.get((label, name), 1))]
             for label, forms in allographs.items()}  # fmt: skip
    for index in range(count):
        label = index % 10
        allograph = turns[label][(index // 10) % len(turns[label])]
        yield draw(allographs[label][allograph], label, allograph, rng, writer)


def style_drawings(label: int, allograph: str, count: int, seed: int, writer: Writer | None = None) -> list[Drawing]:
    """``count`` drawings of one of ``UNSEEN_ALLOGRAPHS`` by different writers (the evaluation writers by default)."""
    rng = np.random.default_rng(seed)
    writer = writer or EVALUATION_WRITER
    template = UNSEEN_ALLOGRAPHS[(label, allograph)]
    return [draw(template, label, allograph, rng, writer) for _ in range(count)]


def mnist_writers(count: int, seed: int, mnist_file: Path | None) -> Iterator[Drawing]:
    """``count`` MNIST test digits re-traced with the page's pen (``canvas.redraw``): MNIST's own writers.

    ``mnist_file`` is a Keras ``mnist.npz``; None downloads it as the trainer does.
    """
    rng = np.random.default_rng(seed)
    _, (digits, labels), _ = load_raw(mnist_file)
    digits, labels = digits[:count], labels[:count]
    for digit, label in zip(digits, labels, strict=True):
        style = CANVAS_STYLES[int(rng.integers(len(CANVAS_STYLES)))]
        yield Drawing(redraw(digit, rng, style=style), int(label), "mnist_writer", style)


def preprocessed_set(drawn: Iterator[Drawing]) -> dict[str, np.ndarray]:
    """Drawings through the predictor's preprocessing: what the model sees, with the labels and styles."""
    images, labels, allographs, styles = [], [], [], []
    for drawing in drawn:
        images.append((preprocess.mnist_style(drawing.image) * 255).round().astype(np.uint8))
        labels.append(drawing.label)
        allographs.append(drawing.allograph)
        styles.append(drawing.canvas_style)
    return {"x": np.stack(images), "y": np.array(labels, np.int64), "allograph": np.array(allographs),
            "canvas_style": np.array(styles)}  # fmt: skip


# The two data sets the trainer ships. The evaluation set: the evaluation allographs and MNIST's own
# writers re-traced, drawn by the evaluation writers (below). The training styles: the
# training allographs, by a wider population of writers, from another seed.
EVALUATION_WRITER = Writer()
# Fast writing is in the evaluation set only: training on it as well (30 % of the styles) was
# within the noise on the drawn set, 0.07 points lower on MNIST test (docs/performance.md).
TRAINING_WRITER = Writer(slant_degrees=(-25.0, 30.0), width_scale=(0.6, 1.2), jitter=0.03, pen=(0.05, 0.2), fast=0.0)


def evaluation_drawings(mnist_file: Path | None) -> list[Drawing]:
    """3,000 canvas drawings: 2,000 of the evaluation allographs and 1,000 of MNIST's writers."""
    return [
        *drawings(2000, 20261201, EVALUATION_WRITER, EVALUATION_ALLOGRAPHS),
        *mnist_writers(1000, 20261202, mnist_file),
    ]


def evaluation_set(mnist_file: Path | None) -> dict[str, np.ndarray]:
    """The evaluation drawings as the model sees them."""
    return preprocessed_set(iter(evaluation_drawings(mnist_file)))


def training_drawings(count: int = 12000) -> Iterator[Drawing]:
    """The training allographs, the forms people write that MNIST lacks more often (12,000 ship)."""
    return drawings(count, 7, TRAINING_WRITER, TRAINING_ALLOGRAPHS, TRAINING_FORM_WEIGHTS)


def training_set() -> dict[str, np.ndarray]:
    """12,000 drawings of the training allographs, as the model sees them."""
    return preprocessed_set(training_drawings())


def main() -> None:
    """Write trainer/data/drawn_digits_eval.npz and trainer/data/drawn_digits_train.npz."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path(__file__).resolve().parent.parent / "data")
    parser.add_argument("--mnist-path", type=Path, help="Keras mnist.npz (default: download it as the trainer does)")
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.folder / "drawn_digits_eval.npz", **evaluation_set(args.mnist_path))
    np.savez_compressed(args.folder / "drawn_digits_train.npz", **training_set())


if __name__ == "__main__":
    main()
