"""Measure one augmentation change at a time on run 3: MNIST test and the drawn-digit set.

Trains run 3 as shipped (``trainer.experiments.TUNED``: its architecture, schedule and canvas
augmentation, on MNIST plus the drawn writing styles) once per change, the change added after the
trainer's own augmentation in the same ``tf.data`` pipeline, and prints a Markdown table: MNIST
test, the drawn-digit set, and its evaluation allographs written smooth and fast. Nothing goes to
MLflow; each change is one seed, so differences under ~0.1 point on MNIST test and ~0.3 on the
drawn set are noise (docs/performance.md).

    python benchmarks/augmentation.py --mnist-path path/to/mnist.npz [--changes control,shear]

A change that helps moves into ``trainer/augment.py`` and ``trainer/experiments.py``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from trainer.augment import training_dataset  # noqa: E402
from trainer.datagen.handwriting import evaluation_drawings  # noqa: E402 - after the path set-up above
from trainer.experiments import TUNED  # noqa: E402
from trainer.models import build_model, learning_rate_for  # noqa: E402
from trainer.settings import TrainerSettings  # noqa: E402
from trainer.training_data import TrainingData, load_training_data  # noqa: E402

# A change: given the seed, what to do to each training batch (Keras' random layers augment when called).
Change = Callable[[int], Callable[[tf.Tensor], tf.Tensor]]


def thinner(seed: int) -> Callable[[tf.Tensor], tf.Tensor]:
    """Erode the strokes of a random 20 % of the images (2x2 grey erosion)."""

    def erode(batch: tf.Tensor) -> tf.Tensor:
        eroded = -tf.nn.max_pool2d(-batch, ksize=2, strides=1, padding="SAME")
        picked = tf.random.uniform([tf.shape(batch)[0], 1, 1, 1], seed=seed) < 0.2
        return tf.where(picked, eroded, batch)

    return erode


def elastic(seed: int) -> keras.layers.Layer:
    """Elastic distortion (Simard et al. 2003) of half the images, scale 1-3."""
    return keras.layers.RandomElasticTransform(
        factor=(0.5, 0.5), scale=(1.0, 3.0), fill_mode="constant", value_range=(0, 1), seed=seed
    )


def shear(factor: float) -> Change:
    """Horizontal shear up to ``factor`` either way (0.2: about 11 degrees)."""
    return lambda seed: keras.layers.RandomShear(x_factor=factor, fill_mode="constant", seed=seed)


# What each change adds to run 3's augmentation. Backgrounds are black (0) like MNIST's.
CHANGES: dict[str, tuple[str, Change | None]] = {
    "control": ("nothing more (control)", None),
    "elastic": ("elastic distortion (`RandomElasticTransform`, half the images, scale 1-3)", elastic),
    "shear": ("horizontal shear (`RandomShear(x_factor=0.2)`)", shear(0.2)),
    "light_shear": ("light horizontal shear (`RandomShear(x_factor=0.1)`)", shear(0.1)),
    "thinning": ("thinner strokes too (2x2 erosion on 20 %)", thinner),
}


def train_with(change: Change | None, data: TrainingData, epochs: int, seed: int) -> tuple[keras.Model, float]:
    """Run 3 trained with ``change`` after its own augmentation; the model and the training seconds."""
    keras.utils.set_random_seed(seed)
    config = TUNED
    x_train, y_train = data.x_train, data.y_train
    steps = math.ceil(len(x_train) / config.batch_size)
    model = build_model(config.architecture, learning_rate_for(config.learning_rate, config.lr_schedule, steps, epochs))
    dataset = training_dataset(x_train, y_train, config.batch_size, config.augmentation, seed)
    if change is not None:
        extra = change(seed)
        dataset = dataset.map(lambda batch, labels: (extra(batch), labels), num_parallel_calls=tf.data.AUTOTUNE)
    started = time.perf_counter()
    model.fit(dataset, epochs=epochs, shuffle=False, verbose=0)  # the dataset shuffles itself
    return model, time.perf_counter() - started


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Share of ``x`` the model reads as ``y``, in per cent."""
    return float((model.predict(x, batch_size=1000, verbose=0).argmax(axis=1) == y).mean() * 100)


def main() -> int:
    """Train run 3 once per change and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-path", type=Path, help="local mnist.npz (default: Keras' download)")
    parser.add_argument("--changes", default=",".join(CHANGES), help=f"comma-separated, from {', '.join(CHANGES)}")
    parser.add_argument("--epochs", type=int, default=TUNED.epochs, help="run 3's epochs (default: as shipped)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    names = [name.strip() for name in args.changes.split(",") if name.strip()]
    if unknown := [name for name in names if name not in CHANGES]:
        parser.error(f"unknown change(s) {', '.join(unknown)}; choose from {', '.join(CHANGES)}")

    data = load_training_data(TrainerSettings(mnist_path=args.mnist_path))
    drawn = data.drawn
    # The shipped drawn-digit set is these drawings, in this order (tests/trainer/test_drawn_sets.py).
    drawings = evaluation_drawings(args.mnist_path)
    fast = np.array([d.fast for d in drawings])
    authored = np.array([d.allograph != "mnist_writer" for d in drawings])
    smooth, quick = authored & ~fast, authored & fast
    sets = {
        "MNIST test": (data.mnist.x_test, data.mnist.y_test),
        "drawn set": (drawn.x, drawn.y),
        "smooth": (drawn.x[smooth], drawn.y[smooth]),
        "fast": (drawn.x[quick], drawn.y[quick]),
    }
    print(f"\nRun 3, {args.epochs} epochs, seed {args.seed}, {len(data.y_train):,} training images\n")
    print("| run 3 with | " + " | ".join(sets) + " | training s |")
    print("|---" * (len(sets) + 2) + "|")
    for name in names:
        description, change = CHANGES[name]
        model, seconds = train_with(change, data, args.epochs, args.seed)
        cells = [f"{accuracy(model, x, y):.2f} %" for x, y in sets.values()]
        print(f"| {description} | " + " | ".join(cells) + f" | {seconds:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
