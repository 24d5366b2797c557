"""The drawing page in real headless Chromium, through real nginx, to real gunicorn and a trained model.

Chromium comes from tests/frontend/conftest.py.
"""

from __future__ import annotations

import psycopg2
import pytest
import requests

from devkit.mlflow_server import MlflowServer
from devkit.nginx import nginx_server
from devkit.postgres import create_prediction_db, postgres_server, start_postgres, stop_postgres
from devkit.predictor_server import predictor_server
from devkit.processes import REPO_ROOT, free_port, wait_until
from devkit.trainer_process import run_trainer_ok

pytestmark = pytest.mark.browser

ARTIFACTS = REPO_ROOT / "test-artifacts"
# Mouse strokes as a person would draw them, in fractions of the canvas; one list per stroke.
DIGITS = {
    3: [
        [
            (0.30, 0.22),
            (0.45, 0.14),
            (0.62, 0.17),
            (0.68, 0.29),
            (0.60, 0.41),
            (0.46, 0.47),
            (0.62, 0.52),
            (0.70, 0.65),
            (0.64, 0.79),
            (0.48, 0.86),
            (0.30, 0.80),
        ]
    ],
    5: [
        [
            (0.68, 0.16),
            (0.36, 0.16),
            (0.33, 0.45),
            (0.50, 0.40),
            (0.66, 0.48),
            (0.70, 0.64),
            (0.62, 0.80),
            (0.46, 0.86),
            (0.30, 0.79),
        ]
    ],
    7: [[(0.27, 0.20), (0.72, 0.20), (0.56, 0.50), (0.42, 0.86)]],
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, mnist_full):
    """MLflow server + a model trained on 20,000 images + gunicorn predictor logging to a real PostgreSQL
    + nginx with the project config."""
    base = tmp_path_factory.mktemp("frontend")
    tracking = MlflowServer(base / "mlflow")
    tracking.start()
    run_trainer_ok(
        {
            "MLFLOW_TRACKING_URI": tracking.uri,
            "MNIST_PATH": str(mnist_full),
            "MNIST_TRAIN_LIMIT": "20000",
            "MNIST_TEST_LIMIT": "2000",
            "TRAINER_RUNS": "tuned",
            "TRAINER_EPOCHS": "3",
        }
    )
    try:
        with postgres_server(base / "pg", "postgres", "pg-pw", "mlflow") as pg:
            database = create_prediction_db(pg, "feedback")
            logged = {**{k: v for k, v in database.items() if k.startswith("PREDICTION_DB_")}, "PREDICTION_LOG": "on"}
            with predictor_server(tracking.uri, base / "cache", base / "predictor.log", extra_env=logged) as (
                api,
                process,
                _,
            ):
                wait_until(lambda: requests.get(f"{api}/ready", timeout=2).ok, 60, "predictor ready", process)
                upstream = api.removeprefix("http://")
                with nginx_server(base / "nginx", upstream) as site:
                    yield {
                        "site": site,
                        "api": api,
                        "base": base,
                        "tracking": tracking,
                        "upstream": upstream,
                        "database": database,
                        "pg_folder": base / "pg",
                    }
    finally:
        tracking.stop()


@pytest.fixture()
def page(browser, stack):
    context = browser.new_context(viewport={"width": 900, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(stack["site"] + "/")
    page.wait_for_selector("[data-testid=canvas]")
    yield page
    context.close()
    assert errors == [], f"console errors: {errors}"


def draw(page, strokes: list[list[tuple[float, float]]]) -> None:
    box = page.locator("[data-testid=canvas]").bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        page.mouse.up()


def predicted_text(page) -> str:
    page.locator("[data-testid=prediction] .digit").wait_for(timeout=10_000)
    return page.locator("[data-testid=prediction]").inner_text()


@pytest.mark.parametrize("digit", sorted(DIGITS))
def test_drawn_digit_is_predicted(page, digit):
    draw(page, DIGITS[digit])
    page.get_by_test_id("predict").click()
    text = predicted_text(page)
    assert text.strip().startswith(str(digit)), text
    assert page.locator("[data-testid=probabilities] li").count() == 10
    assert page.locator("#seen-image").get_attribute("src").startswith("data:image/png;base64,")
    assert "version 1" in page.locator("#model").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"frontend-digit-{digit}.png"), full_page=True)


