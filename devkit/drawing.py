"""Digits drawn the way people draw them on a canvas, for tests and the drawn-digit evaluation."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from predictor import preprocess
from trainer.datagen.canvas import CANVAS


def stroke_digit(
    points: list[tuple[float, float]], canvas: int = CANVAS, width: int = 18, style: str = "dark_on_white"
) -> Image.Image:
    """A polyline through ``points`` (fractions of the canvas) drawn with round, thick strokes.

    Styles: ``dark_on_white`` (RGB), ``dark_on_transparent`` (RGBA, the browser canvas default),
    ``light_on_dark`` (RGB), ``light_on_transparent`` (RGBA).
    """
    dark = style.startswith("dark")
    transparent = style.endswith("transparent")
    mode = "RGBA" if transparent else "RGB"
    background = (0, 0, 0, 0) if transparent else ((255, 255, 255) if dark else (0, 0, 0))
    ink = (20, 20, 20, 255) if dark else (250, 250, 250, 255)
    image = Image.new(mode, (canvas, canvas), background)
    draw = ImageDraw.Draw(image)
    xy = [(x * canvas, y * canvas) for x, y in points]
    draw.line(xy, fill=ink[: len(mode)], width=width, joint="curve")
    for x, y in (xy[0], xy[-1]):  # round caps
        draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=ink[: len(mode)])
    return image


def png_bytes(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    """``image`` encoded as a file of format ``fmt`` (Pillow's ``save`` options pass through)."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


# A "7": top bar, then the diagonal down; a "1": one vertical stroke.
SEVEN = [(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]
ONE = [(0.5, 0.2), (0.5, 0.8)]


def ink_mask(image: Image.Image) -> np.ndarray:
    """True where the drawing has ink, whatever the style."""
    rgba = np.asarray(image.convert("RGBA"), dtype=np.float32)
    if image.mode == "RGBA":
        return rgba[..., 3] > 127
    gray = rgba[..., :3].mean(axis=2)
    return gray < 128 if gray[0, 0] > 127 else gray > 127


def plain_resize(image: Image.Image) -> np.ndarray:
    """The naive baseline the drawn-digit benchmark compares with: polarity-corrected, resized straight to 28x28."""
    ink = preprocess.to_ink(preprocess.to_gray(image))
    resized = Image.fromarray(ink.astype(np.float32)).resize((28, 28), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized), 0.0, 1.0)
