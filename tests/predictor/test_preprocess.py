"""Reading drawings like MNIST: decoding, polarity, alpha, cropping, fitting, centring, formats."""

import io
import zlib

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from devkit.drawing import ONE, SEVEN, plain_resize, png_bytes, stroke_digit
from predictor import preprocess
from predictor.preprocess import ImageError

MAX_PIXELS = 16_000_000

STYLES = ["dark_on_white", "dark_on_transparent", "light_on_dark", "light_on_transparent"]


def ink_box(digit: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero((digit > 0.05).any(axis=1))
    cols = np.flatnonzero((digit > 0.05).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


@pytest.mark.parametrize("style", STYLES)
def test_any_polarity_and_alpha_gives_white_ink_on_black(style):
    digit = preprocess.mnist_style(stroke_digit(SEVEN, style=style))
    assert digit.shape == (28, 28) and digit.dtype == np.float32
    assert digit.max() == pytest.approx(1.0)
    assert digit[0].max() == 0 and digit[:, 0].max() == 0, "background must be black"
    assert (digit > 0.5).sum() > 20, "strokes must be white"


@pytest.mark.parametrize("style", STYLES)
def test_styles_agree_with_each_other(style):
    reference = preprocess.mnist_style(stroke_digit(SEVEN, style="dark_on_white"))
    assert np.abs(preprocess.mnist_style(stroke_digit(SEVEN, style=style)) - reference).mean() < 0.02


@pytest.mark.parametrize(
    "points",
    [
        SEVEN,
        [(0.05, 0.05), (0.2, 0.05), (0.1, 0.25)],  # tiny, in a corner
        [(0.0, 0.0), (1.0, 0.0), (0.4, 1.0)],  # huge, touching the edges
        [(0.8, 0.6), (0.95, 0.6), (0.85, 0.95)],  # off-centre
    ],
)
def test_centre_of_mass_within_one_pixel_and_ink_box_at_most_20(points):
    digit = preprocess.mnist_style(stroke_digit(points, width=max(6, int(18 * abs(points[1][0] - points[0][0])))))
    com = ndimage.center_of_mass(digit)
    assert abs(com[0] - 14) <= 1 and abs(com[1] - 14) <= 1
    height, width = ink_box(digit)
    assert max(height, width) <= 20 and max(height, width) >= 18


def test_aspect_ratio_is_kept_for_a_thin_one():
    height, width = ink_box(preprocess.mnist_style(stroke_digit(ONE, width=20)))
    assert height == 20 or height == 19
    assert width <= 6


def whole_canvas_gray(image: Image.Image) -> np.ndarray:
    """What ``to_gray`` computes for a transparent canvas, without cropping to the drawing first."""
    rgba = image.convert("RGBA")
    alpha, gray = rgba.getchannel("A"), rgba.convert("L")
    visible = np.asarray(alpha) >= 128
    dark = np.asarray(gray)[visible].mean() < 128 if visible.any() else True
    background = Image.new("L", gray.size, 255 if dark else 0)
    return np.asarray(preprocess.shrink(Image.composite(gray, background, alpha)), dtype=np.float32) / 255


@pytest.mark.parametrize("canvas", [280, 560, 150, 90, 333])
@pytest.mark.parametrize("style", ["dark_on_transparent", "light_on_transparent"])
@pytest.mark.parametrize(
    "points", [SEVEN, ONE, [(0.0, 0.0), (1.0, 0.0), (0.4, 1.0)], [(0.8, 0.6), (0.95, 0.6), (0.85, 0.95)]]
)
def test_cropping_to_the_drawing_first_changes_no_pixel(points, style, canvas):
    image = stroke_digit(points, canvas=canvas, width=max(4, canvas // 16), style=style)
    whole = preprocess.mnist_style_from_gray(whole_canvas_gray(image))
    assert np.array_equal(preprocess.mnist_style(image), whole)


def test_drawn_box_keeps_a_background_margin_on_the_shrink_grid():
    canvas = Image.new("RGBA", (280, 280), (255, 255, 255, 0))  # white but fully transparent
    canvas.paste((0, 0, 0, 1), (101, 37, 150, 200))  # barely visible ink still counts
    left, top, right, bottom = preprocess.drawn_box(canvas, 2)
    assert (left, top, right, bottom) == (98, 34, 152, 202)
    assert all(edge % 2 == 0 for edge in (left, top, right, bottom))
    assert preprocess.drawn_box(Image.new("RGBA", (90, 60)), 2) == (0, 0, 90, 60)  # nothing drawn: all of it
    canvas.paste((0, 0, 0, 255), (0, 0, 5, 5))
    canvas.paste((0, 0, 0, 255), (277, 277, 280, 280))
    assert preprocess.drawn_box(canvas, 3) == (0, 0, 280, 280)  # clamped to the image


def test_mnist_digit_survives_the_pipeline(mnist_slice):
    with np.load(mnist_slice) as data:
        original = data["x_test"][0].astype(np.float32) / 255
    again = preprocess.mnist_style(Image.fromarray(data_to_uint8(original)))
    assert np.abs(again - original).mean() < 0.05


def data_to_uint8(values: np.ndarray) -> np.ndarray:
    return (values * 255).round().astype(np.uint8)


@pytest.mark.parametrize("color", [(255, 255, 255), (0, 0, 0), (0, 0, 0, 0), (128, 64, 200)])
def test_blank_canvas_is_empty_image(color):
    blank = Image.new("RGBA" if len(color) == 4 else "RGB", (280, 280), color)
    with pytest.raises(ImageError) as error:
        preprocess.mnist_style(blank)
    assert error.value.code == "empty_image"


def test_decode_refuses_big_images_before_decoding():
    big = png_bytes(Image.new("L", (5000, 4000), 255))
    with pytest.raises(ImageError) as error:
        preprocess.decode(big, max_pixels=16_000_000)
    assert error.value.code == "image_too_large"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "no_image"),
        (b"not an image at all", "unsupported_image"),
        (png_bytes(Image.new("L", (50, 50)))[:60], "invalid_image"),
    ],
)
def test_decode_errors(data, code):
    with pytest.raises(ImageError) as error:
        preprocess.decode(data, max_pixels=16_000_000)
    assert error.value.code == code


@pytest.mark.parametrize(
    ("fmt", "mode"), [("JPEG", "RGB"), ("WEBP", "RGBA"), ("GIF", "P"), ("BMP", "RGB"), ("PNG", "LA"), ("PNG", "I;16")]
)
def test_every_supported_format_and_mode_reads_the_same_digit(fmt, mode):
    drawn = stroke_digit(SEVEN, style="dark_on_white")
    converted = drawn.convert("L").convert(mode) if mode != "I;16" else sixteen_bit(drawn)
    image = preprocess.decode(png_bytes(converted, fmt), max_pixels=16_000_000)
    digit = preprocess.mnist_style(image)
    assert np.abs(digit - preprocess.mnist_style(drawn)).mean() < 0.03


def sixteen_bit(image: Image.Image) -> Image.Image:
    return Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 257)


