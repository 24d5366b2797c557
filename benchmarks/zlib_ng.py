"""The predictor image's zlib on the host: benchmarks run the predictor with the same libz.so.1.

The image puts zlib-ng's drop-in ``libz.so.1`` first on ``LD_LIBRARY_PATH`` (see
``predictor/build-zlib-ng.sh`` for why). A benchmark of the predictor on the host builds the same
library once into ``.cache/zlib-ng`` (needs gcc and make) and starts gunicorn with it, unless told
``--system-zlib`` to measure without it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = REPO_ROOT / "predictor" / "build-zlib-ng.sh"
DEFAULT_DIR = REPO_ROOT / ".cache" / "zlib-ng"


def add_zlib_arguments(parser: argparse.ArgumentParser) -> None:
    """``--zlib-ng DIR`` (where the library is built/kept) and ``--system-zlib`` (do without it)."""
    parser.add_argument("--zlib-ng", type=Path, default=DEFAULT_DIR, help="folder of zlib-ng's libz.so.1 "
                        "(built there with predictor/build-zlib-ng.sh when missing)")  # fmt: skip
    parser.add_argument("--system-zlib", action="store_true", help="run the predictor with the system zlib")


def predictor_library_env(args: argparse.Namespace) -> dict[str, str]:
    """Environment additions that give the predictor the image's zlib (empty with ``--system-zlib``)."""
    if args.system_zlib:
        return {}
    folder = args.zlib_ng.resolve()
    if not (folder / "libz.so.1").is_file():
        env = {**os.environ, "PYTHON": sys.executable}
        if subprocess.run(["sh", str(BUILD_SCRIPT), str(folder)], env=env).returncode != 0:
            sys.exit("building zlib-ng failed (it needs gcc and make); or pass --system-zlib")
    return {"LD_LIBRARY_PATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("LD_LIBRARY_PATH")]))}


def loaded_zlib(extra_env: dict[str, str]) -> str:
    """The zlib version Pillow loads in a Python started with ``extra_env``."""
    code = "from PIL import features; print(features.version('zlib'))"
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, **extra_env},
                            capture_output=True, text=True, check=True)  # fmt: skip
    return result.stdout.strip()
