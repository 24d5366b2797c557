"""Accuracy on drawn digits: the predictor's MNIST-style preprocessing against a plain resize.

MNIST test digits are re-drawn as canvas drawings (``tests/drawing.py``: uniform pen strokes of
random width, random size and position, four canvas styles), encoded as PNG, decoded and read by
the served ONNX model through both pipelines:

    python benchmarks/drawn_digits.py --tracking-uri http://localhost:5000   # the production model
    python benchmarks/drawn_digits.py --onnx model.onnx --count 2000 --seed 0

It prints a Markdown table and, with ``--sheet FILE``, saves a PNG of misread drawings.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devkit.drawing import STYLES, plain_resize, redraw  # noqa: E402 - after the path set-up above
from predictor import preprocess  # noqa: E402
from predictor.model_store import LoadedModel, ModelCache, ModelInfo, Registry, load_onnx  # noqa: E402
from predictor.settings import PredictorSettings  # noqa: E402


def load_model(args: argparse.Namespace) -> LoadedModel:
    """The ONNX model from a file, or the one the registry alias points at."""
    info = ModelInfo("local", "-", "-", "-", "-")
    if args.onnx:
        return load_onnx(Path(args.onnx), info)
    settings = PredictorSettings(mlflow_tracking_uri=args.tracking_uri, model_cache_dir=Path(args.cache))
    registry = Registry(settings)
    return registry.load(registry.current(), ModelCache(Path(args.cache) / "current"))


def main() -> int:
    """Generate the drawings, score both pipelines, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", help="an ONNX model file (else: the registry's alias)")
    parser.add_argument("--tracking-uri", default="http://localhost:5000", help="where the registered model is")
    parser.add_argument("--cache", default="/tmp/drawn-digits-model", help="where the downloaded model goes")
    parser.add_argument("--mnist-path", default=str(REPO_ROOT.parent / "shared/data/mnist.npz"))
    parser.add_argument("--count", type=int, default=2000, help="drawings (taken from the MNIST test set)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sheet", help="save misread drawings to this PNG")
    args = parser.parse_args()

    model = load_model(args)
    with np.load(args.mnist_path) as data:
        digits, labels = data["x_test"][: args.count], data["y_test"][: args.count]
    rng = np.random.default_rng(args.seed)
    styles, mnist_inputs, plain_inputs, drawings = [], [], [], []
    for digit in digits:
        style = str(rng.choice(STYLES))
        png = io.BytesIO()
        redraw(digit, rng, style=style).save(png, format="PNG")
        image = preprocess.decode(png.getvalue(), max_pixels=16_000_000)
        styles.append(style)
        drawings.append(image)
        mnist_inputs.append(preprocess.mnist_style(image))
        plain_inputs.append(plain_resize(image))
    mnist_pred = model.predict(np.stack(mnist_inputs)[..., None]).argmax(axis=1)
    plain_pred = model.predict(np.stack(plain_inputs)[..., None]).argmax(axis=1)
    styles = np.array(styles)

    print(f"\n{args.count} drawn digits (seed {args.seed}), model {model.info.name} v{model.info.version}\n")
    print("| drawings | MNIST-style preprocessing | plain resize to 28x28 |")
    print("|---|---|---|")
    for name, mask in [("all", np.ones(len(labels), bool))] + [(s, styles == s) for s in STYLES]:
        mnist_acc = (mnist_pred[mask] == labels[mask]).mean() * 100
        plain_acc = (plain_pred[mask] == labels[mask]).mean() * 100
        print(f"| {name} ({mask.sum()}) | {mnist_acc:.1f} % | {plain_acc:.1f} % |")
    if args.sheet:
        wrong = np.flatnonzero(mnist_pred != labels)[:40]
        save_sheet(args.sheet, [drawings[i] for i in wrong], [f"{labels[i]} read as {mnist_pred[i]}" for i in wrong])
        print(f"\n{len(np.flatnonzero(mnist_pred != labels))} misread; the first {len(wrong)} are in {args.sheet}")
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
