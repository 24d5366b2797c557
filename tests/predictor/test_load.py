"""20,000 requests at concurrency 32 through nginx: no errors, no worker replaced, memory flat.

Figures, not timings, are asserted; the requests/s and latencies are printed (benchmarks/load_test.py
runs the same check against a trained model and prints the table for docs/reliability.md).
"""

from __future__ import annotations

import shutil

import pytest

from devkit.load import MAX_GROWTH, load_check
from devkit.mlflow_server import mlflow_server
from devkit.nginx import nginx_server
from devkit.onnx_model import linear_classifier, register_as_production
from devkit.predictor_server import predictor_server
from devkit.processes import http_ok, wait_until

pytestmark = pytest.mark.integration


def test_twenty_thousand_requests_at_concurrency_32_through_nginx(tmp_path):
    if shutil.which("ab") is None:
        pytest.fail("ab is not installed: apt-get install apache2-utils (the test-runner image has it)")
    with mlflow_server(tmp_path / "mlflow") as uri:
        register_as_production(uri, linear_classifier(tmp_path / "model.onnx"))
        with predictor_server(uri, tmp_path / "cache", tmp_path / "gunicorn.log", workers=2) as (direct, process, _):
            wait_until(http_ok(f"{direct}/ready"), 60, "model loaded")
            with nginx_server(tmp_path / "nginx", direct.removeprefix("http://")) as site:
                figures = load_check(site, process.pid, tmp_path, requests=20_000, connections=32, warmup=2_000)
    print(f"\nload: {figures}")
    assert figures["requests"] >= 20_000
    assert figures["errors"] == 0
    assert not figures["workers_replaced"]
    assert figures["growth"] < MAX_GROWTH, figures
