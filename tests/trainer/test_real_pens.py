"""Real people's pen-drawn digits (UJI Pen Characters v2): the shipped set, and how it is drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trainer.data import REAL_PENS, load_real_pens
from trainer.datagen import real_pens
from trainer.settings import TrainerSettings
from trainer.training_data import load_training_data


@pytest.fixture(scope="module")
def digits() -> list[real_pens.PenDigit]:
    return real_pens.load_pen_digits()


def test_the_shipped_set_is_what_the_page_and_the_predictor_make_of_the_pen_digits_today(digits):
    """Redrawing every digit gives the shipped images: the file matches today's canvas and preprocessing."""
    fresh = real_pens.real_pen_set(digits)
    with np.load(REAL_PENS) as shipped:
        np.testing.assert_array_equal(shipped["x"], fresh["x"])
        np.testing.assert_array_equal(shipped["y"], fresh["y"])
        assert list(shipped["writer"]) == list(fresh["writer"])


def test_sixty_writers_wrote_each_digit_twice(digits):
    real = load_real_pens()
    assert len(real) == len(digits) == 1200 and real.x.shape == (1200, 28, 28, 1)
    assert np.bincount(real.y, minlength=10).tolist() == [120] * 10
    writers, counts = np.unique(real.style, return_counts=True)
    assert len(writers) == 60 and set(counts) == {20}
    assert real.source.endswith("trainer/data/real_pens.npz")


def test_a_digit_is_drawn_with_the_pages_pen_at_a_persons_size(digits):
    rng = np.random.default_rng(0)
    for digit in digits[::97]:
        image = real_pens.on_canvas(digit.strokes, rng, "dark_on_white")
        rows, cols = np.nonzero(255 - np.asarray(image.convert("L"), dtype=np.int32) > 127)
        assert 0.35 * 280 <= np.ptp(rows) + 1 <= 0.85 * 280 + real_pens.PEN_WIDTH + 2
        assert rows.min() > 0 and rows.max() < 279 and cols.min() > 0 and cols.max() < 279


def test_the_pen_is_the_pages_18_pixels(digits):
    """Inked area over the strokes' length is the pen's width (less where strokes cross, more at the caps)."""
    for digit in digits[::97]:
        strokes = real_pens.placed(digit.strokes, 0.6, 0.5, 0.5)
        length = sum(float(np.hypot(*np.diff(np.array(stroke), axis=0).T).sum()) for stroke in strokes)
        width = float(real_pens.ink_of(strokes).sum()) / length
        assert 13 <= width <= 22, width


def test_every_colour_scheme_of_the_canvas_is_in_the_set():
    with np.load(REAL_PENS) as shipped:
        assert set(shipped["canvas_style"]) == set(real_pens.STYLES)


def test_the_real_pens_are_never_trained_on(mnist_slice: Path):
    data = load_training_data(TrainerSettings(mnist_path=mnist_slice))
    trained = {image.tobytes() for image in (data.x_train * 255).round().astype(np.uint8)}
    real = (data.real_pens.x * 255).round().astype(np.uint8)
    assert not any(image.tobytes() in trained for image in real)
    assert len(data.real_pens) == 1200
