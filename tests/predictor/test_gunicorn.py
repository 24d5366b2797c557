"""Real gunicorn with the predictor's configuration: no answer is cut off.

When the app answers before reading the request body (a type it does not take: 415; a body too
large: 413), a plain close would make the kernel reset the connection and could cut the answer
short. gunicorn drains up to 64 KB of unread bytes before closing; the app reads the rest of a larger
body itself (``predictor.unread_body.drain_unread_body``), so a client or nginx still sending it gets the
answer too.
"""

from __future__ import annotations

import json
import socket

import pytest

from devkit.predictor_server import predictor_server
from devkit.processes import LOOPBACK, free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    """A predictor with no model (its tracking URI leads nowhere): /health answers, a good /predict gets 503."""
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


def raw_upload(body: bytes, content_type: str = "image/png") -> bytes:
    """A POST of ``body`` to /predict, as bytes on the wire."""
    head = f"POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def answer_parts(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


def test_a_request_whose_body_was_left_unread_gets_its_whole_answer(predictor):
    body = b"x" * 20_000  # not read by /predict, which refuses the type at once
    with socket.create_connection((LOOPBACK, predictor)) as client:
        client.sendall(raw_upload(body, "text/plain"))
        status, headers, answer = answer_parts(read_to_end(client))
    assert status.startswith("HTTP/1.1 415")
    assert len(answer) == int(headers["content-length"]), "the answer arrived whole, not cut by a reset"
    assert json.loads(answer)["error"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("content_type", "status", "error"),
    [("image/png", 413, "payload_too_large"), ("text/plain", 415, "unsupported_media_type")],
)
def test_a_large_body_answered_unread_is_read_to_its_end(predictor, content_type, status, error):
    body = b"x" * 15_000_000  # more than the kernel buffers hold: the client is still sending at the answer
    with socket.create_connection((LOOPBACK, predictor)) as client:
        client.sendall(raw_upload(body, content_type))  # a reset would raise here (BrokenPipeError)
        status_line, headers, answer = answer_parts(read_to_end(client))
    assert status_line.startswith(f"HTTP/1.1 {status}")
    assert len(answer) == int(headers["content-length"])
    assert json.loads(answer)["error"] == error


def test_a_health_check_answers_with_connection_close(predictor):
    with socket.create_connection((LOOPBACK, predictor)) as client:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, headers, body = answer_parts(read_to_end(client))
    assert status.startswith("HTTP/1.1 200") and json.loads(body) == {"status": "ok"}
    assert headers["connection"] == "close", "sync workers answer one request per connection"
