"""The canvas-PNG fast path: libspng's pixels are Pillow's, anything else still goes to Pillow."""

import io
import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from predictor import preprocess
from predictor.canvas_png import is_canvas_png, load_canvas_png
from tests.drawing import SEVEN, png_bytes, stroke_digit

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_PIXELS = 16_000_000


def pillow_pixels(data: bytes) -> np.ndarray:
    """What Pillow's own decoder makes of ``data``."""
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA"))


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    """Random RGBA: Pillow's encoder then picks every kind of row filter (None, Sub, Up, Average, Paeth)."""
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 4), dtype=np.uint8))


@pytest.mark.parametrize(
    "image",
    [
        stroke_digit(SEVEN, style="dark_on_transparent"),
        stroke_digit(SEVEN, style="light_on_transparent", canvas=560),
        noise(97, 61),
        noise(1, 1, seed=1),
    ],
    ids=["canvas", "high-dpi canvas", "noise", "one pixel"],
)
def test_canvas_pngs_decode_to_pillows_pixels_without_pillows_decoder(image):
    data = png_bytes(image)
    decoded = preprocess.decode(data, MAX_PIXELS)
    assert not isinstance(decoded, PngImagePlugin.PngImageFile), "the fast path was not taken"
    assert decoded.mode == "RGBA" and decoded.size == image.size
    np.testing.assert_array_equal(np.asarray(decoded), pillow_pixels(data))


@pytest.mark.parametrize(
    "image",
    [
        stroke_digit(SEVEN, style="dark_on_white"),  # RGB
        stroke_digit(SEVEN, style="dark_on_white").convert("LA"),
        stroke_digit(SEVEN, style="dark_on_white").convert("P"),
    ],
    ids=["RGB", "LA", "P"],
)
def test_other_png_modes_go_to_pillow(image):
    opened = Image.open(io.BytesIO(png_bytes(image)))
    assert not is_canvas_png(opened)
    assert isinstance(preprocess.decode(png_bytes(image), MAX_PIXELS), PngImagePlugin.PngImageFile)


def sixteen_bit_rgba_png(image: Image.Image) -> bytes:
    """An RGBA PNG with 16 bits per channel (Pillow reads those but cannot write them)."""
    rgba = np.asarray(image.convert("RGBA"), dtype=">u2") * 257
    raw = b"".join(b"\x00" + row.tobytes() for row in rgba)
    header = image.size[0].to_bytes(4, "big") + image.size[1].to_bytes(4, "big") + bytes([16, 6, 0, 0, 0])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_sixteen_bit_and_animated_rgba_go_to_pillow():
    canvas = stroke_digit(SEVEN, style="dark_on_transparent", canvas=56)
    deep = Image.open(io.BytesIO(sixteen_bit_rgba_png(canvas)))
    assert deep.mode == "RGBA" and not is_canvas_png(deep)
    animated = png_bytes(canvas, save_all=True, append_images=[noise(56, 56)])
    assert not is_canvas_png(Image.open(io.BytesIO(animated)))
    first_frame = preprocess.decode(animated, MAX_PIXELS)
    np.testing.assert_array_equal(np.asarray(first_frame), np.asarray(canvas))


def test_a_png_libspng_refuses_but_pillow_reads_is_still_read():
    data = png_bytes(stroke_digit(SEVEN, style="dark_on_transparent"))
    # Cut short after the last row of pixels: zlib's checksum, IDAT's CRC and IEND are missing.
    cut_short = data[:-20]
    assert load_canvas_png(Image.open(io.BytesIO(cut_short)), cut_short) is None
    decoded = preprocess.decode(cut_short, MAX_PIXELS)
    np.testing.assert_array_equal(np.asarray(decoded), pillow_pixels(data))


def test_metadata_is_kept_so_an_exif_rotated_canvas_is_read_upright():
    upright = stroke_digit(SEVEN, style="dark_on_transparent")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    data = png_bytes(upright.transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes())
    decoded = preprocess.decode(data, MAX_PIXELS)
    assert not isinstance(decoded, PngImagePlugin.PngImageFile)
    assert preprocess.has_orientation(decoded)
    np.testing.assert_allclose(preprocess.mnist_style(decoded), preprocess.mnist_style(upright), atol=1e-6)


def test_libspng_inflates_with_the_processs_zlib_not_its_bundled_copy():
    # The dynamic linker reports where each symbol binds; without share_process_zlib() pyspng's
    # `inflate` binds to its own zlib 1.2.11 on interpreters that do not link libz themselves.
    code = (
        "from predictor import preprocess; from tests.drawing import SEVEN, png_bytes, stroke_digit; "
        "preprocess.decode(png_bytes(stroke_digit(SEVEN, style='dark_on_transparent')), 10**6)"
    )
    env = {**os.environ, "LD_DEBUG": "bindings", "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    bindings = [line for line in result.stderr.splitlines() if "_pyspng_c" in line and "`inflate'" in line]
    assert bindings, "pyspng never called inflate"
    assert all(" to " in line and "/libz.so.1 " in line.split(" to ", 1)[1] for line in bindings), bindings
