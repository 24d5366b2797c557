"""Start and stop the real programs the tests talk to, as subprocesses on 127.0.0.1.

Every process is started here, stopped by its own PID, and listens on a free loopback port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def wait_until(check: Callable[[], bool], timeout: float, what: str, process: subprocess.Popen | None = None) -> None:
    """Poll ``check`` until it is true; fail with ``what`` (and the process's log) at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {process.returncode}")
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f}s")


def http_ok(url: str) -> Callable[[], bool]:
    """A check that ``url`` answers 200."""
    return lambda: requests.get(url, timeout=2).status_code == 200


def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """Terminate a process we started (SIGTERM, then SIGKILL), by its PID."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)


@contextmanager
def running(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """Run ``args`` in the background with output in ``log_path``; stop it on exit."""
    with open(log_path, "ab") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        yield process
    finally:
        stop(process)


@contextmanager
def mlflow_server(folder: Path, port: int | None = None) -> Iterator[str]:
    """A real ``mlflow server`` with a SQLite backend and proxied local artifacts; yields its URI."""
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination", str(folder / "artifacts"),
        "--host", LOOPBACK, "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    uri = f"http://{LOOPBACK}:{port}"
    with running(args, folder / "server.log", env) as process:
        try:
            wait_until(http_ok(f"{uri}/health"), 90, "mlflow server", process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{(folder / 'server.log').read_text()[-3000:]}") from exc
        yield uri
