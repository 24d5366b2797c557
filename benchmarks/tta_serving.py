r"""What test-time augmentation gains and costs: the predictor with it off and on, each behind the page's nginx.

Two predictors serve the same registered ``Mnist_Best_Model@production`` under gunicorn with the
shipped defaults, one with ``TEST_TIME_AUGMENTATION=true`` (``predictor/views.py``), each behind
the frontend's own nginx configuration (``/api/`` proxied), so every request takes the path a
person's drawing takes. Measured on both:

- what they read: UJI's 1,200 real pens and the bug-report drawings, sent as PNGs to ``/api/predict``;
  MNIST test read in-process by the same ONNX model, as drawn and averaged over the same views
  (the trainer's figure and what it would be with the views);
- what they cost: ``wrk`` on ``/api/predict`` at each ``--concurrency``, alternating between the
  two for ``--rounds`` rounds (medians of requests/s, p50 and p99).

    .venv/bin/python benchmarks/tta_serving.py --tracking-uri sqlite:////tmp/store/mlflow.db \
        --mnist-path path/to/mnist.npz --misread-folder path/to/bug-reports/misread
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.drawn_digits import load_model  # noqa: E402 - after the path set-up above
from benchmarks.real_pens import bug_report_drawings, read  # noqa: E402
from devkit.drawing import SEVEN, png_bytes, stroke_digit  # noqa: E402
from devkit.load import require, run_wrk  # noqa: E402
from devkit.nginx import nginx_server  # noqa: E402
from devkit.predictor_server import predictor_server, shipped_predictor_env  # noqa: E402
from devkit.processes import http_ok, wait_until  # noqa: E402
from predictor.served_model import LoadedModel  # noqa: E402
from predictor.views import VIEW_COUNT, views  # noqa: E402
from trainer.data import load_raw  # noqa: E402
from trainer.datagen.real_pens import canvas_drawings, load_pen_digits  # noqa: E402

SETUPS = {"as drawn": "false", "7 views": "true"}


@contextlib.contextmanager
def stacks(tracking_uri: str, folder: Path):
    """Name -> the ``/api`` URL of a predictor behind nginx, one per setup."""
    with contextlib.ExitStack() as started:
        urls = {}
        for index, (name, augmented) in enumerate(SETUPS.items()):
            env = {**shipped_predictor_env(), "TEST_TIME_AUGMENTATION": augmented}
            part = folder / f"stack-{index}"
            predictor_url, process, _ = started.enter_context(
                predictor_server(tracking_uri, part / "cache", folder / f"predictor-{index}.log", extra_env=env)
            )
            wait_until(http_ok(f"{predictor_url}/ready"), 120, f"predictor ({name})", process)
            site = started.enter_context(nginx_server(part / "nginx", predictor_url.removeprefix("http://")))
            urls[name] = f"{site}/api"
        yield urls


def accuracy_through(url: str, images: list[Image.Image], labels: np.ndarray) -> float:
    """Share of ``images`` the stack at ``url`` reads as their label (sent as ``real_pens.py --api`` sends them)."""
    return float((read(images, argparse.Namespace(api=f"{url}/predict")) == labels).mean())


def mnist_test(model: LoadedModel, mnist_path: Path | None) -> dict[str, float]:
    """MNIST test read by ``model`` as drawn and averaged over the views."""
    _, (digits, labels), _ = load_raw(mnist_path)
    digits = digits.astype(np.float32) / 255.0
    plain = model.predict(digits[..., None]).argmax(axis=1)
    every_view = np.concatenate([views(digit) for digit in digits])  # VIEW_COUNT rows per digit, in order
    averaged = model.predict(every_view[..., None]).reshape(len(digits), VIEW_COUNT, -1).mean(axis=1).argmax(axis=1)
    return {"as drawn": float((plain == labels).mean()), "7 views": float((averaged == labels).mean())}


def main() -> int:
    """Start both stacks, measure what they read and how fast, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default="http://localhost:5000", help="where the registered model is")
    parser.add_argument("--mnist-path", type=Path, help="Keras mnist.npz (default: download it as the trainer does)")
    parser.add_argument("--misread-folder", type=Path, required=True, help="the bug-report drawings")
    parser.add_argument("--seconds", type=int, default=8, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="times each cell is measured (median reported)")
    parser.add_argument("--concurrency", default="1,8")
    args = parser.parse_args()
    require("wrk", "wrk")
    if not args.misread_folder.is_dir():
        parser.error(f"--misread-folder {args.misread_folder} is not a folder")

    pens = load_pen_digits()
    pen_images, pen_labels = [image for image, _ in canvas_drawings(pens)], np.array([d.label for d in pens])
    bug_images, bug_labels, _ = bug_report_drawings(args.misread_folder)
    model = load_model(argparse.Namespace(onnx=None, tracking_uri=args.tracking_uri, cache=tempfile.mkdtemp()))
    mnist = mnist_test(model, args.mnist_path)
    levels = [int(level) for level in args.concurrency.split(",")]
    with tempfile.TemporaryDirectory() as scratch, stacks(args.tracking_uri, Path(scratch)) as urls:
        read = {
            name: (accuracy_through(url, pen_images, pen_labels), accuracy_through(url, bug_images, bug_labels))
            for name, url in urls.items()
        }
        body = Path(scratch) / "canvas.png"
        body.write_bytes(png_bytes(stroke_digit(SEVEN, style="dark_on_transparent")))
        runs: dict[tuple[str, int], list[dict]] = {(name, level): [] for name in urls for level in levels}
        for _ in range(args.rounds):  # interleaved: a slow spell of a shared machine hits both alike
            for level in levels:
                for name, url in urls.items():
                    runs[name, level].append(
                        run_wrk(f"{url}/predict", body, "image/png", level, args.seconds, Path(scratch))
                    )

    print(f"\nModel {model.info.name} v{model.info.version}, {os.cpu_count()} cores, through nginx\n")
    print(f"| reading | MNIST test (10,000) | real pens (UJI, {len(pen_labels)}) | bug report ({len(bug_labels)}) |")
    print("|---|---|---|---|")
    for name in SETUPS:
        pens_read, bugs_read = read[name]
        print(f"| {name} | {mnist[name] * 100:.2f} % | {pens_read * 100:.2f} % | {bugs_read * 100:.1f} % |")
    print(f"\nwrk {args.seconds} s per cell, median of {args.rounds} interleaved rounds\n")
    print("| reading | concurrency | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|")
    for name in SETUPS:
        for level in levels:
            cell = runs[name, level]
            rps, p50, p99 = (statistics.median(run[key] for run in cell) for key in ("rps", "p50", "p99"))
            errors = sum(run["errors"] for run in cell)
            print(f"| {name} | {level} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {errors} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
