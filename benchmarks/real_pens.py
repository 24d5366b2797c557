"""Real people's pen-drawn digits, read by a registered model or by the running stack.

The digits are UJI Pen Characters v2's (1,200 by 60 writers; ``trainer/datagen/real_pens.py``), drawn on the
page's canvas as the shipped set draws them, encoded as PNG and read by the production model's
ONNX copy through the predictor's own preprocessing; with ``--api`` the PNGs go to a running
stack's ``/api/predict`` instead, the path a person's drawing takes. With ``--misread-folder`` it
also reads a folder of bug-report drawings (PNG files named ``N-written-D-read-as-R-K.png``), a
regression check on forms people write: they are never training data.

    python benchmarks/real_pens.py --tracking-uri http://localhost:5000      # the production model
    python benchmarks/real_pens.py --api http://localhost/api/predict --sheet misread.png
    python benchmarks/real_pens.py --onnx model.onnx --misread-folder path/to/misread

It prints Markdown tables: accuracy per digit and per writer, the confusions, and per bug-report
form; with ``--sheet FILE`` it saves a PNG of the misread drawings.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.drawn_digits import load_model, save_sheet  # noqa: E402 - after the path set-up above
from devkit.drawing import png_bytes  # noqa: E402
from predictor import preprocess  # noqa: E402
from trainer.datagen.real_pens import canvas_drawings, load_pen_digits  # noqa: E402

BUG_REPORT_NAME = re.compile(r"(?P<form>\d+)-written-(?P<digit>\d)-read-as-\d-\d+\.png")


def read(images: list[Image.Image], args: argparse.Namespace) -> np.ndarray:
    """The digits read in ``images``: by the model here, or by the stack at ``--api``."""
    if args.api:
        import requests

        with requests.Session() as session:
            answers = []
            for image in images:
                sent = {"image": ("digit.png", png_bytes(image), "image/png")}
                response = session.post(args.api, files=sent, timeout=30)
                response.raise_for_status()
                answers.append(response.json()["digit"])
        return np.array(answers)
    model = args.model
    decoded = [preprocess.decode(png_bytes(image), max_pixels=16_000_000) for image in images]
    return model.predict(np.stack([preprocess.mnist_style(image) for image in decoded])[..., None]).argmax(axis=1)


def accuracy_rows(name: str, groups: dict[str, np.ndarray], right: np.ndarray) -> list[str]:
    """A Markdown table: one row per group, its size and accuracy."""
    rows = [f"| {name} | digits | accuracy |", "|---|---|---|"]
    rows += [f"| {group} | {mask.sum()} | {right[mask].mean() * 100:.1f} % |" for group, mask in groups.items()]
    return rows


def bug_report_drawings(folder: Path) -> tuple[list[Image.Image], np.ndarray, np.ndarray]:
    """The bug-report drawings in ``folder``, the digits written and the form of each."""
    files = sorted(path for path in folder.glob("*.png") if BUG_REPORT_NAME.fullmatch(path.name))
    if not files:
        raise SystemExit(f"error: no bug-report drawings (N-written-D-read-as-R-K.png) in {folder}")
    names = [BUG_REPORT_NAME.fullmatch(path.name) for path in files]
    labels = np.array([int(name["digit"]) for name in names])
    forms = np.array([name["form"] for name in names])
    return [Image.open(path) for path in files], labels, forms


def bug_report(folder: Path, args: argparse.Namespace) -> list[str]:
    """The bug-report drawings in ``folder``: how many of each form are read right."""
    images, labels, forms = bug_report_drawings(folder)
    right = read(images, args) == labels
    groups = {f"form {form} (written {labels[forms == form][0]})": forms == form for form in sorted(set(forms))}
    groups["all"] = np.ones(len(images), bool)
    title = f"Bug-report drawings in {folder}: {right.sum()} of {len(images)} read right"
    return ["", title, "", *accuracy_rows("form", groups, right)]


def main() -> int:
    """Draw the real pens, read them, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", help="an ONNX model file (else: the registry's alias)")
    parser.add_argument("--tracking-uri", default="http://localhost:5000", help="where the registered model is")
    parser.add_argument("--cache", default="/tmp/real-pens-model", help="where the downloaded model goes")
    parser.add_argument("--api", help="send the drawings to this /api/predict URL instead of reading them here")
    parser.add_argument("--misread-folder", type=Path, help="also read the bug-report drawings in this folder")
    parser.add_argument("--sheet", help="save the misread real-pen drawings to this PNG")
    args = parser.parse_args()
    if args.misread_folder and not args.misread_folder.is_dir():
        parser.error(f"--misread-folder {args.misread_folder} is not a folder")

    digits = load_pen_digits()
    drawn = canvas_drawings(digits)
    labels = np.array([digit.label for digit in digits])
    writers = np.array([digit.writer for digit in digits])
    if not args.api:
        args.model = load_model(args)
    predicted = read([image for image, _ in drawn], args)
    right = predicted == labels
    source = args.api or f"model {args.model.info.name} v{args.model.info.version}"
    error = np.sqrt(right.mean() * (1 - right.mean()) / len(right))  # one standard error
    print(f"\n{len(digits)} real pen-drawn digits by {len(set(writers))} writers, read by {source}: ")
    print(f"**{right.mean() * 100:.2f} %** (± {error * 100:.2f} points)\n")
    print("\n".join(accuracy_rows("digit", {d: labels == int(d) for d in "0123456789"}, right)))
    by_writer = {writer: right[writers == writer].mean() for writer in sorted(set(writers))}
    weakest = sorted(by_writer, key=by_writer.get)[:10]
    print()
    print("\n".join(accuracy_rows("writer (the 10 weakest)", {w: writers == w for w in weakest}, right)))
    print(f"\nWriters with every digit read: {sum(v == 1 for v in by_writer.values())} of {len(by_writer)}")
    confusions = Counter(f"{labels[i]} read as {predicted[i]}" for i in np.flatnonzero(~right)).most_common(10)
    print("Most frequent confusions: " + (", ".join(f"{name} ({count})" for name, count in confusions) or "none"))
    if args.misread_folder:
        print("\n".join(bug_report(args.misread_folder, args)))
    if args.sheet:
        wrong = np.flatnonzero(~right)
        captions = [f"{labels[i]} read as {predicted[i]} ({writers[i]})" for i in wrong]
        save_sheet(args.sheet, [drawn[i][0] for i in wrong], captions)
        print(f"\n{len(wrong)} misread drawings in {args.sheet}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
