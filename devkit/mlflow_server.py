"""A real ``mlflow server`` on a free loopback port (SQLite backend, proxied local artifacts)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devkit.processes import LOOPBACK, free_port, http_ok, stop, wait_until


class MlflowServer:
    """A real ``mlflow server`` (SQLite backend, proxied local artifacts).

    It can stop and start again on the same port and store, as a tracking server does across an outage.
    """

    def __init__(self, folder: Path, port: int | None = None):
        self.folder = folder
        self.port = port or free_port()
        self.uri = f"http://{LOOPBACK}:{self.port}"
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> str:
        """Start the server and wait for ``/health``; return its URI."""
        args = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            f"sqlite:///{self.folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(self.folder / "artifacts"),
            "--host",
            LOOPBACK,
            "--port",
            str(self.port),
            "--workers",
            "1",
        ]
        log = self.folder / "server.log"
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        with open(log, "ab") as output:
            self.process = subprocess.Popen(args, stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            wait_until(http_ok(f"{self.uri}/health"), 90, "mlflow server", self.process)
        except (RuntimeError, TimeoutError) as exc:
            self.stop()
            raise RuntimeError(f"{exc}\n{log.read_text()[-3000:]}") from exc
        return self.uri

    def stop(self) -> None:
        """Stop the server (by its PID); the store stays for the next start."""
        if self.process is not None:
            stop(self.process)
            self.process = None


@contextmanager
def mlflow_server(folder: Path, port: int | None = None) -> Iterator[str]:
    """A running ``MlflowServer`` for the duration of the block; yields its URI."""
    server = MlflowServer(folder, port)
    try:
        yield server.start()
    finally:
        server.stop()