def test_keyboard_enter_predicts_and_escape_clears(page):
    draw(page, DIGITS[7])
    page.keyboard.press("Enter")
    assert predicted_text(page).strip().startswith("7")
    page.keyboard.press("Escape")
    assert page.get_by_test_id("prediction").inner_text() == ""


def test_clear_empties_canvas_and_result_and_empty_predict_is_a_message(page):
    draw(page, DIGITS[3])
    page.get_by_test_id("predict").click()
    predicted_text(page)
    page.get_by_test_id("clear").click()
    assert page.get_by_test_id("prediction").inner_text() == ""
    assert page.locator("[data-testid=probabilities] li").count() == 0
    ink = page.evaluate(
        """() => { const c = document.querySelector('[data-testid=canvas]');
                   const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                   let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }"""
    )
    assert ink == 0
    page.get_by_test_id("predict").click()
    status = page.locator("#status")
    assert "empty" in status.inner_text()
    assert "error" not in (status.get_attribute("class") or "")


def test_predictor_down_is_said_and_back_works_without_reload(browser, stack, tmp_path):
    from playwright.sync_api import expect

    port = free_port()
    cache, log = stack["base"] / "cache", tmp_path / "predictor.log"
    context = browser.new_context()
    page = context.new_page()
    with nginx_server(tmp_path / "nginx", f"127.0.0.1:{port}") as site:
        with predictor_server(stack["tracking"].uri, cache, log, port) as (api, process, _):
            wait_until(lambda: requests.get(f"{api}/ready", timeout=2).ok, 60, "predictor ready", process)
            page.goto(site + "/")
            draw(page, DIGITS[7])
            page.get_by_test_id("predict").click()
            assert predicted_text(page).strip().startswith("7")
        # the predictor is gone: the page says so, the earlier answer stays on screen
        page.get_by_test_id("predict").click()
        expect(page.locator("#status")).to_contain_text("cannot be reached", timeout=10_000)
        with predictor_server(stack["tracking"].uri, cache, log, port) as (api, process, _):
            wait_until(lambda: requests.get(f"{api}/ready", timeout=2).ok, 60, "predictor ready again", process)
            page.get_by_test_id("predict").click()  # same page, no reload
            expect(page.locator("#status")).to_have_text("", timeout=10_000)
            assert predicted_text(page).strip().startswith("7")
    context.close()


def test_nginx_serves_headers_config_and_proxies_the_api(stack):
    page = requests.get(stack["site"] + "/", timeout=5)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "no-cache" in page.headers["Cache-Control"]
    script = requests.get(stack["site"] + "/app.js", headers={"Accept-Encoding": "gzip"}, timeout=5)
    assert script.headers.get("Content-Encoding") == "gzip" and "max-age=3600" in script.headers["Cache-Control"]
    assert requests.get(stack["site"] + "/config.json", timeout=5).json() == {"mlflowUrl": "http://localhost:5000"}
    for path in ("ready", "model", "openapi.json"):
        assert requests.get(f"{stack['site']}/api/{path}", timeout=5).status_code == 200, path
    too_big = requests.post(
        stack["site"] + "/api/predict", data=b"x" * 6_000_000, headers={"Content-Type": "image/png"}, timeout=10
    )
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["error"] == "payload_too_large", "the predictor's own answer, passed on by nginx"


def test_no_model_yet_tells_the_user_to_train(browser, tmp_path):
    from playwright.sync_api import expect

    empty = MlflowServer(tmp_path / "mlflow")  # a tracking server where nothing was trained
    empty.start()
    context = browser.new_context()
    try:
        with (
            predictor_server(empty.uri, tmp_path / "cache", tmp_path / "predictor.log") as (api, _, _),
            nginx_server(tmp_path / "nginx", api.removeprefix("http://")) as site,
        ):
            page = context.new_page()
            page.goto(site + "/")
            draw(page, DIGITS[7])
            page.get_by_test_id("predict").click()
            expect(page.locator("#status")).to_contain_text("docker compose run --rm trainer", timeout=10_000)
    finally:
        context.close()
        empty.stop()


