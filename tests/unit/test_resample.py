"""The cached-weights Lanczos resize gives Pillow's numbers."""

import numpy as np
import pytest
from PIL import Image

from predictor.resample import CACHED_SIDE, lanczos_resize, lanczos_weights


def pillow_lanczos(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(Image.fromarray(image.astype(np.float32)).resize(size, Image.Resampling.LANCZOS))


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        ((87, 66), (15, 20)),  # a drawn digit fitted into 20x20
        ((140, 9), (1, 20)),  # a thin "1": one column wide
        ((7, 5), (14, 20)),  # a tiny drawing, enlarged
        ((20, 13), (13, 20)),  # already 20 tall: the identity
        ((1, 1), (20, 20)),
        ((300, 200), (13, 20)),
    ],
)
def test_matches_pillow_to_float32_rounding(shape, size):
    image = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32) ** 3
    ours = lanczos_resize(image, size)
    assert ours.shape == (size[1], size[0]) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, pillow_lanczos(image, size), rtol=0, atol=1e-6)


def test_matches_pillow_on_many_random_shapes():
    rng = np.random.default_rng(7)
    for _ in range(200):
        height, width = (int(n) for n in rng.integers(1, 160, 2))
        scale = 20 / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = rng.random((height, width), dtype=np.float32)
        np.testing.assert_allclose(lanczos_resize(image, size), pillow_lanczos(image, size), rtol=0, atol=1e-6)


def test_weights_are_computed_once_and_cannot_be_changed():
    first = lanczos_weights(87, 20)
    assert lanczos_weights(87, 20) is first
    np.testing.assert_allclose(first.sum(axis=1), 1.0)
    with pytest.raises(ValueError):
        first[0, 0] = 1.0


def test_long_sides_go_to_pillow_and_leave_the_cache_alone():
    image = np.random.default_rng(5).random((40, CACHED_SIDE * 4), dtype=np.float32)
    entries = lanczos_weights.cache_info().currsize
    np.testing.assert_array_equal(lanczos_resize(image, (20, 1)), pillow_lanczos(image, (20, 1)))
    assert lanczos_weights.cache_info().currsize == entries