def test_plain_resize_is_what_the_naive_app_would_do():
    naive = plain_resize(stroke_digit([(0.05, 0.05), (0.2, 0.05), (0.1, 0.25)]))
    assert naive.shape == (28, 28)
    assert ink_box(naive)[0] < 10, "a small drawing stays small without MNIST-style normalisation"


def test_numpy_centre_of_mass_matches_scipy():
    rng = np.random.default_rng(3)
    image = rng.random((20, 13)).astype(np.float32) ** 4
    assert preprocess.center_of_mass(image) == pytest.approx(ndimage.center_of_mass(image), abs=1e-5)


def test_png_of_the_model_input_round_trips():
    digit = preprocess.mnist_style(stroke_digit(SEVEN))
    back = np.asarray(Image.open(io.BytesIO(preprocess.to_png(digit)))) / 255
    assert np.abs(back - digit).max() < 0.01


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_rotated_photo_is_read_upright(fmt):
    upright = stroke_digit(SEVEN, style="dark_on_white")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a rotated camera stores...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...and the tag that says "rotate 90 degrees clockwise to view"
    image = preprocess.decode(png_bytes(stored, fmt, exif=exif.tobytes(), quality=95), max_pixels=16_000_000)
    assert preprocess.has_orientation(image)
    digit = preprocess.mnist_style(image)
    assert np.abs(digit - preprocess.mnist_style(upright)).mean() < 0.03


def sixteen_bit_rgba_png(image: Image.Image) -> bytes:
    """An RGBA PNG with 16 bits per channel (Pillow reads those but cannot write them)."""
    rgba = np.asarray(image.convert("RGBA"), dtype=">u2") * 257
    raw = b"".join(b"\x00" + row.tobytes() for row in rgba)
    header = image.size[0].to_bytes(4, "big") + image.size[1].to_bytes(4, "big") + bytes([16, 6, 0, 0, 0])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def test_sixteen_bit_and_animated_canvas_pngs_are_read():
    canvas = stroke_digit(SEVEN, style="dark_on_transparent", canvas=56)
    deep = preprocess.decode(sixteen_bit_rgba_png(canvas), MAX_PIXELS)
    assert deep.mode == "RGBA"
    np.testing.assert_allclose(preprocess.mnist_style(deep), preprocess.mnist_style(canvas), atol=0.02)
    noise = Image.fromarray(np.random.default_rng(0).integers(0, 256, (56, 56, 4), dtype=np.uint8))
    first_frame = preprocess.decode(png_bytes(canvas, save_all=True, append_images=[noise]), MAX_PIXELS)
    np.testing.assert_array_equal(np.asarray(first_frame), np.asarray(canvas))


def test_a_canvas_png_cut_short_after_its_last_row_is_still_read():
    data = png_bytes(stroke_digit(SEVEN, style="dark_on_transparent"))
    cut_short = data[:-20]  # zlib's checksum, IDAT's CRC and IEND are missing
    decoded = preprocess.decode(cut_short, MAX_PIXELS)
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(Image.open(io.BytesIO(data))))


def test_an_exif_rotated_canvas_is_read_upright():
    upright = stroke_digit(SEVEN, style="dark_on_transparent")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to view"
    rotated = png_bytes(upright.transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes())
    decoded = preprocess.decode(rotated, MAX_PIXELS)
    assert preprocess.has_orientation(decoded)
    np.testing.assert_allclose(preprocess.mnist_style(decoded), preprocess.mnist_style(upright), atol=1e-6)
