"""Load generators with a fixed request body, their numbers read back, and the load check.

``wrk`` (Debian package ``wrk``) runs for a duration and reports fine-grained latency; ``ab``
(Debian package ``apache2-utils``) sends an exact number of requests.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from devkit.drawing import SEVEN, stroke_digit
from devkit.processes import resident_mib, worker_pids

SCRIPT = """
local f = io.open("{body}", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "{content_type}"
"""


def require(tool: str, package: str) -> None:
    """Exit with a readable message when a load tool is missing."""
    if shutil.which(tool) is None:
        sys.exit(f"{tool} is not installed (Debian/Ubuntu: apt-get install {package})")


def run_wrk(url: str, body: Path, content_type: str, connections: int, seconds: int, folder: Path) -> dict:
    """One wrk run; returns requests (count), requests/s, p50/p99 in ms, and non-2xx/socket error counts."""
    threads = min(connections, 2)
    script = folder / f"{body.stem}.lua"
    script.write_text(SCRIPT.format(body=body, content_type=content_type))
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    count = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latencies = {p: _ms(re.search(rf"^\s+{p}%\s+(\S+)", out, re.MULTILINE).group(1)) for p in ("50", "99")}
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = non_2xx + (sum(int(x) for x in socket.groups()) if socket else 0)
    return {"requests": count, "rps": rps, "p50": latencies["50"], "p99": latencies["99"], "errors": errors}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_ab(url: str, body: Path, content_type: str, requests: int, connections: int) -> dict:
    """ApacheBench with keep-alive: exactly ``requests`` POSTs; same keys as ``run_wrk`` (latency in whole ms)."""
    result = subprocess.run(
        [
            "ab",
            "-q",
            "-k",
            "-n",
            str(requests),
            "-c",
            str(connections),
            "-s",
            "10",
            "-p",
            str(body),
            "-T",
            content_type,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    failures = re.search(r"\(Connect: (\d+), Receive: (\d+), Length: \d+, Exceptions: (\d+)\)", out)
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx responses:\s+(\d+)", out)) else 0
    return {
        "requests": int(re.search(r"Complete requests:\s+(\d+)", out).group(1)),
        "rps": float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1)),
        "p50": float(re.search(r"^\s+50%\s+(\d+)", out, re.MULTILINE).group(1)),
        "p99": float(re.search(r"^\s+99%\s+(\d+)", out, re.MULTILINE).group(1)),
        "errors": non_2xx + (sum(int(x) for x in failures.groups()) if failures else 0),
    }


MAX_GROWTH = 0.10  # the workers' memory may grow by less than this under load


def load_check(site: str, master: int, folder: Path, requests: int, connections: int, warmup: int) -> dict:
    """Warm up, measure the workers' memory, send ``requests`` canvas PNGs, measure again; returns the figures."""
    canvas = folder / "canvas.png"
    stroke_digit(SEVEN, style="dark_on_transparent").save(canvas, format="PNG")
    url = f"{site}/api/predict"
    run_ab(url, canvas, "image/png", warmup, connections)
    workers = worker_pids(master)
    before = resident_mib(workers)
    result = run_ab(url, canvas, "image/png", requests, connections)
    after = resident_mib(workers)
    return {
        **result,
        "rss_before_mib": before,
        "rss_after_mib": after,
        "growth": (after - before) / before,
        "workers_replaced": worker_pids(master) != workers,
    }
