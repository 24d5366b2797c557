"""Processes the tests and benchmarks start: free loopback ports, waiting, stopping by PID, finding programs.

Every process is started by a module of devkit, stopped by its own PID, and listens on a free loopback port.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent  # devkit/ is at the repository's top


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


def find_program(setting: str, names: tuple[str, ...], debian_path: str) -> Path:
    """A program the tests run: the path in the variable ``setting``, or the first of ``names`` on PATH.

    Else where Debian installs it, which is where the test-runner image has it.
    """
    if configured := os.environ.get(setting):
        return Path(configured)
    found = next(filter(None, (shutil.which(name) for name in names)), None)
    return Path(found or debian_path)


def worker_pids(master: int) -> set[int]:
    """The PIDs of a gunicorn master's workers (its child processes)."""
    return {int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()}


def resident_mib(pids: set[int]) -> float:
    """Resident memory of ``pids`` together, in MiB (VmRSS from /proc)."""
    total_kib = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total_kib += int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1))
    return total_kib / 1024
