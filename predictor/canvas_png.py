"""Read the PNG a browser canvas exports (8-bit RGBA) with libspng instead of Pillow's decoder.

Why: Pillow undoes PNG's per-row filters a byte at a time (its "Up" loop does not vectorise), which
was about half the CPU of reading a 280x280 canvas; libspng (through ``pyspng``) decodes the same
file ~3x faster, pixel for pixel the same. Everything else (other formats, modes, bit depths,
animated PNGs, and any file libspng refuses) still goes through Pillow.

pyspng carries its own zlib 1.2.11, linked in statically but with its symbols exported: the dynamic
linker binds its calls to a ``libz.so.1`` in the process's global scope when there is one, else to
that old copy, which inflates a canvas ~15x slower than zlib-ng (see ``build-zlib-ng.sh``). Whether
the interpreter puts ``libz.so.1`` there depends on how it was built (Debian's python3.11 does; the
official images' and pyenv's do not), so ``share_process_zlib`` does it explicitly: pyspng then
inflates with the same zlib as Pillow and Python, zlib-ng in the image.
"""

from __future__ import annotations

import contextlib
import ctypes
import os

from PIL import Image, PngImagePlugin

ZLIB_SONAME = "libz.so.1"


def share_process_zlib() -> None:
    """Put the process's ``libz.so.1`` in the global symbol scope (nothing to do where there is none: not Linux)."""
    # dlopen returns the copy already loaded (by Pillow or Python's zlib module) or finds the one they
    # would load (LD_LIBRARY_PATH first), and RTLD_GLOBAL promotes it to the global scope.
    with contextlib.suppress(OSError):
        ctypes.CDLL(ZLIB_SONAME, mode=os.RTLD_GLOBAL)


share_process_zlib()  # before pyspng's library is loaded, so that its zlib calls bind to this one
import pyspng  # noqa: E402 - must come after share_process_zlib()


def is_canvas_png(image: Image.Image) -> bool:
    """Whether ``image`` (opened, not yet loaded) is a still 8-bit RGBA PNG, as canvases export."""
    return (
        isinstance(image, PngImagePlugin.PngImageFile)
        and image.mode == "RGBA"
        and image.png is not None
        and image.png.im_rawmode == "RGBA"  # 8 bits per channel ("RGBA;16B" for 16)
        and not image.is_animated
    )


def load_canvas_png(image: Image.Image, data: bytes) -> Image.Image | None:
    """``image`` (opened by Pillow from ``data``, not loaded) decoded by libspng when it is a canvas PNG.

    None when it is not, or when libspng refuses it: libspng is stricter than Pillow about damaged
    files (one cut short after its last row of pixels, say), and falling back keeps every image
    Pillow reads readable.
    The result shares libspng's array (no copy) and keeps the file's metadata (``info``).
    """
    if not is_canvas_png(image):
        return None
    try:
        pixels = pyspng.load(data, format="RGBA")
    except RuntimeError:
        return None
    decoded = Image.fromarray(pixels)
    decoded.info = image.info
    return decoded
