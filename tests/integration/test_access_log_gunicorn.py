"""Real gunicorn with the predictor's configuration: batched access lines reach the log, also when it stops."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from tests.services import LOOPBACK, free_port, predictor_server, wait_until

pytestmark = pytest.mark.integration


def agents(log: Path) -> list[str]:
    return [json.loads(text)["agent"] for text in log.read_text().splitlines() if text.startswith("{")]


@pytest.mark.parametrize("workers", [1, 2])
def test_lines_a_worker_holds_are_written_when_gunicorn_stops(tmp_path, workers):
    nowhere = f"http://{LOOPBACK}:{free_port()}"  # no model needed: /health is logged like any request
    log = tmp_path / "predictor.log"
    hold = {"ACCESS_LOG_FLUSH_SECONDS": "3600"}
    with predictor_server(nowhere, tmp_path / "cache", log, workers=workers, extra_env=hold) as (url, _, _started):
        for number in range(6):
            requests.get(f"{url}/health", headers={"User-Agent": f"held-{number}"}, timeout=5).raise_for_status()
        time.sleep(1.5)
        assert not any(agent.startswith("held-") for agent in agents(log)), "held for the batch"
    # Leaving the block stops gunicorn with SIGTERM: each worker writes what it holds as it exits.
    assert sorted(agent for agent in agents(log) if agent.startswith("held-")) == [f"held-{n}" for n in range(6)]


def test_lines_reach_the_log_within_the_interval_without_a_stop(tmp_path):
    nowhere = f"http://{LOOPBACK}:{free_port()}"
    log = tmp_path / "predictor.log"
    with predictor_server(nowhere, tmp_path / "cache", log, extra_env={"ACCESS_LOG_FLUSH_SECONDS": "0.5"}) as (
        url,
        process,
        _started,
    ):
        requests.get(f"{url}/health", headers={"User-Agent": "soon"}, timeout=5).raise_for_status()
        wait_until(lambda: "soon" in agents(log), 10, "the access line", process)