def test_phone_sized_screen_keeps_the_canvas_and_buttons_in_view(browser, stack):
    context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=3, has_touch=True)
    page = context.new_page()
    page.goto(stack["site"] + "/")
    canvas = page.locator("[data-testid=canvas]").bounding_box()
    assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= 375
    size = page.evaluate("() => { const c = document.querySelector('canvas'); return [c.width, c.height]; }")
    assert size[0] >= 3 * canvas["width"] - 1, "the bitmap follows the device pixel ratio (crisp strokes)"
    assert page.get_by_test_id("predict").is_visible() and page.get_by_test_id("clear").is_visible()
    context.close()


def predict_on_page(page, digit: int) -> dict:
    """Draw ``digit``, press Predict, and return the API's answer as the page received it."""
    draw(page, DIGITS[digit])
    with page.expect_response(lambda response: "/api/predict" in response.url) as answer:
        page.get_by_test_id("predict").click()
    predicted_text(page)
    return answer.value.json()


def stored_labels(database: dict[str, str], prediction_id: str) -> list[int | None]:
    """``[label]`` of the recorded prediction (``[]`` while it is not written yet), as the reader sees it."""
    reader = {
        "host": database["PREDICTION_DB_HOST"],
        "port": database["PREDICTION_DB_PORT"],
        "user": database["PREDICTION_READER_USER"],
        "password": database["PREDICTION_READER_PASSWORD"],
        "dbname": database["PREDICTION_DB_NAME"],
    }
    try:
        with psycopg2.connect(**reader) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT label FROM predictions WHERE id = %s", (prediction_id,))
            return [row[0] for row in cursor.fetchall()]
    except psycopg2.errors.UndefinedTable:
        return []  # the log's thread has not migrated yet


def test_a_correction_picked_on_the_page_is_stored_in_the_database(page, stack):
    answer = predict_on_page(page, 7)
    feedback = page.get_by_test_id("feedback")
    assert feedback.is_visible() and "Right?" in feedback.inner_text()
    wrong = (answer["digit"] + 1) % 10
    target = page.get_by_role("button", name=f"It is a {wrong}").bounding_box()
    assert min(target["width"], target["height"]) >= 44, "a finger-sized target"
    page.get_by_role("button", name=f"It is a {wrong}").click()
    status = page.get_by_test_id("feedback-status")
    status.filter(has_text="saved as").wait_for(timeout=10_000)
    assert f"saved as {'an' if wrong == 8 else 'a'} {wrong}" in status.inner_text()
    assert stored_labels(stack["database"], answer["prediction_id"]) == [wrong]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "frontend-feedback.png"), full_page=True)


def test_the_tick_confirms_by_keyboard_and_a_new_drawing_hides_the_question(page, stack):
    answer = predict_on_page(page, 3)
    page.get_by_test_id("feedback-yes").focus()
    page.keyboard.press("Enter")
    page.get_by_test_id("feedback-status").filter(has_text="confirmed").wait_for(timeout=10_000)
    assert stored_labels(stack["database"], answer["prediction_id"]) == [answer["digit"]]
    page.keyboard.press("Escape")
    assert page.get_by_test_id("feedback").is_hidden()


def test_feedback_while_the_database_is_down_is_a_sentence_and_loses_nothing(browser, stack):
    context = browser.new_context()  # not the `page` fixture: the browser logs the expected 503 as an error
    page = context.new_page()
    page.goto(stack["site"] + "/")
    answer = predict_on_page(page, 5)
    recorded = lambda: stored_labels(stack["database"], answer["prediction_id"]) == [None]  # noqa: E731
    wait_until(recorded, 15, "the prediction recorded")
    stop_postgres(stack["pg_folder"])
    try:
        page.get_by_role("button", name="It is a 6").click()
        status = page.get_by_test_id("feedback-status")
        status.filter(has_text="could not be saved").wait_for(timeout=15_000)
        assert "error" in (status.get_attribute("class") or "")
        assert "Traceback" not in page.content()
    finally:
        start_postgres(stack["pg_folder"])
    page.get_by_role("button", name="It is a 6").click()  # the same answer, once the database is back
    page.get_by_test_id("feedback-status").filter(has_text="saved as a 6").wait_for(timeout=15_000)
    assert stored_labels(stack["database"], answer["prediction_id"]) == [6]
    context.close()
