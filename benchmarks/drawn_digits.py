"""Accuracy on drawn digits, per writing style and per digit: the predictor's preprocessing against a plain resize.

The drawings are the drawn-digit evaluation set (``trainer/datagen/handwriting.py``: pen strokes of the
evaluation allographs, a share of them written fast, plus MNIST's own writers re-traced, on a
280-pixel canvas in the page's four styles), made afresh from the same seeds. Each is encoded as
PNG, decoded and read by the served ONNX model through both pipelines; with ``--api`` the PNGs go
to a running stack's ``/api/predict`` instead, the path a person's drawing takes:

    python benchmarks/drawn_digits.py --tracking-uri http://localhost:5000   # the production model
    python benchmarks/drawn_digits.py --onnx model.onnx --count 1000
    python benchmarks/drawn_digits.py --api http://localhost/api/predict

It prints Markdown tables and, with ``--sheet FILE``, saves a PNG of misread drawings.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import requests
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devkit.drawing import plain_resize, png_bytes  # noqa: E402 - after the path set-up above
from predictor import preprocess  # noqa: E402
from predictor.model_cache import ModelCache  # noqa: E402
from predictor.registry import Registry  # noqa: E402
from predictor.served_model import LoadedModel, ModelInfo, load_onnx  # noqa: E402
from predictor.settings import PredictorSettings  # noqa: E402
from trainer.datagen.handwriting import Drawing, evaluation_drawings  # noqa: E402


def load_model(args: argparse.Namespace) -> LoadedModel:
    """The ONNX model from a file, or the one the registry alias points at."""
    info = ModelInfo("local", "-", "-", "-", "-")
    if args.onnx:
        return load_onnx(Path(args.onnx), info)
    settings = PredictorSettings(mlflow_tracking_uri=args.tracking_uri, model_cache_dir=Path(args.cache))
    registry = Registry(settings)
    return registry.load(registry.current(), ModelCache(Path(args.cache) / "current"))


def read_locally(model: LoadedModel, drawings: list[Drawing]) -> tuple[np.ndarray, np.ndarray]:
    """Digits read through the predictor's preprocessing and through a plain resize, same model."""
    images = [preprocess.decode(png_bytes(d.image), max_pixels=16_000_000) for d in drawings]
    mnist = model.predict(np.stack([preprocess.mnist_style(image) for image in images])[..., None])
    plain = model.predict(np.stack([plain_resize(image) for image in images])[..., None])
    return mnist.argmax(axis=1), plain.argmax(axis=1)


def read_through_api(url: str, drawings: list[Drawing]) -> np.ndarray:
    """Digits the running stack answers for the drawings' PNGs."""
    with requests.Session() as session:
        answers = []
        for drawing in drawings:
            response = session.post(
                url, files={"image": ("digit.png", png_bytes(drawing.image), "image/png")}, timeout=30
            )
            response.raise_for_status()
            answers.append(response.json()["digit"])
    return np.array(answers)


def table(title: str, groups: list[tuple[str, np.ndarray]], labels: np.ndarray, columns: dict[str, np.ndarray]) -> str:
    """A Markdown table: one row per group, one accuracy column per pipeline."""
    lines = [f"| {title} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name, mask in groups:
        cells = [f"{(predicted[mask] == labels[mask]).mean() * 100:.1f} %" for predicted in columns.values()]
        lines.append(f"| {name} ({mask.sum()}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    """Draw the evaluation set, read it, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", help="an ONNX model file (else: the registry's alias)")
    parser.add_argument("--tracking-uri", default="http://localhost:5000", help="where the registered model is")
    parser.add_argument("--cache", default="/tmp/drawn-digits-model", help="where the downloaded model goes")
    parser.add_argument("--api", help="send the drawings to this /api/predict URL instead of reading them here")
    parser.add_argument("--count", type=int, default=0, help="the first N drawings of the set (0: all 3,000)")
    parser.add_argument("--sheet", help="save misread drawings to this PNG")
    parser.add_argument("--mnist-path", type=Path, help="mnist.npz for the MNIST writers (default: Keras' download)")
    args = parser.parse_args()

    drawings = evaluation_drawings(args.mnist_path)
    if args.count:
        drawings = drawings[: args.count]
    labels = np.array([d.label for d in drawings])
    styles = np.array([f"{d.label} {d.allograph}" for d in drawings])
    if args.api:
        predicted = read_through_api(args.api, drawings)
        columns = {"through the stack": predicted}
        print(f"\n{len(drawings)} drawn digits sent to {args.api}\n")
    else:
        model = load_model(args)
        predicted, plain = read_locally(model, drawings)
        columns = {"MNIST-style preprocessing": predicted, "plain resize to 28x28": plain}
        print(f"\n{len(drawings)} drawn digits, model {model.info.name} v{model.info.version}\n")

    everything = [("all", np.ones(len(labels), bool))]
    print(table("drawings", everything + [(d, labels == int(d)) for d in "0123456789"], labels, columns))
    print()
    print(table("digit and style", [(s, styles == s) for s in sorted(set(styles))], labels, columns))
    print()
    fast = np.array([d.fast for d in drawings])
    authored = np.array([d.allograph != "mnist_writer" for d in drawings])
    pace = [("smooth strokes", authored & ~fast), ("fast strokes (straight segments)", authored & fast)]
    print(table("evaluation allographs, written", pace, labels, columns))
    wrong = np.flatnonzero(predicted != labels)
    confusions = Counter(f"{labels[i]} read as {predicted[i]}" for i in wrong).most_common(8)
    print("\nMost frequent confusions: " + ", ".join(f"{name} ({count})" for name, count in confusions))
    if args.sheet:
        shown = wrong[:40]
        save_sheet(
            args.sheet, [drawings[i].image for i in shown], [f"{labels[i]} read as {predicted[i]}" for i in shown]
        )
        print(f"{len(wrong)} misread; the first {len(shown)} are in {args.sheet}")
    return 0


def save_sheet(path: str, images: list[Image.Image], captions: list[str]) -> None:
    """A grid of small drawings with their captions (true digit, predicted digit)."""
    from PIL import ImageDraw

    side, columns = 112, 8
    rows = max(1, -(-len(images) // columns))
    sheet = Image.new("RGB", (side * columns, (side + 16) * rows), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (image, caption) in enumerate(zip(images, captions, strict=True)):
        tile = Image.new("RGBA", image.size, (210, 225, 240, 255))
        tile.alpha_composite(image.convert("RGBA"))
        x, y = (index % columns) * side, (index // columns) * (side + 16)
        sheet.paste(tile.convert("RGB").resize((side - 4, side - 4)), (x + 2, y + 2))
        draw.text((x + 4, y + side), caption, fill="black")
    sheet.save(path)


if __name__ == "__main__":
    sys.exit(main())
