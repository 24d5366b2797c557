"""The drawn-digit sets the trainer ships, and the agreement between its augmentation and the predictor.

A model only reads drawings well if what it trains on looks like what the predictor makes of a
drawing: these tests feed the same drawings through both and compare.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from devkit.drawing import png_bytes
from predictor import preprocess
from trainer.augment import training_dataset
from trainer.data import DRAWN_EVALUATION, DRAWN_TRAINING, load_drawn, load_splits
from trainer.datagen import allographs, handwriting
from trainer.experiments import CANVAS_AUGMENTATION

# Forms real people write and MNIST hardly has (the forms real pens were misread in: docs/performance.md).
HARD_FORMS = {(0, "slashed"), (1, "long_flag"), (7, "crossed"), (9, "g_tail"), (4, "open_one_stroke")}


def as_uint8(images: np.ndarray) -> np.ndarray:
    return (images[..., 0] * 255).round().astype(np.uint8)


def test_the_shipped_sets_are_what_the_generator_and_the_predictor_make_today():
    """Regenerating the first drawings gives the shipped images: the files match today's preprocessing."""
    evaluation = load_drawn(DRAWN_EVALUATION, limit=40)
    fresh = handwriting.preprocessed_set(
        handwriting.drawings(40, 20261201, handwriting.EVALUATION_WRITER, allographs.EVALUATION_ALLOGRAPHS)
    )
    np.testing.assert_array_equal(as_uint8(evaluation.x), fresh["x"])
    assert list(evaluation.style) == list(fresh["allograph"])
    training = load_drawn(DRAWN_TRAINING, limit=40)
    fresh = handwriting.preprocessed_set(handwriting.training_drawings(40))
    np.testing.assert_array_equal(as_uint8(training.x), fresh["x"])


def test_a_weighted_form_is_drawn_as_many_times_as_often_as_a_plain_one():
    weights = {(7, "crossed"): 3}
    # Seven's five forms, "crossed" three times: a cycle of seven, run four times.
    drawn = handwriting.drawings(10 * 7 * 4, 1, handwriting.TRAINING_WRITER, allographs.TRAINING_ALLOGRAPHS, weights)
    sevens = [drawing.allograph for drawing in drawn if drawing.label == 7]
    assert sevens.count("crossed") == 3 * sevens.count("plain")
    assert set(sevens) == set(allographs.TRAINING_ALLOGRAPHS[7])


def test_the_evaluation_set_has_the_hard_forms_and_no_training_drawing():
    evaluation, training = load_drawn(DRAWN_EVALUATION), load_drawn(DRAWN_TRAINING)
    assert len(evaluation) == 3000 and len(training) == 12000
    forms = {(int(label), str(style)) for label, style in zip(evaluation.y, evaluation.style, strict=True)}
    assert HARD_FORMS.issubset(forms)
    assert np.bincount(evaluation.y, minlength=10).min() >= 250
    seen = {image.tobytes() for image in as_uint8(training.x)}
    assert not any(image.tobytes() in seen for image in as_uint8(evaluation.x))
    # Evaluation forms are authored apart from the training ones: only generic names are shared.
    assert set(allographs.EVALUATION_ALLOGRAPHS[1]) != set(allographs.TRAINING_ALLOGRAPHS[1])


def test_a_fast_stroke_is_straight_segments_between_pointer_events():
    curve = handwriting.catmull_rom([(0.0, 0.0), (0.5, 0.6), (1.0, 0.0)])
    events = np.array(handwriting.pointer_events(curve, spacing=0.3))
    gaps = np.hypot(*np.diff(events, axis=0).T)
    np.testing.assert_allclose([events[0], events[-1]], [curve[0], curve[-1]])
    assert 4 <= len(events) < len(curve) / 3
    assert gaps.max() <= 0.3 and gaps.min() > 0.2  # evenly spaced, no closer than the pen moved


def test_about_a_third_of_the_evaluation_allographs_are_written_fast():
    drawn = list(handwriting.drawings(300, 20261201, handwriting.EVALUATION_WRITER, allographs.EVALUATION_ALLOGRAPHS))
    assert 0.2 < np.mean([d.fast for d in drawn]) < 0.4


def shape_statistics(images: np.ndarray) -> dict[str, np.ndarray]:
    """Per 28x28 digit: bounding-box side (ink > 0.15), centre of mass (row, col), share of ink pixels."""
    sides, centres, ink = [], [], []
    for image in images:
        rows, cols = np.nonzero(image > preprocess.INK_THRESHOLD)
        sides.append(max(rows.max() - rows.min(), cols.max() - cols.min()) + 1)
        centres.append(preprocess.center_of_mass(image))
        ink.append(float((image > 0.5).mean()))
    return {"side": np.array(sides), "centre": np.array(centres), "ink": np.array(ink)}


@pytest.fixture(scope="module")
def drawn_through_the_predictor() -> np.ndarray:
    """200 canvas drawings through the predictor's decode and MNIST-style preprocessing."""
    drawn = handwriting.drawings(200, 3, handwriting.EVALUATION_WRITER, allographs.EVALUATION_ALLOGRAPHS)
    return np.stack([preprocess.mnist_style(preprocess.decode(png(d), 16_000_000)) for d in drawn])


def png(drawing: handwriting.Drawing) -> bytes:
    return png_bytes(drawing.image)


def test_trainer_augmentation_and_predictor_preprocessing_agree_on_a_drawn_digit(
    drawn_through_the_predictor: np.ndarray, mnist_slice: Path
):
    """What the model trains on (MNIST and drawn styles, augmented) is shaped like what it is sent."""
    mnist = load_splits(mnist_slice, train_limit=1000)
    styles = load_drawn(DRAWN_TRAINING, limit=500)
    x = np.concatenate([mnist.x_train[:500], styles.x])
    y = np.concatenate([mnist.y_train[:500], styles.y])
    batches = training_dataset(x, y, batch_size=250, spec=CANVAS_AUGMENTATION, seed=1)
    augmented = np.concatenate([batch.numpy() for batch, _ in batches])[..., 0]
    trained_on = shape_statistics(augmented)
    served = shape_statistics(drawn_through_the_predictor)
    # Both centre the digit's mass on MNIST's (14, 14)...
    np.testing.assert_allclose(served["centre"].mean(axis=0), preprocess.CENTER, atol=0.3)
    np.testing.assert_allclose(trained_on["centre"].mean(axis=0), preprocess.CENTER, atol=0.6)
    # ...and what the predictor sends (a 20-pixel box, strokes of every pen) lies inside what
    # training covers (MNIST's strokes, thickened, zoomed and rotated; the drawn styles).
    for name in ("side", "ink"):
        low, high = np.percentile(trained_on[name], [10, 90])
        assert low <= np.median(served[name]) <= high, (name, low, np.median(served[name]), high)
        assert np.mean((served[name] >= low) & (served[name] <= high)) > 0.6, name


def test_a_drawing_in_the_training_set_is_the_predictors_view_of_it():
    """The synthetic styles are stored exactly as the predictor preprocesses their canvas drawings."""
    drawing = next(handwriting.drawings(1, 7, handwriting.TRAINING_WRITER, allographs.TRAINING_ALLOGRAPHS))
    served = preprocess.mnist_style(preprocess.decode(png(drawing), 16_000_000))
    stored = load_drawn(DRAWN_TRAINING, limit=1).x[0, ..., 0]
    np.testing.assert_allclose(stored, served, atol=0.5 / 255)
