"""The forms people write drawn onto real MNIST digits (trainer.style_marks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from predictor import preprocess
from trainer.data import to_model_input
from trainer.style_marks import MARKS, mark, marked_digits, normalise, slashed_zero


@pytest.fixture(scope="module")
def mnist_digits(mnist_full: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(mnist_full) as data:
        return to_model_input(data["x_train"][:2000]), data["y_train"][:2000].astype(np.int64)


def first(images: np.ndarray, labels: np.ndarray, label: int, count: int = 20) -> np.ndarray:
    return images[labels == label][:count, ..., 0]


def test_normalising_is_the_predictors_own_pipeline():
    rng = np.random.default_rng(1)
    ink = np.zeros((224, 224), np.float32)
    ink[30:190, 100:120] = 1.0  # a thick bar, off centre
    ink[40:60, 60:110] = rng.uniform(0.2, 1.0, (20, 50)).astype(np.float32)  # and a grey flag
    expected = preprocess.center_by_mass(preprocess.fit_box(preprocess.crop_to_ink(ink)))
    np.testing.assert_allclose(normalise(ink), expected, atol=1e-6)


@pytest.mark.parametrize("label", sorted(MARKS))
def test_a_marked_digit_is_an_mnist_style_digit_with_more_ink(mnist_digits, label: int):
    images, labels = mnist_digits
    rng = np.random.default_rng(label)
    for digit in first(images, labels, label, 10):
        marked = mark(digit, label, rng)
        assert marked.shape == (28, 28) and marked.dtype == np.float32
        assert marked.min() >= 0 and marked.max() == pytest.approx(1.0)
        rows, cols = np.nonzero(marked > 0.15)
        assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 21  # fits MNIST's 20-pixel box (anti-aliasing aside)
        centre = np.array(np.nonzero(marked)).T.mean(axis=0)
        assert np.all(np.abs(centre - 14) < 4)
        assert not np.allclose(marked, digit, atol=0.2), "the mark changed the digit"


def test_each_mark_adds_ink_where_its_form_has_it(mnist_digits):
    """Averaged over many digits: flags on the upper left, tails on the lower left, slashes through the loop."""
    images, labels = mnist_digits
    rng = np.random.default_rng(0)

    def mean_gain(label: int, region: tuple[slice, slice]) -> float:
        digits = first(images, labels, label)
        marked = np.stack([mark(d, label, rng) for d in digits])
        return float(marked[:, region[0], region[1]].mean() - digits[:, region[0], region[1]].mean())

    upper_left, lower_left = (slice(4, 14), slice(4, 13)), (slice(16, 26), slice(3, 12))
    assert mean_gain(1, upper_left) > 0.05  # a one's flag
    assert mean_gain(9, lower_left) > 0.05  # a nine's tail, curled left
    assert mean_gain(0, (slice(11, 18), slice(12, 17))) > 0.2  # a slash through the zero's empty middle
    assert mean_gain(7, (slice(15, 19), slice(8, 24))) > 0.1  # a bar across the seven, below the middle


def test_a_zeros_slash_passes_the_loop_at_both_ends_often_far_like_a_phi():
    """The bug report's zeros: a slash that mostly reaches past the loop, often by a third of its height."""
    loop = np.zeros((28, 28), np.float32)
    loop[4:24, 9:19] = 1.0  # a box the size of a narrow zero: rows 4..23
    rng = np.random.default_rng(0)
    past = []
    for _ in range(200):
        ((_, bottom_y), (_, top_y)) = slashed_zero(loop, rng)[0]
        past += [4 - top_y, bottom_y - 23]  # how far each end passes the loop, in pixels
    past = np.array(past) / 19  # in loop heights
    assert np.mean(past > 0) > 0.8
    assert np.mean(past > 0.3) > 0.2


def test_marked_digits_are_chosen_among_the_marked_labels_deterministically(mnist_digits):
    images, labels = mnist_digits
    marked = marked_digits(images, labels, 50, seed=3)
    assert marked.x.shape == (50, 28, 28, 1) and marked.y.shape == (50,)
    assert set(np.unique(marked.y)) <= set(MARKS)
    again = marked_digits(images, labels, 50, seed=3)
    np.testing.assert_array_equal(marked.x, again.x)
    assert not np.array_equal(marked.x, marked_digits(images, labels, 50, seed=4).x)
    assert len(marked_digits(images, labels, 0, seed=3).y) == 0
