"""gunicorn's access log as one JSON object per request (``logger_class`` in gunicorn.conf.py).

A structured line is easy to search and to feed to a log pipeline, and ``json.dumps`` does the
escaping, so a quote or a backslash in a path or a user agent cannot break a line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from gunicorn.glogging import Logger


def access_line(resp, environ: dict, request_time: timedelta) -> str:
    """One request as a JSON object.

    For example ``{"time": "...Z", "remote": "10.0.0.5", "method": "POST", "path": "/predict",
    "status": 200, "bytes": 391, "latency_ms": 1.87, "agent": "curl/8.5"}``.
    """
    return json.dumps(
        {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "remote": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": resp.status_code,
            "bytes": getattr(resp, "sent", None),
            "latency_ms": round(request_time.total_seconds() * 1000, 2),
            "agent": environ.get("HTTP_USER_AGENT", "-"),
        }
    )


class JsonAccessLogger(Logger):
    """gunicorn's logger, with access lines as JSON instead of gunicorn's format string."""

    def access(self, resp, req, environ: dict, request_time: timedelta) -> None:
        """Write the request's line (when an access log is configured)."""
        if self.access_log_enabled:
            self.access_log.info(access_line(resp, environ, request_time))
