"""The real-pen set is drawn as the page draws: a person's strokes replayed on the page in real Chromium.

Every run is judged on UJI's pen-drawn digits drawn by ``trainer.datagen.real_pens``; this checks that the
page itself, given the same strokes as pointer moves, sends a drawing the predictor reads the same.
The page comes from real nginx with the frontend's configuration; drawing needs no predictor.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from devkit.nginx import nginx_server
from devkit.processes import free_port
from predictor import preprocess
from trainer.datagen import real_pens
from trainer.datagen.canvas import render

pytestmark = pytest.mark.browser

PLACEMENT = (0.6, 0.4, 0.5)  # 60 % of the canvas tall, a little left of the middle, half-way down


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    """The page served by nginx; its /api/ upstream is a free port nothing listens on."""
    with nginx_server(tmp_path_factory.mktemp("nginx"), f"127.0.0.1:{free_port()}") as url:
        yield url


@pytest.fixture(scope="module")
def page(browser, site: str):
    context = browser.new_context(viewport={"width": 900, "height": 800})
    page = context.new_page()
    page.goto(site + "/")
    page.wait_for_selector("[data-testid=canvas]")
    yield page
    context.close()


def drawn_on_the_page(page, strokes: list[list[tuple[float, float]]]) -> Image.Image:
    """Replay canvas-pixel strokes as mouse moves on the page; the canvas as the page would send it."""
    page.get_by_test_id("clear").click()
    box = page.locator("[data-testid=canvas]").bounding_box()
    scale = box["width"] / real_pens.CANVAS
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.mouse.up()
    data_url = page.evaluate("() => document.getElementById('canvas').toDataURL('image/png')")
    return Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))


@pytest.mark.parametrize("index", [0, 130, 250, 370, 490, 610, 730, 850, 970, 1090])  # one of each digit
def test_the_page_draws_a_pen_digit_as_the_real_pen_set_does(page, index):
    digit = real_pens.load_pen_digits()[index]
    strokes = real_pens.placed(digit.strokes, *PLACEMENT)
    on_page = preprocess.mnist_style(drawn_on_the_page(page, strokes))
    ours = preprocess.mnist_style(render(real_pens.ink_of(strokes), "dark_on_transparent"))
    assert np.abs(on_page - ours).mean() < 0.04, f"digit {digit.label}: the two drawings differ"
    assert np.corrcoef(on_page.ravel(), ours.ravel())[0, 1] > 0.95
