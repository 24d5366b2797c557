"""The JSON access logger: one line per request, written at once or in batches."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from predictor.access_log import JsonAccessLogger
from tests.services import wait_until


@pytest.fixture
def logger_and_file(tmp_path: Path):
    """A JsonAccessLogger writing its access lines to a file (gunicorn's own FileHandler)."""
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    logger = JsonAccessLogger(config)
    yield logger, tmp_path / "access.log"
    logger.stop_flushing()


def log_request(logger: JsonAccessLogger, path: str = "/predict", agent: str = "curl/8.5") -> None:
    response = SimpleNamespace(status_code=200, sent=391)
    environ = {"REMOTE_ADDR": "10.0.0.5", "REQUEST_METHOD": "POST", "PATH_INFO": path, "HTTP_USER_AGENT": agent}
    logger.access(response, None, environ, timedelta(microseconds=1870))


def lines(log: Path) -> list[dict]:
    return [json.loads(text) for text in log.read_text().splitlines()] if log.exists() else []


def test_a_line_is_one_json_object_with_every_field_escaped(logger_and_file):
    logger, log = logger_and_file
    logger.flush_seconds = 0
    log_request(logger, path='/a"b\\c', agent='tester "quoted" \\ agent')
    [line] = lines(log)
    assert line["path"] == '/a"b\\c' and line["agent"] == 'tester "quoted" \\ agent'
    assert (line["remote"], line["method"], line["status"], line["bytes"]) == ("10.0.0.5", "POST", 200, 391)
    assert line["latency_ms"] == 1.87 and line["time"].endswith("Z")


def test_batched_lines_wait_and_are_written_in_order(logger_and_file):
    logger, log = logger_and_file
    logger.flush_seconds = 3600
    for number in range(5):
        log_request(logger, path=f"/{number}")
    assert lines(log) == [], "lines wait for their batch"
    logger.flush_access()
    assert [line["path"] for line in lines(log)] == [f"/{number}" for number in range(5)]


def test_a_full_batch_is_written_without_waiting(logger_and_file):
    logger, log = logger_and_file
    logger.flush_seconds, logger.batch_lines = 3600, 3
    for number in range(4):
        log_request(logger, path=f"/{number}")
    assert [line["path"] for line in lines(log)] == ["/0", "/1", "/2"]


def test_waiting_lines_are_written_within_the_flush_interval(logger_and_file):
    logger, log = logger_and_file
    logger.flush_seconds = 0.2
    logger.start_flushing()
    log_request(logger)
    wait_until(lambda: len(lines(log)) == 1, 5, "the periodic write")


def test_stopping_writes_what_waits(logger_and_file):
    logger, log = logger_and_file
    logger.flush_seconds = 3600  # the first periodic write is an hour away: only stopping writes them
    logger.start_flushing()
    log_request(logger, path="/first")
    log_request(logger, path="/last")
    assert lines(log) == []
    logger.stop_flushing()
    assert [line["path"] for line in lines(log)] == ["/first", "/last"]
