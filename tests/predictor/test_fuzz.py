"""Fuzzing ``/predict`` and ``/feedback`` with generated bad and odd requests, directly and through nginx.

Two generators: schemathesis, from the service's own OpenAPI document (valid and deliberately
invalid requests for every operation), and a Hypothesis image fuzzer (tests/fuzz_inputs.py).
Every request goes to gunicorn directly and through the project's nginx. The contract: no 5xx,
every error a 4xx JSON ``{"error", "message"}``, and the gunicorn worker never dies. Each test counts
and checks its own requests; together, at the default sizes, they send well over 10,000.
"""

from __future__ import annotations

import base64
import json
import os
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, example, given, settings
from schemathesis import GenerationMode

from devkit.mlflow_server import mlflow_server
from devkit.nginx import nginx_server
from devkit.onnx_model import linear_classifier, register_as_production
from devkit.postgres import create_prediction_db, postgres_server
from devkit.predictor_server import predictor_server
from devkit.processes import http_ok, wait_until, worker_pids
from tests.predictor.strategies import Probe, huge_json, png_bomb, probes

pytestmark = pytest.mark.integration

MODEL = "Mnist_Best_Model"
# Examples per generator; each is sent twice (direct and through nginx).
IMAGE_EXAMPLES = int(os.environ.get("FUZZ_IMAGE_EXAMPLES", "2600"))
SCHEMA_EXAMPLES = int(os.environ.get("FUZZ_SCHEMA_EXAMPLES", "1500"))
FEEDBACK_EXAMPLES = int(os.environ.get("FUZZ_FEEDBACK_EXAMPLES", "400"))
GET_EXAMPLES = 25
# Hypothesis stops a little short of max_examples when cases repeat: 95 % of POST /predict's share.
SCHEMA_MINIMUM = int(0.95 * 2 * 2 * SCHEMA_EXAMPLES)
FUZZ_SETTINGS = {"deadline": None, "database": None, "suppress_health_check": list(HealthCheck), "print_blob": True}


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory):
    """A tiny real ONNX model registered in a real MLflow server, served by gunicorn behind nginx.

    The predictor logs its predictions to a real PostgreSQL, so ``/feedback`` is fuzzed for real.
    """
    base = tmp_path_factory.mktemp("fuzz")
    with mlflow_server(base / "mlflow") as uri, postgres_server(base / "pg", "postgres", "pg-pw", "mlflow") as pg:
        register_as_production(uri, linear_classifier(base / "model.onnx"))
        log = base / "gunicorn.log"
        prediction_db = {**create_prediction_db(pg, "feedback"), "PREDICTION_LOG": "on"}
        with predictor_server(uri, base / "cache", log, extra_env=prediction_db) as (direct, process, _started):
            wait_until(http_ok(f"{direct}/ready"), 60, "model loaded")
            workers = worker_pids(process.pid)
            with nginx_server(base / "nginx", direct.removeprefix("http://")) as site:
                yield {"direct": direct, "nginx": f"{site}/api", "master": process.pid, "workers": workers, "log": log}


def check_contract(status: int, content_type: str, text: str, path: str, what: str) -> None:
    """No 5xx; errors are 4xx JSON with a code and a sentence; successes are predictions."""
    assert status < 500, f"{what}: {status} {text[:300]}"
    assert content_type.startswith("application/json"), f"{what}: {status} {content_type} {text[:200]}"
    body = json.loads(text)
    if status >= 400:
        assert isinstance(body.get("error"), str) and isinstance(body.get("message"), str), f"{what}: {body}"
        assert len(body["message"]) > 10, f"{what}: {body}"
    elif path.endswith("/predict"):
        assert 0 <= body["digit"] <= 9 and len(body["probabilities"]) == 10, f"{what}: {body}"


def send(targets: dict, probe: Probe, sent: Counter) -> None:
    for name in ("direct", "nginx"):
        response = requests.post(f"{targets[name]}/predict", timeout=30, **probe.request_kwargs())
        sent[response.status_code] += 1
        content_type = response.headers.get("Content-Type", "")
        check_contract(response.status_code, content_type, response.text, "/predict", f"{probe.kind} via {name}")


