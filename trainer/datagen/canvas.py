"""Drawing on the page's canvas: ink as a canvas image in one of its colour schemes, MNIST digits re-drawn."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

CANVAS = 280  # the page's canvas, in CSS pixels

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
