"""Hypothesis strategies for bad and odd ``/predict`` requests: what people and programs really send.

Each example is a ``Probe``: the bytes of a request body, its content type and how it is framed
(raw body, multipart field, or JSON with a data URL / base64 string).
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from PIL import Image

FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
# The modes each format can store (Pillow's writers).
MODES = {
    "PNG": ("1", "L", "LA", "P", "RGB", "RGBA", "I;16"),
    "JPEG": ("L", "RGB", "CMYK"),
    "WEBP": ("RGB", "RGBA"),
    "GIF": ("L", "P"),
    "BMP": ("1", "L", "P", "RGB"),
}
WRONG_CONTENT_TYPES = [
    "text/plain",
    "application/octet-stream",
    "application/xml",
    "",
    "image/svg+xml",
    "image/tiff",
    "multipart/form-data",
    "application/x-www-form-urlencoded",
    "image/png; charset=utf-8",
]
BROKEN_DATA_URL_HEADS = [
    "data:",
    "data:image/png,",
    "data:image/png;base64",
    "data:text/plain;base64,",
    "data:;base64,",
    "data:image/png;base64,,",
]
BASE64_ISH = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=%, "
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif", "BMP": "image/bmp"}


@dataclass(frozen=True)
class Probe:
    """One request: ``kind`` says what it tests (shown when a check fails)."""

    kind: str
    body: bytes
    content_type: str
    framing: str = "raw"  # raw | multipart | json

    def request_kwargs(self) -> dict:
        """Keyword arguments for ``requests.post``."""
        if self.framing == "multipart":
            return {"files": {"image": ("drawing", self.body, self.content_type)}}
        return {"data": self.body, "headers": {"Content-Type": self.content_type}}


def _picture(draw: st.DrawFn, mode: str, width: int, height: int) -> Image.Image:
    """Blank, noise, or a thick stroke, in ``mode``."""
    content = draw(st.sampled_from(["blank", "noise", "stroke"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if content == "noise":
        pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
        image = Image.fromarray(pixels, "RGBA")
    else:
        image = Image.new("RGBA", (width, height), (255, 255, 255, 0 if draw(st.booleans()) else 255))
        if content == "stroke":
            from PIL import ImageDraw

            pen = ImageDraw.Draw(image)
            points = [(int(rng.integers(0, width)), int(rng.integers(0, height))) for _ in range(3)]
            pen.line(points, fill=(0, 0, 0, 255), width=max(1, min(width, height) // 8))
    if mode == "I;16":
        return image.convert("L").convert(mode)
    if mode == "P" and draw(st.booleans()):
        paletted = image.convert("P")
        paletted.info["transparency"] = 0
        return paletted
    return image.convert(mode)


@st.composite
def encoded_image(draw: st.DrawFn, max_side: int = 300) -> tuple[str, bytes]:
    """A real image file in any supported format and mode, 1x1 up to ``max_side`` pixels."""
    fmt = draw(st.sampled_from(FORMATS))
    mode = draw(st.sampled_from(MODES[fmt]))
    width, height = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    image = _picture(draw, mode, width, height)
    buffer = io.BytesIO()
    options: dict = {}
    if fmt == "JPEG" and draw(st.booleans()):
        exif = Image.Exif()
        exif[0x0112] = draw(st.sampled_from([1, 3, 6, 8]))  # EXIF orientation: as shot, 180, 90, 270
        options["exif"] = exif
    if fmt == "GIF" and draw(st.booleans()):
        frames = [image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
        options.update(save_all=True, append_images=frames[1:], duration=100, loop=0)  # animated
    image.save(buffer, format=fmt, **options)
    return fmt, buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_header_only(width: int, height: int, bit_depth: int = 8, color_type: int = 0) -> bytes:
    """A PNG that claims ``width`` x ``height`` but carries (almost) no pixel data."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def png_bomb(side: int) -> bytes:
    """A real decompression bomb: a ``side`` x ``side`` 1-bit black PNG, a few KB compressed."""
    row = b"\x00" + b"\x00" * ((side + 7) // 8)
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    pixels = zlib.compress(row * side, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


@st.composite
def well_formed(draw: st.DrawFn) -> Probe:
    """A real image, framed any of the three ways the API accepts (and odd sizes, modes, EXIF, frames)."""
    fmt, data = draw(encoded_image())
    framing = draw(st.sampled_from(["raw", "multipart", "json"]))
    if framing == "json":
        text = base64.b64encode(data).decode()
        if draw(st.booleans()):
            text = f"data:{CONTENT_TYPES[fmt]};base64,{text}"
        return Probe(f"{fmt} as JSON", json.dumps({"image": text}).encode(), "application/json", "json")
    return Probe(f"{fmt} {framing}", data, CONTENT_TYPES[fmt], framing)


@st.composite
def damaged(draw: st.DrawFn) -> Probe:
    """A real image cut short, or with bytes overwritten."""
    fmt, data = draw(encoded_image(max_side=120))
    if draw(st.booleans()):
        cut = draw(st.integers(0, max(0, len(data) - 1)))
        return Probe(f"truncated {fmt} at {cut}/{len(data)}", data[:cut], CONTENT_TYPES[fmt])
    corrupt = bytearray(data)
    for _ in range(draw(st.integers(1, 16))):
        corrupt[draw(st.integers(0, len(corrupt) - 1))] = draw(st.integers(0, 255))
    return Probe(f"corrupt {fmt}", bytes(corrupt), CONTENT_TYPES[fmt], draw(st.sampled_from(["raw", "multipart"])))


@st.composite
def oversized(draw: st.DrawFn) -> Probe:
    """Images whose pixel count is far over the limit: header-only giants and real bombs."""
    if draw(st.booleans()):
        side = draw(st.sampled_from([20000, 65535, 4097 * 4]))
        return Probe(f"PNG header {side}x{side}", png_header_only(side, side), "image/png")
    side = draw(st.sampled_from([5000, 8000, 20000]))
    return Probe(f"PNG bomb {side}x{side}", png_bomb(side), "image/png", draw(st.sampled_from(["raw", "multipart"])))


@st.composite
def wrong_wrapping(draw: st.DrawFn) -> Probe:
    """Wrong content types, broken base64 and data URLs, JSON of the wrong shape, non-UTF-8 text."""
    choice = draw(st.sampled_from(["content_type", "base64", "data_url", "json_shape", "non_utf8", "raw_bytes"]))
    if choice == "content_type":
        _fmt, data = draw(encoded_image(max_side=60))
        content_type = draw(st.sampled_from(WRONG_CONTENT_TYPES))
        return Probe(f"content type {content_type!r}", data, content_type)
    if choice == "base64":
        text = draw(st.text(min_size=0, max_size=200))
        return Probe("broken base64", json.dumps({"image": text}).encode(), "application/json", "json")
    if choice == "data_url":
        head = draw(st.sampled_from(BROKEN_DATA_URL_HEADS))
        tail = draw(st.text(alphabet=BASE64_ISH, max_size=80))
        return Probe("broken data URL", json.dumps({"image": head + tail}).encode(), "application/json", "json")
    if choice == "json_shape":
        value = draw(JSON_VALUES)
        shape = draw(st.sampled_from(["bare", "image", "text"]))
        body = {"bare": value, "image": {"image": value}}.get(shape, value)
        raw = json.dumps(body).encode() if shape != "text" else str(value).encode()
        return Probe(f"JSON {shape}", raw, "application/json", "json")
    if choice == "non_utf8":
        raw = draw(st.binary(min_size=1, max_size=200))
        return Probe("non-UTF-8 JSON", b'{"image": "' + raw + b'"}', "application/json; charset=utf-8", "json")
    return Probe("random bytes", draw(st.binary(max_size=400)), draw(st.sampled_from(list(CONTENT_TYPES.values()))))


def probes() -> st.SearchStrategy[Probe]:
    """Every kind of request above, mixed."""
    return st.one_of(well_formed(), damaged(), oversized(), wrong_wrapping())


def huge_json(size: int) -> Probe:
    """A JSON body of ``size`` bytes (over the body limit when ``size`` is)."""
    padding = "A" * max(0, size - 14)
    return Probe(f"JSON of {size} bytes", ('{"image": "' + padding + '"}').encode(), "application/json", "json")
