"""Real gunicorn with the predictor's worker: answers in one segment, when it lets go of a connection,
and that no answer is cut off.

gunicorn's own sync worker (26.x) holds every connection after answering, reading until the client
hangs up (or 2 s pass). The predictor's worker closes at once when the request was read to the end,
and keeps gunicorn's lingering close when the app left request bytes unread (there a plain close
would make the kernel reset the connection and could cut the answer short).
"""

from __future__ import annotations

import json
import socket
import struct

import pytest

from tests.services import LOOPBACK, free_port, predictor_server

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    """A predictor with no model (its tracking URI leads nowhere): /health answers, /predict says 503."""
    base = tmp_path_factory.mktemp("worker")
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


def server_socket_open(server_port: int, client: socket.socket) -> bool:
    """Whether the server process still holds its end of ``client``'s connection.

    /proc/net/tcp lists a socket its process has closed with inode 0 (or not at all), one that is
    only half-closed (FIN sent, still reading) with its inode.
    """
    local = f"0100007F:{server_port:04X}"
    remote = f"0100007F:{client.getsockname()[1]:04X}"
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return fields[9] != "0"
    return False


def answer_parts(raw: bytes) -> tuple[str, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status, headers, body


def test_a_request_read_to_the_end_is_let_go_as_soon_as_it_is_answered(predictor):
    with socket.create_connection((LOOPBACK, predictor)) as client:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, headers, body = answer_parts(read_to_end(client))
        assert status.startswith("HTTP/1.1 200") and json.loads(body) == {"status": "ok"}
        assert headers["connection"] == "close"
        # This client has not hung up, yet the worker has already closed its end and moved on.
        assert not server_socket_open(predictor, client)


def test_a_request_whose_body_was_left_unread_gets_its_whole_answer_and_a_lingering_close(predictor):
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
        assert server_socket_open(predictor, client), "unread bytes: the worker drains them before closing"


def data_segments_received(client: socket.socket) -> int:
    """How many segments carrying data reached ``client`` (Linux ``tcp_info.tcpi_data_segs_in``)."""
    info = client.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return struct.unpack_from("I", info, TCP_INFO_DATA_SEGS_IN)[0]


# Offset of tcpi_data_segs_in in Linux's struct tcp_info (include/uapi/linux/tcp.h, since 4.6).
TCP_INFO_DATA_SEGS_IN = 152


def test_an_answer_arrives_in_one_segment(predictor):
    with socket.create_connection((LOOPBACK, predictor)) as client:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, _, body = answer_parts(read_to_end(client))
        assert status.startswith("HTTP/1.1 200") and body
        assert data_segments_received(client) == 1, "headers and body together, not one segment each"
