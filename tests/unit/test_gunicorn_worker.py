"""The predictor's sync worker closes at once only when nothing of the request is left unread."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

from gunicorn.http.body import Body, ChunkedReader, LengthReader

from predictor.gunicorn_worker import body_fully_read, cork, nothing_pending, uncork
from tests.services import LOOPBACK, wait_until


@contextmanager
def connected_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A real TCP connection over loopback: (server side, client side)."""
    with socket.create_server((LOOPBACK, 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        try:
            yield server, client
        finally:
            server.close()
            client.close()


def test_an_empty_socket_has_nothing_pending_and_the_peek_never_blocks():
    with connected_pair() as (server, _client):
        assert nothing_pending(server)


def test_unread_bytes_are_pending_and_stay_readable():
    with connected_pair() as (server, client):
        client.sendall(b"GET / HTTP/1.1\r\n\r\n")
        wait_until(lambda: not nothing_pending(server), 5, "the bytes to arrive")
        assert server.recv(100) == b"GET / HTTP/1.1\r\n\r\n", "peeking consumed nothing"


def test_a_client_that_hung_up_leaves_nothing_pending():
    with connected_pair() as (server, client):
        client.shutdown(socket.SHUT_WR)
        wait_until(lambda: server.recv(1, socket.MSG_PEEK) == b"", 5, "the client's FIN")
        assert nothing_pending(server)


def request_with(reader) -> SimpleNamespace:
    return SimpleNamespace(body=Body(reader))


def test_a_body_is_fully_read_only_when_its_last_byte_was_taken():
    reader = LengthReader(unreader=None, length=1176)
    assert not body_fully_read(request_with(reader))
    reader.length = 0  # what LengthReader.read leaves once all 1176 bytes were read
    assert body_fully_read(request_with(reader))
    assert body_fully_read(request_with(LengthReader(unreader=None, length=0))), "GET: no body at all"


def test_bodies_of_unknown_length_are_never_taken_as_read():
    chunked = ChunkedReader.__new__(ChunkedReader)  # its end is only known to its own parser
    assert not body_fully_read(request_with(chunked))
    assert not body_fully_read(SimpleNamespace())


def test_cork_holds_a_tcp_socket_and_uncork_releases_it():
    with connected_pair() as (server, _client):
        cork(server)
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK) == 1
        uncork(server)
        assert server.getsockopt(socket.IPPROTO_TCP, socket.TCP_CORK) == 0


def test_corking_a_unix_or_closed_socket_is_harmless():
    left, right = socket.socketpair(socket.AF_UNIX)  # gunicorn --bind unix:/path hands these over
    with left, right:
        cork(left)
        uncork(left)
        left.sendall(b"answer")
        assert right.recv(10) == b"answer"
    uncork(left)  # closed by now: nothing to send, no error
