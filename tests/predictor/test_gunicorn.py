"""Real gunicorn with the predictor's configuration: no answer is cut off.

When the app answers before reading the whole request body (with no model, ``/predict`` says 503 at
once), a plain close would make the kernel reset the connection and could cut the answer short;
gunicorn drains the unread bytes before closing, so the answer arrives whole.
"""

from __future__ import annotations

import json
import socket

import pytest

from devkit.services import LOOPBACK, free_port, predictor_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    """A predictor with no model (its tracking URI leads nowhere): /health answers, /predict says 503."""
    base = tmp_path_factory.mktemp("gunicorn")
    nowhere = f"http://{LOOPBACK}:{free_port()}"
    with predictor_server(nowhere, base / "cache", base / "predictor.log") as (url, _process, _started):
        yield int(url.rsplit(":", 1)[1])


def read_to_end(client: socket.socket) -> bytes:
    """Everything the server sends until it closes its side."""
    client.settimeout(10)
    chunks = []
    while chunk := client.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def answer_parts(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


def test_a_request_whose_body_was_left_unread_gets_its_whole_answer(predictor):
    body = b"\x89PNG" + b"x" * 20_000  # never read: with no model, /predict answers 503 first
    head = (
        f"POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/png\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection((LOOPBACK, predictor)) as client:
        client.sendall(head.encode() + body)
        status, headers, answer = answer_parts(read_to_end(client))
    assert status.startswith("HTTP/1.1 503")
    assert len(answer) == int(headers["content-length"]), "the answer arrived whole, not cut by a reset"
    assert json.loads(answer)["error"] == "model_unavailable"


def test_a_health_check_answers_with_connection_close(predictor):
    with socket.create_connection((LOOPBACK, predictor)) as client:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, headers, body = answer_parts(read_to_end(client))
    assert status.startswith("HTTP/1.1 200") and json.loads(body) == {"status": "ok"}
    assert headers["connection"] == "close", "sync workers answer one request per connection"
