"""The JSON access logger: one JSON object per request, every field escaped."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config

from predictor.access_log import JsonAccessLogger


def log_request(logger: JsonAccessLogger, path: str = "/predict", agent: str = "curl/8.5") -> None:
    response = SimpleNamespace(status_code=200, sent=391)
    environ = {"REMOTE_ADDR": "10.0.0.5", "REQUEST_METHOD": "POST", "PATH_INFO": path, "HTTP_USER_AGENT": agent}
    logger.access(response, None, environ, timedelta(microseconds=1870))


def test_a_line_is_one_json_object_with_every_field_escaped(tmp_path: Path):
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = JsonAccessLogger(config)  # gunicorn's own file handler
    log_request(logger, path='/a"b\\c', agent='tester "quoted" \\ agent')
    log_request(logger, path="/second")
    first, second = (json.loads(text) for text in (tmp_path / "access.log").read_text().splitlines())
    assert first["path"] == '/a"b\\c' and first["agent"] == 'tester "quoted" \\ agent'
    assert (first["remote"], first["method"], first["status"], first["bytes"]) == ("10.0.0.5", "POST", 200, 391)
    assert first["latency_ms"] == 1.87 and first["time"].endswith("Z")
    assert second["path"] == "/second", "written at once, in order"
