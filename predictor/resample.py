"""Pillow's Lanczos resize of a float image, as two matrix products with cached weights.

Why not ``Image.resize`` itself: for every call Pillow recomputes each output pixel's filter
weights, about 2,000 ``sin`` calls to fit a drawn digit into 20x20, which was most of that step's
cost (~38 us of ~45). The weights depend only on the input and output lengths, and a drawing has
few distinct ones, so they are computed once and kept. The arithmetic is Pillow's (same filter,
support, centres, clipping at the edges, normalisation, float32 between the passes): results agree
with ``Image.resize(..., LANCZOS)`` on a float32 image to float32 rounding (checked in the tests).

Only sides up to ``CACHED_SIDE`` pixels use (and fill) the cache: a drawing's crop is at most ~140
pixels long, and weights for an odd 100,000-pixel-long upload would be megabytes each. Longer sides
go to Pillow, which computes its weights per call as before; a kept matrix is then at most
``CACHED_SIDE`` x 20 float64 values (80 KB), and the cache at most ``CACHE_ENTRIES`` of them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

LANCZOS_SUPPORT = 3.0  # Pillow's Lanczos: sinc(x) * sinc(x / 3) on [-3, 3]
CACHED_SIDE = 512
CACHE_ENTRIES = 256


@lru_cache(maxsize=CACHE_ENTRIES)
def lanczos_weights(in_size: int, out_size: int) -> np.ndarray:
    """The ``out_size`` x ``in_size`` matrix mapping one row (or column) of pixels to its resized one.

    Mirrors Pillow's ``precompute_coeffs`` (libImaging/Resample.c): when shrinking, the filter is
    stretched by the scale so that it averages (anti-aliases) rather than skips pixels.
    """
    scale = in_size / out_size
    filter_scale = max(scale, 1.0)
    support = LANCZOS_SUPPORT * filter_scale
    centres = (np.arange(out_size) + 0.5) * scale
    pixels = np.arange(in_size)
    # Each output pixel reads the input pixels in [first, last): Pillow truncates like C's (int).
    first = np.maximum((centres - support + 0.5).astype(int), 0)
    last = np.minimum((centres + support + 0.5).astype(int), in_size)
    offsets = (pixels[None, :] - centres[:, None] + 0.5) / filter_scale
    weights = np.where(np.abs(offsets) < LANCZOS_SUPPORT, np.sinc(offsets) * np.sinc(offsets / LANCZOS_SUPPORT), 0.0)
    weights[(pixels[None, :] < first[:, None]) | (pixels[None, :] >= last[:, None])] = 0.0
    weights /= weights.sum(axis=1, keepdims=True)
    weights.flags.writeable = False  # shared by every later call
    return weights


def lanczos_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` (2-D float) resized to ``size`` = (width, height), float32, like Pillow's LANCZOS."""
    height, width = image.shape
    if max(height, width, *size) > CACHED_SIDE:
        return np.asarray(Image.fromarray(image.astype(np.float32)).resize(size, Image.Resampling.LANCZOS))
    # Horizontal pass first, rounded to float32 in between, as Pillow does for "F" images.
    across = (image.astype(np.float64) @ lanczos_weights(width, size[0]).T).astype(np.float32)
    return (lanczos_weights(height, size[1]) @ across).astype(np.float32)
