"""Digits drawn the way people draw them on a canvas, for tests and the drawn-digit evaluation."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from predictor import preprocess

CANVAS = 280


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


STYLES = ("dark_on_white", "dark_on_transparent", "light_on_dark", "light_on_transparent")


def redraw(digit: np.ndarray, rng: np.random.Generator, canvas: int = CANVAS, style: str | None = None) -> Image.Image:
    """An MNIST digit (28x28 uint8) re-drawn as a person would on a ``canvas``-pixel canvas.

    The digit's core (its brightest pixels) is scaled to a random height (30-90 % of the canvas),
    re-stroked with a uniform pen (like a canvas line) 7-18 % as wide as the digit is high,
    anti-aliased, and put at a random place, in one of the four canvas styles. Deterministic for a
    given ``rng`` state.
    """
    height = rng.uniform(0.3, 0.9) * canvas
    scale = height / 20.0
    core = ndimage.zoom(digit.astype(np.float32) / 255.0, scale, order=1) > 0.6
    pen = rng.uniform(0.07, 0.18) * height
    strokes = ndimage.distance_transform_edt(~core) <= pen / 2
    rows, cols = np.nonzero(strokes)
    strokes = strokes[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    if max(strokes.shape) > canvas:  # a very thick pen on a large digit: shrink to fit
        factor = canvas / max(strokes.shape)
        strokes = ndimage.zoom(strokes.astype(np.float32), factor, order=1) > 0.5
    ink = ndimage.gaussian_filter(strokes.astype(np.float32), 0.8)  # the canvas anti-aliases its lines
    field = np.zeros((canvas, canvas), np.float32)
    top = int(rng.integers(0, canvas - ink.shape[0] + 1))
    left = int(rng.integers(0, canvas - ink.shape[1] + 1))
    field[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    style = style or str(rng.choice(STYLES))
    return render(field, style)


def render(ink: np.ndarray, style: str) -> Image.Image:
    """Ink coverage in [0, 1] as a canvas image in ``style``."""
    coverage = (np.clip(ink, 0, 1) * 255).round().astype(np.uint8)
    dark = style.startswith("dark")
    color = 20 if dark else 250
    if style.endswith("transparent"):
        rgba = np.zeros((*ink.shape, 4), np.uint8)
        rgba[..., :3] = color
        rgba[..., 3] = coverage
        return Image.fromarray(rgba)
    background = 255 if dark else 0
    gray = (background + (color - background) * (coverage / 255.0)).round().astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def plain_resize(image: Image.Image) -> np.ndarray:
    """The naive baseline the drawn-digit benchmark compares with: polarity-corrected, resized straight to 28x28."""
    ink = preprocess.to_ink(preprocess.to_gray(image))
    resized = Image.fromarray(ink.astype(np.float32)).resize((28, 28), Image.Resampling.BILINEAR)
    return np.clip(np.asarray(resized), 0.0, 1.0)
