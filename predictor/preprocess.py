"""Turn any drawing into what the model was trained on: an MNIST-style 28x28 digit.

MNIST digits are white ink on black, size-normalised to fit 20x20 (anti-aliased, aspect kept) and
placed in 28x28 so that their centre of mass sits at the centre. A canvas drawing is black (or any
colour) on white or transparent, any size, anywhere: this module closes that gap, step by step.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's decompression-bomb guard, on for the whole process: its warning becomes an error (caught
# in decode). Set once here; warnings.catch_warnings() per request would race between threads.
warnings.simplefilter("error", Image.DecompressionBombWarning)

SIDE = 28
BOX = 20
CENTER = 14.0  # MNIST's mean centre of mass, in pixel-index coordinates (measured: 13.99, 14.00)
INK_THRESHOLD = 0.15  # share of full contrast above which a pixel counts as ink for the bounding box
MIN_CONTRAST = 0.1  # below this the image is blank (or a flat colour)
SUPPORTED_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP"}
EXIF_ORIENTATION = 0x0112
METADATA_KEYS = ("exif", "xmp", "XML:com.adobe.xmp")  # where Pillow's readers put EXIF and XMP
WORKING_SIDE = 112  # 4x the model's input: plenty of detail for a 20-pixel digit


class ImageError(Exception):
    """The image cannot be read as a digit; ``code`` says why (``empty_image``, ``invalid_image``, ...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def decode(data: bytes, max_pixels: int) -> Image.Image:
    """Open and decode ``data`` as an image of a supported format, refusing oversized ones before decoding."""
    if not data:
        raise ImageError("no_image", "The request contained no image data.")
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in SUPPORTED_FORMATS:
            raise ImageError(
                "unsupported_image", f"{image.format} images are not supported; send PNG, JPEG, WebP, GIF or BMP."
            )
        width, height = image.size
        if width * height > max_pixels:
            raise ImageError(
                "image_too_large", f"The image is {width}x{height} pixels; at most {max_pixels} pixels are accepted."
            )
        if width == 0 or height == 0:
            raise ImageError("invalid_image", "The image has no pixels.")
        image.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("image_too_large", f"The image is too large to decode safely ({exc}).") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(
            "unsupported_image", "The data is not an image in a supported format (PNG, JPEG, WebP, GIF or BMP)."
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError("invalid_image", f"The image could not be decoded: {exc}.") from exc
    return image


def to_gray(image: Image.Image) -> np.ndarray:
    """Grayscale float32 in [0, 1], with any transparency composited onto a contrasting background.

    A transparent canvas carries its drawing in the alpha channel: strokes are composited onto white
    when they are dark and onto black when they are light, so either kind stays visible. Only the
    drawn region (plus a background margin) is returned: everything outside it is plain background.
    """
    if has_orientation(image):
        image = ImageOps.exif_transpose(image)  # photos: honour the camera's rotation
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if values.max() > 255 else 255.0
        return np.clip(values / peak, 0, 1).astype(np.float32)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return np.asarray(shrink(image.convert("L")), dtype=np.float32) / 255.0
    # A digit covers a fraction of the canvas: crop to where anything is drawn before compositing
    # and shrinking, so every later step touches fewer pixels (the result is the same).
    factor = shrink_factor(image.size)
    rgba = image if image.mode == "RGBA" else image.convert("RGBA")
    rgba = rgba.crop(drawn_box(rgba, factor))
    alpha = rgba.getchannel("A")
    gray = rgba.convert("L")
    visible = np.asarray(alpha) >= 128  # "mostly opaque"
    stroke_level = float(np.asarray(gray)[visible].mean()) if visible.any() else 0.0
    background = Image.new("L", gray.size, 255 if stroke_level < 128 else 0)
    return np.asarray(shrink(Image.composite(gray, background, alpha), factor), dtype=np.float32) / 255.0


def has_orientation(image: Image.Image) -> bool:
    """Whether EXIF or XMP metadata asks for the image to be rotated or mirrored (a canvas PNG never does)."""
    if not any(key in image.info for key in METADATA_KEYS):
        return False
    return image.getexif().get(EXIF_ORIENTATION, 1) != 1


def drawn_box(rgba: Image.Image, grid: int) -> tuple[int, int, int, int]:
    """The box around every not fully transparent pixel of ``rgba``, grown by ``grid`` pixels of background.

    Its corners sit on multiples of ``grid`` (clamped to the image), so shrinking the crop by
    ``grid`` averages the same blocks as shrinking the whole image would: the result is the same
    pixels, minus the empty surroundings. A fully transparent image keeps its whole area.
    """
    width, height = rgba.size
    box = rgba.getbbox()  # where alpha > 0
    if box is None:
        return 0, 0, width, height
    grid = max(grid, 1)
    left, top, right, bottom = box
    return (
        max(0, (left - grid) // grid * grid),
        max(0, (top - grid) // grid * grid),
        min(width, -(-(right + grid) // grid) * grid),
        min(height, -(-(bottom + grid) // grid) * grid),
    )


def shrink_factor(size: tuple[int, int], smallest: int = WORKING_SIDE) -> int:
    """How many pixels ``shrink`` averages into one (1: the image is small enough as it is).

    The digit ends up 20 pixels tall, so a 280-pixel canvas (or a 560-pixel high-DPI one) carries
    far more pixels than the result needs; every later step then touches 4-25x fewer of them.
    """
    return max(1, min(size) // smallest)


def shrink(image: Image.Image, factor: int | None = None) -> Image.Image:
    """Box-average ``image`` by ``factor`` (default: ``shrink_factor`` of its own size)."""
    factor = shrink_factor(image.size) if factor is None else factor
    return image.reduce(factor) if factor >= 2 else image


def to_ink(gray: np.ndarray) -> np.ndarray:
    """Ink intensity in [0, 1] (1 = full ink) whatever the polarity: the border tells the background."""
    background = float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))
    ink = gray - background if background < 0.5 else background - gray
    contrast = float(ink.max())
    if contrast < MIN_CONTRAST:
        raise ImageError("empty_image", "The canvas is empty: draw a digit first.")
    return np.clip(ink / contrast, 0.0, 1.0).astype(np.float32)


def crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The smallest rectangle holding every pixel above ``INK_THRESHOLD``."""
    inked = ink > INK_THRESHOLD
    rows = np.flatnonzero(inked.any(axis=1))
    cols = np.flatnonzero(inked.any(axis=0))
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def fit_box(ink: np.ndarray, box: int = BOX) -> np.ndarray:
    """Scale so the longer side is ``box`` pixels, keeping the aspect ratio, with Lanczos anti-aliasing."""
    height, width = ink.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(Image.fromarray(ink, mode="F").resize(size, Image.Resampling.LANCZOS))
    resized = np.clip(resized, 0.0, None)  # Lanczos rings slightly below zero around strokes
    peak = float(resized.max())
    return resized / peak if peak > 0 else resized


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """Intensity-weighted mean (row, column) of ``image``.

    NumPy rather than ``scipy.ndimage.center_of_mass``: the same two weighted means, without adding
    SciPy (~140 MB) to the predictor's image.
    """
    total = float(image.sum())
    rows = float(image.sum(axis=1) @ np.arange(image.shape[0])) / total
    cols = float(image.sum(axis=0) @ np.arange(image.shape[1])) / total
    return rows, cols


def center_by_mass(digit: np.ndarray, side: int = SIDE, center: float = CENTER) -> np.ndarray:
    """Place ``digit`` in a ``side`` x ``side`` field with its centre of mass on ``center`` (whole pixels)."""
    com_row, com_col = center_of_mass(digit)
    height, width = digit.shape
    top = min(max(round(center - com_row), 0), side - height)
    left = min(max(round(center - com_col), 0), side - width)
    field = np.zeros((side, side), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return field


def mnist_style(image: Image.Image) -> np.ndarray:
    """The whole pipeline: a 28x28 float32 array in [0, 1], white digit on black, MNIST-centred."""
    try:
        gray = to_gray(image)
    except (OSError, ValueError) as exc:  # modes Pillow cannot convert, data damaged past the header
        raise ImageError("invalid_image", f"The image could not be processed: {exc}.") from exc
    return mnist_style_from_gray(gray)


def mnist_style_from_gray(gray: np.ndarray) -> np.ndarray:
    """The pipeline after ``to_gray``: polarity, crop to the ink, fit 20x20, centre by mass in 28x28."""
    return center_by_mass(fit_box(crop_to_ink(to_ink(gray))))


def to_png(digit: np.ndarray) -> bytes:
    """The 28x28 array as a PNG (what the model saw), for debugging and the web page."""
    buffer = io.BytesIO()
    Image.fromarray((np.clip(digit, 0, 1) * 255).round().astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
