"""Real people's pen-drawn digits, drawn on the page's canvas: the real-handwriting evaluation set.

The digits are UJI Pen Characters v2's (1,200 digits by 60 writers, CC BY 4.0; see
``trainer/data/README.md``), shipped as pen trajectories in ``trainer/data/uji_pen_digits.json.gz``.
Each is drawn the way the page draws a person's strokes: a round pen 18 CSS pixels wide on a
280-pixel canvas, the digit as large and wherever a person might put it, in one of the canvas'
colour schemes. Then the predictor's own preprocessing makes it the 28x28 digit the model reads.

``python -m trainer.datagen.real_pens`` writes ``trainer/data/real_pens.npz``, which every training run is
evaluated on (never trained on). Deterministic: the same file every time.
"""

from __future__ import annotations

import argparse
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from predictor import preprocess
from trainer.datagen.canvas import CANVAS, STYLES, render

DATA = Path(__file__).resolve().parent.parent / "data"
UJI_DIGITS = DATA / "uji_pen_digits.json.gz"
REAL_PENS = DATA / "real_pens.npz"
PEN_WIDTH = 18  # the page's pen (frontend/html/app.js), in pixels of a 280-pixel canvas
SUPERSAMPLE = 2  # drawn at twice the resolution, then averaged down: anti-aliased like a canvas
HEIGHT = (0.35, 0.85)  # how tall people draw a digit, as a share of the canvas
SEED = 20261207

Stroke = list[tuple[float, float]]


@dataclass(frozen=True)
class PenDigit:
    """One digit as a person wrote it: pen-down traces in tablet units (y down)."""

    label: int
    writer: str
    strokes: list[Stroke]


def load_pen_digits(path: Path = UJI_DIGITS) -> list[PenDigit]:
    """The digits in ``path`` (a gzipped JSON list of ``{"label", "writer", "strokes"}``)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        records = json.load(handle)
    return [
        PenDigit(int(r["label"]), str(r["writer"]), [[(float(x), float(y)) for x, y in s] for s in r["strokes"]])
        for r in records
    ]


def placed(strokes: list[Stroke], height: float, across: float, down: float) -> list[Stroke]:
    """The strokes in canvas pixels: ``height`` of the canvas tall, ``across`` and ``down`` (0-1) the free room.

    The digit keeps its proportions; a wide one shrinks until it fits.
    """
    points = np.array([point for stroke in strokes for point in stroke], dtype=np.float64)
    low, extent = points.min(axis=0), np.maximum(np.ptp(points, axis=0), 1e-6)
    scale = min(height * CANVAS / extent[1], (CANVAS - PEN_WIDTH - 2) / extent[0])
    room = CANVAS - extent * scale - PEN_WIDTH
    left, top = room[0] * across + PEN_WIDTH / 2, room[1] * down + PEN_WIDTH / 2
    return [[((x - low[0]) * scale + left, (y - low[1]) * scale + top) for x, y in stroke] for stroke in strokes]


def ink_of(canvas_strokes: list[Stroke]) -> np.ndarray:
    """Ink coverage (0-1) of the strokes drawn with the page's round pen on a 280-pixel canvas."""
    size, radius = CANVAS * SUPERSAMPLE, PEN_WIDTH * SUPERSAMPLE / 2
    ink = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(ink)
    for stroke in canvas_strokes:
        xy = [(x * SUPERSAMPLE, y * SUPERSAMPLE) for x, y in stroke]
        if len(xy) > 1:
            draw.line(xy, fill=255, width=round(2 * radius), joint="curve")
        for x, y in (xy[0], xy[-1]):  # the page's round caps (a tap is a dot)
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(ink.reduce(SUPERSAMPLE), dtype=np.float32) / 255.0


def on_canvas(strokes: list[Stroke], rng: np.random.Generator, style: str) -> Image.Image:
    """The strokes as a person might put them on the page: ``HEIGHT`` of the canvas tall, anywhere, in ``style``."""
    height, across, down = rng.uniform(*HEIGHT), rng.uniform(), rng.uniform()
    return render(ink_of(placed(strokes, height, across, down)), style)


def canvas_drawings(digits: list[PenDigit], seed: int = SEED) -> list[tuple[Image.Image, str]]:
    """Each digit drawn on a canvas, with the colour scheme it was drawn in."""
    rng = np.random.default_rng(seed)
    drawn = []
    for digit in digits:
        style = STYLES[int(rng.integers(len(STYLES)))]
        drawn.append((on_canvas(digit.strokes, rng, style), style))
    return drawn


def real_pen_set(digits: list[PenDigit], seed: int = SEED) -> dict[str, np.ndarray]:
    """The digits as the model sees them (uint8 28x28 after the predictor's preprocessing), with labels and writers."""
    drawn = canvas_drawings(digits, seed)
    images = [(preprocess.mnist_style(image) * 255).round().astype(np.uint8) for image, _ in drawn]
    return {
        "x": np.stack(images),
        "y": np.array([d.label for d in digits], np.int64),
        "writer": np.array([d.writer for d in digits]),
        "canvas_style": np.array([s for _, s in drawn]),
    }


def main() -> None:
    """Write trainer/data/real_pens.npz from trainer/data/uji_pen_digits.json.gz."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REAL_PENS)
    args = parser.parse_args()
    np.savez_compressed(args.output, **real_pen_set(load_pen_digits()))


if __name__ == "__main__":
    main()
