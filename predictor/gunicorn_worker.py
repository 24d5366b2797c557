"""gunicorn's sync worker, answering in one TCP segment and letting go of each finished connection at once.

gunicorn writes a response's headers and its body with two ``sendall`` calls, and its listening
socket sets ``TCP_NODELAY``, so a small JSON answer leaves as two segments: twice the loopback or
network work, and two wake-ups of the client (or nginx) for one answer. Corking the socket while
the answer is written sends it as one.

The sync worker answers one request per connection and then closes it. Since gunicorn 26
(benoitc/gunicorn#3590) it closes every connection "gracefully" (RFC 9112 section 9.6): it sends
its FIN, then blocks reading until the client closes too (up to 2 s), so that request bytes the
app never read cannot make the kernel answer with a reset that truncates the response.

That linger only protects anything when request bytes are left unread. For a request whose body
the app read to the end, with nothing else waiting in the socket, a plain close sends the same
FIN and cannot reset; the worker is then free for the next client at once instead of sleeping
until this one hangs up. Anything unread still gets gunicorn's graceful close.

Measured on the predictor at concurrency 8 (20 alternating 3-second wrk runs per pair): the prompt
close gave 4-8 % more requests/s (7 % less worker CPU per request), the cork 3-6 % on top.
"""

from __future__ import annotations

import contextlib
import socket

from gunicorn.http.body import LengthReader
from gunicorn.workers.sync import SyncWorker


class LeanSyncWorker(SyncWorker):
    """A sync worker whose answers leave in one segment, closing at once when nothing is left unread."""

    def handle_request(self, listener, req, client: socket.socket, addr) -> None:
        """Handle the request as gunicorn does, corked; then close at once when nothing is left unread.

        gunicorn's own close afterwards finds the socket closed and does nothing.
        """
        cork(client)
        try:
            super().handle_request(listener, req, client, addr)
        finally:
            uncork(client)
        if body_fully_read(req) and nothing_pending(client):
            client.close()


def cork(client: socket.socket) -> None:
    """Hold back partial segments until ``uncork`` (a no-op on a UNIX socket, e.g. ``--bind unix:...``)."""
    with contextlib.suppress(OSError):
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)


def uncork(client: socket.socket) -> None:
    """Send whatever the cork holds back, unless gunicorn already closed the socket (after some errors)."""
    if client.fileno() != -1:
        with contextlib.suppress(OSError):  # a reset connection or a UNIX socket: nothing to do
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)


def body_fully_read(req) -> bool:
    """Whether the app consumed the request's whole body (a request without one counts as read).

    Chunked and read-until-close bodies are left to the graceful close: their end is not known here.
    """
    reader = getattr(getattr(req, "body", None), "reader", None)
    return isinstance(reader, LengthReader) and reader.length == 0


def nothing_pending(client: socket.socket) -> bool:
    """Whether no unread byte waits in the socket (a peek that never blocks; a closed peer counts as none)."""
    try:
        peeked = client.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True  # the receive buffer is empty
    except OSError:
        return False  # let the graceful close deal with a broken connection
    return peeked == b""  # b"": the client has already closed its side; else bytes wait unread
