"""Prometheus metrics of the predictor, served at ``GET /metrics`` (not through the public page).

gunicorn runs several worker processes; prometheus-client's multiprocess mode keeps each worker's
counters and histograms in files under ``PROMETHEUS_MULTIPROC_DIR`` (gunicorn.conf.py sets it up)
and adds them up at scrape time, so a scrape sees the whole predictor whichever worker answers it.
Which model is served is read from the answering worker when scraped (every worker follows the
same alias).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from predictor.model_manager import ModelManager

REQUESTS = Counter("predictor_requests", "HTTP requests answered", ["endpoint", "status"])
DURATION = Histogram(
    "predictor_request_duration_seconds",
    "Time to answer a request",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
PREDICTIONS = Counter("predictor_predictions", "Predictions answered, by predicted digit", ["digit"])
CONFIDENCE = Histogram(
    "predictor_prediction_confidence",
    "Probability of the predicted digit",
    buckets=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
)
FEEDBACK = Counter("predictor_feedback", "Labels people gave: the prediction was correct, or corrected", ["outcome"])
LOG_DROPPED = Counter("predictor_prediction_log_dropped", "Prediction records dropped: the log's queue was full")


class ServedModel(Collector):
    """``predictor_model_info{name, version} 1`` for the model this worker serves (none while there is none)."""

    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager

    def collect(self) -> Iterator[Metric]:
        """The one sample, read when scraped."""
        info = GaugeMetricFamily("predictor_model_info", "The served model version", labels=["name", "version"])
        model = self.manager.model
        if model is not None:
            info.add_metric([model.info.name, model.info.version], 1)
        yield info


def record_prediction(digit: int, confidence: float) -> None:
    """Count one answer and its confidence."""
    PREDICTIONS.labels(digit=str(digit)).inc()
    CONFIDENCE.observe(confidence)


def record_feedback(correct: bool) -> None:
    """Count one label a person gave."""
    FEEDBACK.labels(outcome="correct" if correct else "corrected").inc()


def instrument(app: Flask, manager: ModelManager) -> None:
    """Time and count every request; add ``GET /metrics``."""
    served_model = ServedModel(manager)

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def count(response: Response) -> Response:
        # The route's rule, not the path: a fuzzer's random paths must not become label values.
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        if endpoint != "/metrics":
            REQUESTS.labels(endpoint=endpoint, status=str(response.status_code)).inc()
            DURATION.labels(endpoint=endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.get("/metrics")
    def metrics() -> Response:
        registry = CollectorRegistry()
        # prometheus-client's own switch (gunicorn.conf.py sets it); without it (Flask's test
        # client, a single process) the metrics live in this process's default registry.
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            MultiProcessCollector(registry)
        else:
            registry.register(_Default())
        registry.register(served_model)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


class _Default(Collector):
    """The process's default registry, as one collector of the scrape's registry."""

    def collect(self) -> Iterator[Metric]:
        """What the default registry holds."""
        yield from REGISTRY.collect()
