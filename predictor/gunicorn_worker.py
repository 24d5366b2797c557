"""gunicorn's sync worker, closing each finished connection at once instead of lingering on it.

The sync worker answers one request per connection and then closes it. Since gunicorn 26
(benoitc/gunicorn#3590) it closes every connection "gracefully" (RFC 9112 section 9.6): it sends
its FIN, then blocks reading until the client closes too (up to 2 s), so that request bytes the
app never read cannot make the kernel answer with a reset that truncates the response.

That linger only protects anything when request bytes are left unread. For a request whose body
the app read to the end, with nothing else waiting in the socket, a plain close sends the same
FIN and cannot reset; the worker is then free for the next client at once instead of sleeping
until this one hangs up. Measured on the predictor at concurrency 8 (20 alternating 3-second wrk
runs against each worker): 4-8 % more requests/s, 7 % less worker CPU per request. Anything unread
still gets gunicorn's graceful close.
"""

from __future__ import annotations

import socket

from gunicorn.http.body import LengthReader
from gunicorn.workers.sync import SyncWorker


class PromptCloseSyncWorker(SyncWorker):
    """A sync worker that closes a connection as soon as its request was read and answered."""

    def handle_request(self, listener, req, client: socket.socket, addr) -> None:
        """Handle the request as gunicorn does; then close at once when nothing is left unread.

        gunicorn's own close afterwards finds the socket closed and does nothing.
        """
        super().handle_request(listener, req, client, addr)
        if body_fully_read(req) and nothing_pending(client):
            client.close()


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
