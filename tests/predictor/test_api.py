"""The API's contract through Flask's test client: answers, every error path, the OpenAPI document."""

import base64
import io

import pytest
from PIL import Image

from devkit.drawing import SEVEN, png_bytes, stroke_digit

DRAWING = png_bytes(stroke_digit(SEVEN, style="dark_on_transparent"))


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and len(body["message"]) > 10


def test_multipart_prediction_follows_the_contract(client, favourite):
    response = client.post("/predict", data={"image": (io.BytesIO(DRAWING), "d.png")})
    assert response.status_code == 200
    body = response.get_json()
    assert body["digit"] == favourite and body["confidence"] > 0.99
    assert len(body["probabilities"]) == 10 and sum(body["probabilities"]) == pytest.approx(1, abs=1e-4)
    assert body["top"][0] == {"digit": favourite, "probability": body["confidence"]} and len(body["top"]) == 3
    assert list(body) == ["prediction_id", "digit", "confidence", "probabilities", "top", "model"], "documented order"
    assert len(body["prediction_id"]) == 32 and int(body["prediction_id"], 16) >= 0
    assert body["model"] == {"name": "Mnist_Best_Model", "version": "4", "alias": "production", "run_id": "run-abc"}
    assert "input_image" not in body


@pytest.mark.parametrize("prefix", ["data:image/png;base64,", ""])
def test_json_data_url_or_plain_base64(client, favourite, prefix):
    response = client.post("/predict", json={"image": prefix + base64.b64encode(DRAWING).decode()})
    assert response.status_code == 200 and response.get_json()["digit"] == favourite


def test_raw_image_body_and_debug_image(client):
    response = client.post("/predict?debug=1", data=DRAWING, content_type="image/png")
    assert response.status_code == 200
    data_url = response.get_json()["input_image"]
    assert data_url.startswith("data:image/png;base64,")
    seen = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1])))
    assert seen.size == (28, 28)


def test_empty_canvas_is_422(client):
    blank = png_bytes(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))
    assert_error(client.post("/predict", data=blank, content_type="image/png"), 422, "empty_image")


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": b"garbage", "content_type": "image/png"}, 415, "unsupported_image"),
        ({"data": DRAWING[:100], "content_type": "image/png"}, 400, "invalid_image"),
        ({"data": b"", "content_type": "image/png"}, 400, "no_image"),
        ({"data": b"hello", "content_type": "text/plain"}, 415, "unsupported_media_type"),
        ({"data": b"{not json", "content_type": "application/json"}, 400, "invalid_json"),
        ({"json": {"picture": "x"}}, 400, "invalid_json"),
        ({"json": {"image": "%%%not-base64%%%"}}, 400, "invalid_base64"),
        ({"json": {"image": "data:image/png,rawdata"}}, 400, "invalid_data_url"),
        ({"data": {"file": (io.BytesIO(DRAWING), "d.png")}}, 400, "missing_image"),
        ({"data": b"x" * 400_000, "content_type": "image/png"}, 413, "payload_too_large"),
        ({"data": png_bytes(Image.new("L", (1200, 1000), 255)), "content_type": "image/png"}, 413, "image_too_large"),
        ({"data": png_bytes(Image.new("L", (60, 60)), "TIFF"), "content_type": "image/tiff"}, 415, "unsupported_image"),
    ],
)
def test_bad_input_gets_a_json_4xx(client, kwargs, status, code):
    assert_error(client.post("/predict", **kwargs), status, code)


def test_no_model_is_503_telling_the_user_to_train(client, manager):
    manager.model = None
    manager.problem = "No model has been trained yet. Run `docker compose run --rm trainer`."
    response = client.post("/predict", data=DRAWING, content_type="image/png")
    assert_error(response, 503, "model_unavailable")
    assert "docker compose run --rm trainer" in response.get_json()["message"]
    assert client.get("/ready").status_code == 503
    assert client.get("/health").status_code == 200
    assert_error(client.get("/model"), 503, "model_unavailable")


def test_ready_and_model_endpoints(client):
    assert client.get("/ready").get_json() == {"status": "ready", "version": "4"}
    info = client.get("/model").get_json()
    assert info["version"] == "4" and info["run_id"] == "run-abc" and info["loaded_at"].startswith("2026")


def test_unknown_route_and_method_are_json(client):
    assert_error(client.get("/nope"), 404, "not_found")
    assert_error(client.get("/predict"), 405, "method_not_allowed")


def test_openapi_document_describes_every_route(client):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {"/predict", "/feedback", "/health", "/ready", "/model", "/openapi.json"}
    assert {"200", "201", "400", "404", "422", "503"} <= set(document["paths"]["/feedback"]["post"]["responses"])
    responses = document["paths"]["/predict"]["post"]["responses"]
    assert {"200", "400", "413", "415", "422", "503"} <= set(responses)
    assert "300000 bytes" in document["paths"]["/predict"]["post"]["requestBody"]["description"]


def test_every_answer_has_its_own_prediction_id(client):
    ids = {
        client.post("/predict", data=DRAWING, content_type="image/png").get_json()["prediction_id"] for _ in range(3)
    }
    assert len(ids) == 3


def test_feedback_with_the_prediction_log_off_is_a_503_that_says_so(client):
    response = client.post("/feedback", json={"prediction_id": "0" * 32, "label": 4})
    assert_error(response, 503, "feedback_unavailable")
    assert "PREDICTION_LOG=off" in response.get_json()["message"]


def test_feedback_is_validated_before_the_log_is_asked(client):
    assert_error(client.post("/feedback", json={"prediction_id": "0" * 32, "label": -1}), 422, "invalid_label")
    assert_error(client.post("/feedback", data=b"{", content_type="application/json"), 400, "invalid_json")
