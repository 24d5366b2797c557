"""``GET /metrics``: what Prometheus reads, from one process and from gunicorn's several workers."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devkit.drawing import SEVEN, png_bytes, stroke_digit
from devkit.mlflow_server import mlflow_server
from devkit.nginx import nginx_server
from devkit.onnx_model import linear_classifier, register_as_production
from devkit.predictor_server import predictor_server
from devkit.processes import http_ok, wait_until

DRAWING = png_bytes(stroke_digit(SEVEN))


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape: (name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(scraped: dict, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(
        value for (sample, sample_labels), value in scraped.items() if sample == name and wanted <= sample_labels
    )


def test_a_prediction_is_counted_timed_and_its_model_named(client, favourite):
    before = samples(client.get("/metrics").get_data(as_text=True))
    assert client.post("/predict", data=DRAWING, content_type="image/png").status_code == 200
    assert client.post("/predict", data=b"", content_type="image/png").status_code == 400
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = samples(response.get_data(as_text=True))

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew("predictor_requests_total", endpoint="/predict", status="200") == 1
    assert grew("predictor_requests_total", endpoint="/predict", status="400") == 1
    assert grew("predictor_request_duration_seconds_count", endpoint="/predict") == 2
    assert grew("predictor_predictions_total", digit=str(favourite)) == 1
    assert grew("predictor_prediction_confidence_count") == 1
    assert after[("predictor_model_info", frozenset({("name", "Mnist_Best_Model"), ("version", "4")}))] == 1
    assert ("predictor_prediction_log_dropped_total", frozenset()) in after
    assert total(after, "predictor_requests_total", endpoint="/metrics") == 0, "scrapes are not requests"


def test_no_model_means_no_model_info(client, manager):
    manager.model = None
    scraped = samples(client.get("/metrics").get_data(as_text=True))
    assert total(scraped, "predictor_model_info") == 0


def test_unknown_paths_share_one_label_value(client):
    for path in ("/nope", "/a/b/c", "/predict/x"):
        client.get(path)
    scraped = samples(client.get("/metrics").get_data(as_text=True))
    endpoints = {dict(labels)["endpoint"] for name, labels in scraped if name == "predictor_requests_total"}
    assert "unmatched" in endpoints and not endpoints & {"/nope", "/a/b/c", "/predict/x"}


@pytest.mark.integration
def test_gunicorn_workers_add_up_and_nginx_keeps_metrics_private(tmp_path: Path):
    with mlflow_server(tmp_path / "mlflow") as uri:
        register_as_production(uri, linear_classifier(tmp_path / "model.onnx", favourite=5))
        extra = {"METRICS_DIR": str(tmp_path / "metrics")}
        with predictor_server(uri, tmp_path / "cache", tmp_path / "g.log", workers=2, extra_env=extra) as (url, *_):
            wait_until(http_ok(f"{url}/ready"), 60, "model loaded")
            for _ in range(40):  # a new connection each: gunicorn's two workers take turns
                requests.post(f"{url}/predict", data=DRAWING, headers={"Content-Type": "image/png"}, timeout=10)
            scraped = samples(requests.get(f"{url}/metrics", timeout=10).text)
            assert total(scraped, "predictor_predictions_total", digit="5") == 40
            assert total(scraped, "predictor_requests_total", endpoint="/predict", status="200") == 40
            with nginx_server(tmp_path / "nginx", url.removeprefix("http://")) as site:
                for path in ("/api/metrics", "/api/metrics/", "/api//metrics", "/api/%6detrics", "/api/./metrics"):
                    response = requests.get(f"{site}{path}", timeout=10)
                    assert response.status_code == 404, path
                    assert response.json()["error"] == "not_found", path
                assert requests.get(f"{site}/api/health", timeout=10).status_code == 200
