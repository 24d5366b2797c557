import numpy as np
import pytest

from trainer.input_stats import input_stats


def test_a_bar_has_its_width_centre_and_share():
    bars = np.zeros((2, 28, 28), dtype=np.uint8)
    bars[:, 4:24, 12:15] = 255  # 20 x 3 pixels
    stats = input_stats(bars, np.array([1, 7]))
    assert stats.stroke_width == pytest.approx(3.0)
    assert (stats.centre_x, stats.centre_y) == (13.0, 13.5)
    assert stats.ink_share == round(60 / 784, 4)
    assert stats.class_share[1] == stats.class_share[7] == 0.5 and sum(stats.class_share) == 1.0


def test_floats_in_0_1_and_empty_images_are_fine():
    images = np.zeros((3, 28, 28, 1), dtype=np.float32)
    images[0, 10:12, 5:25] = 1.0  # 2 px thick, horizontal
    stats = input_stats(images, np.array([0, 0, 0]))
    assert stats.stroke_width == pytest.approx(2.0) and stats.count == 3


def test_mnist_strokes_are_about_two_pixels_wide_and_centred(mnist_full):
    with np.load(mnist_full) as data:
        stats = input_stats(data["x_test"], data["y_test"])
    assert 1.8 < stats.stroke_width < 2.6
    assert abs(stats.centre_x - 14) < 0.5 and abs(stats.centre_y - 14) < 0.5