def check_survived(targets: dict, sent: Counter, at_least: int) -> None:
    """The test sent what it meant to, no answer was a 5xx, and the gunicorn worker is the same process."""
    total = sum(sent.values())
    assert total >= at_least, f"only {total} requests"
    assert not any(status >= 500 for status in sent)
    assert worker_pids(targets["master"]) == targets["workers"], "a gunicorn worker was replaced"
    log = targets["log"].read_text()
    for sign in ("WORKER TIMEOUT", "Worker exiting", "was sent SIGKILL", "Traceback"):
        assert sign not in log, sign
    print(f"\nfuzz: {total} requests; by status: {dict(sorted(sent.items()))}")


def test_the_generators_together_send_over_ten_thousand_requests():
    assert 2 * IMAGE_EXAMPLES + SCHEMA_MINIMUM >= 10_000, "raise FUZZ_IMAGE_EXAMPLES / FUZZ_SCHEMA_EXAMPLES"


def test_generated_images_and_wrappings_never_cause_a_server_error(targets):
    sent: Counter = Counter()

    @settings(max_examples=IMAGE_EXAMPLES, **FUZZ_SETTINGS)
    @given(probe=probes())
    @example(probe=Probe("empty body", b"", "image/png"))
    @example(probe=Probe("empty multipart field", b"", "image/png", "multipart"))
    @example(probe=huge_json(6_000_000))
    @example(
        probe=Probe(
            "bomb via JSON", b'{"image": "' + base64.b64encode(png_bomb(20000)) + b'"}', "application/json", "json"
        )
    )
    def fuzz(probe: Probe) -> None:
        send(targets, probe, sent)

    fuzz()
    check_survived(targets, sent, at_least=2 * IMAGE_EXAMPLES)


def test_schemathesis_cases_from_the_openapi_document_never_cause_a_server_error(targets):
    sent: Counter = Counter()
    schema = schemathesis.openapi.from_url(f"{targets['direct']}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    expected = {"POST /predict", "POST /feedback", "GET /model", "GET /ready"}
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= expected
    for operation in operations:
        if operation.method.upper() == "POST":
            examples = SCHEMA_EXAMPLES if operation.path == "/predict" else FEEDBACK_EXAMPLES
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):  # valid, then deliberately invalid
                schema_fuzzer(targets, operation, mode, examples, sent)()
        else:  # GETs without parameters: nothing to make invalid
            schema_fuzzer(targets, operation, GenerationMode.POSITIVE, GET_EXAMPLES, sent)()
    check_survived(targets, sent, at_least=SCHEMA_MINIMUM)


def schema_fuzzer(targets: dict, operation, mode: GenerationMode, examples: int, sent: Counter):
    """A Hypothesis test sending schemathesis' cases for ``operation`` to both targets."""

    @settings(max_examples=examples, **FUZZ_SETTINGS)
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case) -> None:
        for name in ("direct", "nginx"):
            response = case.call(base_url=targets[name])
            sent[response.status_code] += 1
            content_type = (response.headers.get("content-type") or [""])[0]
            what = f"{case.method} {case.path} ({mode.value}) via {name}"
            check_contract(response.status_code, content_type, response.text, case.path, what)

    return fuzz


@pytest.mark.parametrize("length", [5_000, 10_000, 70_000])
def test_oversized_request_lines_and_headers_are_4xx_and_json_through_nginx(targets, length):
    # Refused by nginx's (or gunicorn's) HTTP parser before the app sees them. Through nginx, the
    # way every client reaches the predictor, the answer is the API's JSON; gunicorn, unpublished,
    # answers its own 4xx page.
    sent: Counter = Counter()
    for name in ("direct", "nginx"):
        for response in (
            requests.post(
                f"{targets[name]}/predict?debug={'1' * length}",
                data=b"x",
                timeout=10,
                headers={"Content-Type": "image/png"},
            ),
            requests.post(
                f"{targets[name]}/predict",
                data=b"x",
                timeout=10,
                headers={"Content-Type": "image/png", "X-Padding": "p" * length},
            ),
        ):
            sent[response.status_code] += 1
            what = f"{length}-byte line or header via {name}"
            assert 400 <= response.status_code < 500, f"{what}: {response.status_code}"
            if name == "nginx":
                check_contract(
                    response.status_code, response.headers.get("Content-Type", ""), response.text, "/predict", what
                )
    check_survived(targets, sent, at_least=4)
