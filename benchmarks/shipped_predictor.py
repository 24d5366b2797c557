"""The predictor on the host as its image runs it, for benchmarks.

``tests.services.predictor_server`` starts gunicorn with test settings (one worker, the registry
polled every second); a benchmark wants the predictor's own defaults (``predictor/settings.py``)
and the image's zlib. The image puts zlib-ng's drop-in ``libz.so.1`` first on
``LD_LIBRARY_PATH`` (see ``predictor/build-zlib-ng.sh`` for why); a benchmark builds the same
library once into ``.cache/zlib-ng`` (needs gcc and make), unless told ``--system-zlib``.

The interpreter is the one running the benchmark. The image's CPython is built with PGO and LTO;
run serving benchmarks from ``make bench-venv``'s ``.venv-bench`` (Debian's python3.11, built the
same way) rather than from a pyenv build, which runs the predictor's Python ~10 % slower.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from predictor.settings import load_settings  # noqa: E402 - after the path set-up above

BUILD_SCRIPT = REPO_ROOT / "predictor" / "build-zlib-ng.sh"
DEFAULT_DIR = REPO_ROOT / ".cache" / "zlib-ng"


def add_zlib_arguments(parser: argparse.ArgumentParser) -> None:
    """``--zlib-ng DIR`` (where the library is built/kept) and ``--system-zlib`` (do without it)."""
    parser.add_argument("--zlib-ng", type=Path, default=DEFAULT_DIR, help="folder of zlib-ng's libz.so.1 "
                        "(built there with predictor/build-zlib-ng.sh when missing)")  # fmt: skip
    parser.add_argument("--system-zlib", action="store_true", help="run the predictor with the system zlib")


def shipped_env(args: argparse.Namespace) -> dict[str, str]:
    """``extra_env`` for ``predictor_server``: the predictor as shipped.

    Its default workers and registry polling, and the image's zlib (the system's with ``--system-zlib``).
    """
    defaults = load_settings({})
    env = {"GUNICORN_WORKERS": str(defaults.workers), "MODEL_POLL_SECONDS": str(defaults.poll_seconds),
           "MODEL_RETRY_MAX_SECONDS": str(defaults.retry_max_seconds)}  # fmt: skip
    if args.system_zlib:
        return env
    folder = args.zlib_ng.resolve()
    if not (folder / "libz.so.1").is_file():
        build_env = {**os.environ, "PYTHON": sys.executable}
        if subprocess.run(["sh", str(BUILD_SCRIPT), str(folder)], env=build_env).returncode != 0:
            sys.exit("building zlib-ng failed (it needs gcc and make); or pass --system-zlib")
    library_path = os.pathsep.join(filter(None, [str(folder), os.environ.get("LD_LIBRARY_PATH")]))
    return {**env, "LD_LIBRARY_PATH": library_path}


def loaded_zlib(extra_env: dict[str, str]) -> str:
    """The zlib version Pillow loads in a Python started with ``extra_env``."""
    code = "from PIL import features; print(features.version('zlib'))"
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, **extra_env},
                            capture_output=True, text=True, check=True)  # fmt: skip
    return result.stdout.strip()


def runtime(extra_env: dict[str, str]) -> str:
    """What the predictor runs on, for a benchmark's header: the interpreter and Pillow's zlib."""
    interpreter = os.path.realpath(sys.executable)
    return f"Python {platform.python_version()} ({interpreter}), zlib {loaded_zlib(extra_env)}"
