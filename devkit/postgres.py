"""A real PostgreSQL 15 in a temporary folder on a free loopback port, and the prediction database in it."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devkit.processes import LOOPBACK, REPO_ROOT, find_program, free_port

# PostgreSQL 15's initdb and pg_ctl live together: the folder of INITDB, or of the initdb on PATH.
POSTGRES_BIN = find_program("INITDB", ("initdb",), "/usr/lib/postgresql/15/bin/initdb").parent


def _as_postgres_user(args: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root; as root, run them as the `postgres` system user.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres_server(folder: Path, user: str, password: str, database: str) -> Iterator[dict[str, str | int]]:
    """A real PostgreSQL (initdb + pg_ctl) on a free loopback port; yields its connection settings."""
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
        create_database(settings, database)
        yield {**settings, "dbname": database}
    finally:
        stop_postgres(folder, check=False)


def create_database(pg: dict, name: str) -> None:
    """Create the database ``name`` on the server ``pg`` (connection settings, as ``postgres_server`` yields)."""
    import psycopg2

    connection = psycopg2.connect(**pg)
    connection.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


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
