"""Test-time augmentation: the views of a digit, and the API averaging the model over them when asked."""

from pathlib import Path

import numpy as np
import pytest

from devkit.drawing import SEVEN, png_bytes, stroke_digit
from devkit.onnx_model import linear_classifier
from predictor import preprocess
from predictor.served_model import LoadedModel, load_onnx
from predictor.settings import PredictorSettings
from predictor.views import VIEW_COUNT, rotated, shifted, views
from tests.predictor.conftest import INFO

DRAWING = png_bytes(stroke_digit(SEVEN, style="dark_on_light"))


@pytest.fixture()
def digit() -> np.ndarray:
    """A drawn seven as the model sees it."""
    return preprocess.mnist_style(preprocess.decode(DRAWING, 1_000_000))


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    rows, columns = np.indices(image.shape)
    return np.array([(rows * image).sum(), (columns * image).sum()]) / image.sum()


def test_the_first_view_is_the_digit_as_drawn(digit):
    seen = views(digit)
    assert seen.shape == (VIEW_COUNT, 28, 28) == (7, 28, 28) and seen.dtype == digit.dtype
    assert np.array_equal(seen[0], digit)
    assert all(not np.array_equal(view, digit) for view in seen[1:]), "every other view differs"


@pytest.mark.parametrize(("rows", "columns"), [(1, 0), (-1, 0), (0, 1), (0, -1)])
def test_a_shift_moves_the_ink_one_pixel_and_keeps_all_of_it(rows, columns):
    stroke = np.zeros((28, 28), np.float32)
    stroke[6:22, 12:15] = np.linspace(0.2, 1.0, 16)[:, None]  # clear of the frame: nothing leaves it
    moved = shifted(stroke, rows, columns)
    assert moved.sum() == pytest.approx(stroke.sum())
    assert centre_of_mass(moved) - centre_of_mass(stroke) == pytest.approx([rows, columns], abs=1e-5)


def test_a_shift_drops_what_leaves_the_frame():
    edge = np.zeros((28, 28), np.float32)
    edge[:, 0] = 1.0
    assert shifted(edge, 0, -1).sum() == 0 and shifted(edge, 0, 1)[:, 1].sum() == 28


def test_a_rotation_turns_the_ink_about_the_centre(digit):
    left, right = rotated(digit, 6.0), rotated(digit, -6.0)
    assert left.sum() == pytest.approx(digit.sum(), rel=0.02) and right.sum() == pytest.approx(digit.sum(), rel=0.02)
    assert np.abs(centre_of_mass(left) - centre_of_mass(digit)).max() < 1.0
    assert np.abs(left - right).sum() > 0.1 * digit.sum(), "the two turns differ"


@pytest.fixture()
def model(tmp_path: Path) -> LoadedModel:
    """Overrides conftest's: a linear classifier with no favourite, so where the ink lies changes its answer."""
    return load_onnx(linear_classifier(tmp_path / "m.onnx", seed=3), INFO)


@pytest.fixture()
def settings(settings: PredictorSettings, augmented: bool) -> PredictorSettings:
    """Conftest's settings, with test-time augmentation on or off as the test is parametrised."""
    return settings.model_copy(update={"test_time_augmentation": augmented})


@pytest.mark.parametrize("augmented", [False, True])
def test_the_api_averages_the_model_over_the_views_only_when_asked(client, model, digit, augmented):
    answered = np.array(client.post("/predict", data=DRAWING, content_type="image/png").get_json()["probabilities"])

    plain = model.predict(digit[np.newaxis, ..., np.newaxis])[0]
    averaged = model.predict(views(digit)[..., np.newaxis]).mean(axis=0)
    assert np.abs(plain - averaged).max() > 1e-4, "the views must change this model's answer"
    assert answered == pytest.approx(averaged if augmented else plain, abs=2e-6)
