"""The tracking entrypoint against real PostgreSQL and a real S3 server (SeaweedFS)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

import boto3
import psycopg2
import pytest
import requests
from mlflow import MlflowClient

from devkit.postgres import create_database, postgres_server, restart_postgres
from devkit.predictor_server import predictor_server
from devkit.processes import REPO_ROOT, free_port, http_ok, running, wait_until
from devkit.s3 import s3_server

pytestmark = pytest.mark.integration

PG_USER, PG_PASSWORD, PG_DB = "mlflow", "pg-test-password", "mlflow"
S3_KEY, S3_SECRET, BUCKET = "test-access-key", "test-secret-key", "mlflow-artifacts"
MODEL = "Mnist_Best_Model"


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    base = tmp_path_factory.mktemp("stores")
    with (
        postgres_server(base / "pg", PG_USER, PG_PASSWORD, PG_DB) as pg,
        s3_server(base / "s3", S3_KEY, S3_SECRET) as endpoint,
    ):
        yield {"pg": pg, "s3": endpoint, "base": base}


def tracking_env(stores, port: int, **extra: str) -> dict[str, str]:
    pg = stores["pg"]
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MLFLOW_"))}
    env.update(
        {
            "POSTGRES_HOST": pg["host"],
            "POSTGRES_PORT": str(pg["port"]),
            "POSTGRES_USER": PG_USER,
            "POSTGRES_PASSWORD": PG_PASSWORD,
            "POSTGRES_DB": PG_DB,
            "MLFLOW_S3_ENDPOINT_URL": stores["s3"],
            "AWS_ACCESS_KEY_ID": S3_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "MLFLOW_ARTIFACTS_BUCKET": BUCKET,
            "MLFLOW_HOST": "127.0.0.1",
            "MLFLOW_PORT": str(port),
            "MLFLOW_WORKERS": "1",
            "DEPENDENCY_WAIT_SECONDS": "30",
            "MLFLOW_METRICS_DIR": str(stores["base"] / f"metrics-{port}"),
        }
    )
    env.update(extra)
    return env


@contextmanager
def tracking_server(stores, log_name: str):
    """The project's tracking entrypoint (python -m tracking), which execs mlflow server."""
    port = free_port()
    log = stores["base"] / log_name
    with running([sys.executable, "-m", "tracking"], log, tracking_env(stores, port)) as process:
        try:
            wait_until(http_ok(f"http://127.0.0.1:{port}/health"), 120, "tracking server", process)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{log.read_text()[-4000:]}") from exc
        yield f"http://127.0.0.1:{port}", log


def s3(stores):
    return boto3.client(
        "s3",
        endpoint_url=stores["s3"],
        aws_access_key_id=S3_KEY,
        aws_secret_access_key=S3_SECRET,
        region_name="us-east-1",
    )


def without_credentials() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MLFLOW_S3"))}


@pytest.fixture(scope="module")
def trained_stack(stores, mnist_slice):
    """First start (fresh database, no bucket), then one trainer run of 1 epoch against it."""
    bucket_names = [b["Name"] for b in s3(stores).list_buckets().get("Buckets", [])]
    assert BUCKET not in bucket_names, "the test must start without the bucket"
    with tracking_server(stores, "first.log") as (uri, log):
        # without_credentials() replaces the whole environment: no S3 credentials reach the trainer
        env = {
            **without_credentials(),
            "MLFLOW_TRACKING_URI": uri,
            "MNIST_PATH": str(mnist_slice),
            "TRAINER_EPOCHS": "1",
            "MLFLOW_EXPERIMENT_NAME": "stack",
        }
        result = subprocess.run(
            [sys.executable, "-m", "trainer"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        yield {"uri": uri, "log": log.read_text(), "stdout": result.stdout}


def test_entrypoint_creates_the_missing_bucket_and_fresh_schema(trained_stack, stores):
    assert f"bucket '{BUCKET}' created" in trained_stack["log"]
    assert "database schema: empty" in trained_stack["log"]
    s3(stores).head_bucket(Bucket=BUCKET)


def test_runs_and_registry_are_rows_in_postgresql(trained_stack, stores):
    pg = stores["pg"]
    with psycopg2.connect(**pg) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.status, count(*) FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
            "WHERE e.name = 'stack' GROUP BY r.status"
        )
        assert cursor.fetchall() == [("FINISHED", 3)]
        cursor.execute("SELECT count(*) FROM metrics WHERE key = 'val_accuracy'")
        assert cursor.fetchone()[0] >= 3
        cursor.execute("SELECT alias, version FROM registered_model_aliases WHERE name = %s", (MODEL,))
        assert [row[0] for row in cursor.fetchall()] == ["production"]


def test_artifacts_are_objects_in_the_bucket(trained_stack, stores):
    keys = []
    for page in s3(stores).get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    client = MlflowClient(trained_stack["uri"])
    experiment = client.get_experiment_by_name("stack")
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3
    for run in runs:  # the run's plots and its two models (an ONNX one among them), by run and model id
        assert any(run.info.run_id in key and key.endswith("plots/confusion_matrix.png") for key in keys)
        models = client.search_logged_models([experiment.experiment_id], f"source_run_id = '{run.info.run_id}'")
        assert {model.name for model in models} == {"model", "onnx_model"}
        onnx_model = next(model for model in models if model.name == "onnx_model")
        assert any(onnx_model.model_id in key and key.endswith("model.onnx") for key in keys)
    assert any(key.endswith("MLmodel") for key in keys)


# A notebook: the tracking URI in code, no MLflow (or S3) variable in its environment.
NOTEBOOK = """
import json, sys, time
import mlflow, numpy as np, onnxruntime
from mlflow import MlflowClient
mlflow.set_tracking_uri(sys.argv[1])
started = time.monotonic()
model = mlflow.keras.load_model("models:/Mnist_Best_Model@production")
version = MlflowClient().get_model_version_by_alias("Mnist_Best_Model", "production")
folder = mlflow.artifacts.download_artifacts(version.tags["onnx_model_uri"])
session = onnxruntime.InferenceSession(folder + "/model.onnx")
x = np.zeros((1, 28, 28, 1), np.float32)
print(json.dumps({"keras": model.output_shape, "onnx": session.run(None, {session.get_inputs()[0].name: x})[0].shape,
                  "seconds": time.monotonic() - started}))
"""


def test_a_notebook_with_no_mlflow_settings_loads_the_model_through_the_server(trained_stack, stores, tmp_path):
    # The server advertises no presigned transfers (tracking/artifacts.py): clients never try S3,
    # which in the stack sits on a network only the server reaches.
    info = requests.get(f"{trained_stack['uri']}/api/3.0/mlflow/server-info", timeout=10).json()
    assert info["multipart_downloads_enabled"] is False and info["multipart_uploads_enabled"] is False
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", NOTEBOOK, trained_stack["uri"]],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["keras"] == [None, 10] and loaded["onnx"] == [1, 10]
    assert loaded["seconds"] < 60, f"loading took {loaded['seconds']:.0f} s"
    print(f"\nnotebook: both models loaded in {loaded['seconds']:.1f} s")
    server_log = (stores["base"] / "first.log").read_text()
    assert "/mlflow-artifacts/artifacts/" in server_log and "model.onnx" in server_log
    assert "/mlflow-artifacts/presigned/" not in server_log, "no client may fetch from S3 directly"


def test_host_header_allow_list(trained_stack):
    url = f"{trained_stack['uri']}/api/2.0/mlflow/experiments/search?max_results=1"
    assert requests.get(url, headers={"Host": "tracking:5000"}, timeout=10).status_code == 200
    assert requests.get(url, headers={"Host": "localhost:5000"}, timeout=10).status_code == 200
    refused = requests.get(url, headers={"Host": "evil.example"}, timeout=10)
    assert refused.status_code == 403


def test_the_server_exposes_prometheus_metrics(trained_stack):
    requests.get(f"{trained_stack['uri']}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10)
    response = requests.get(f"{trained_stack['uri']}/metrics", timeout=10)
    assert response.status_code == 200
    assert "mlflow_http_request_total" in response.text and "mlflow_http_request_duration_seconds" in response.text


def test_second_start_on_the_same_stores_loses_nothing(trained_stack, stores):
    with tracking_server(stores, "second.log") as (uri, log):
        text = log.read_text()
        assert f"bucket '{BUCKET}' exists" in text
        assert "database schema: current" in text
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        experiment = client.get_experiment_by_name("stack")
        assert len(client.search_runs([experiment.experiment_id])) == 3
        version = client.get_model_version_by_alias(MODEL, "production")
        local = client.download_artifacts(version.run_id, "plots/learning_curves.png", str(stores["base"]))
        assert Path(local).read_bytes().startswith(b"\x89PNG")


def run_entrypoint(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tracking"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"POSTGRES_PASSWORD": ""}, "POSTGRES_PASSWORD must be set"),
        ({"POSTGRES_PASSWORD": "wrong"}, "PostgreSQL not ready after 2s"),
        ({"AWS_SECRET_ACCESS_KEY": "wrong"}, "S3 not ready after 2s"),
        ({"MLFLOW_ALLOWED_HOSTS": "*"}, "not '*'"),
    ],
)
def test_bad_configuration_is_a_clear_error_and_non_zero_exit(stores, override, message):
    env = tracking_env(stores, free_port(), DEPENDENCY_WAIT_SECONDS="2", **override)
    result = run_entrypoint(env)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_postgres_gives_up_within_the_wait(stores):
    env = tracking_env(stores, free_port(), DEPENDENCY_WAIT_SECONDS="2", POSTGRES_PORT=str(free_port()))
    result = run_entrypoint(env)
    assert result.returncode == 1 and "PostgreSQL not ready after 2s" in result.stderr


def test_postgresql_restarted_under_a_running_tracking_server_recovers_by_itself(trained_stack, stores):
    client = MlflowClient(tracking_uri=trained_stack["uri"], registry_uri=trained_stack["uri"])
    experiment = client.get_experiment_by_name("stack")
    runs_before = len(client.search_runs([experiment.experiment_id]))
    restart_experiment = client.create_experiment(f"pg-restart-{time.time_ns()}")
    restart_postgres(stores["base"] / "pg")

    def reads_and_writes() -> bool:
        response = requests.post(
            f"{trained_stack['uri']}/api/2.0/mlflow/runs/search",
            timeout=10,
            json={"experiment_ids": [experiment.experiment_id]},
        )
        return response.status_code == 200 and len(response.json().get("runs", [])) >= runs_before

    # The server's stale connections fail at most briefly; no restart of the tracking server.
    wait_until(reads_and_writes, 30, "tracking server after the PostgreSQL restart")
    run = client.create_run(restart_experiment, run_name="after-pg-restart")
    client.set_terminated(run.info.run_id)
    assert client.get_run(run.info.run_id).info.status == "FINISHED"


def test_s3_down_during_training_fails_the_run_and_leaves_the_alias(trained_stack, stores, mnist_slice, tmp_path):
    registry = MlflowClient(tracking_uri=trained_stack["uri"], registry_uri=trained_stack["uri"])
    served = registry.get_model_version_by_alias(MODEL, "production").version
    with ExitStack() as s3_alive:
        # A second S3 server for this tracking server only, stopped once the server is up.
        endpoint = s3_alive.enter_context(s3_server(tmp_path / "s3", S3_KEY, S3_SECRET))
        with tracking_server({**stores, "s3": endpoint, "base": tmp_path}, "s3-down.log") as (uri, _log):
            s3_alive.close()
            env = {
                **without_credentials(),
                "MLFLOW_TRACKING_URI": uri,
                "MNIST_PATH": str(mnist_slice),
                "TRAINER_EPOCHS": "1",
                "TRAINER_RUNS": "baseline",
                "MLFLOW_EXPERIMENT_NAME": "stack-s3-down",
            }
            result = subprocess.run(
                [sys.executable, "-m", "trainer"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600
            )
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            experiment = client.get_experiment_by_name("stack-s3-down")
            statuses = [run.info.status for run in client.search_runs([experiment.experiment_id])]
            alias_now = client.get_model_version_by_alias(MODEL, "production").version
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Nothing was registered" in result.stderr, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert statuses == ["FAILED"]
    assert alias_now == served


def test_optional_basic_auth_refuses_anonymous_requests_and_the_services_sign_in(stores, mnist_slice, tmp_path):
    admin_password = "auth-test-admin-pw"
    port = free_port()
    env = tracking_env(
        stores,
        port,
        MLFLOW_AUTH_ADMIN_PASSWORD=admin_password,
        MLFLOW_AUTH_DATABASE_URI=f"sqlite:///{tmp_path / 'auth' / 'basic_auth.db'}",
    )
    log = tmp_path / "auth.log"
    with running([sys.executable, "-m", "tracking"], log, env) as process:
        uri = f"http://127.0.0.1:{port}"
        wait_until(http_ok(f"{uri}/health"), 120, "tracking server with basic-auth", process)
        assert "authentication: basic-auth, admin user 'admin'" in log.read_text()
        search = f"{uri}/api/2.0/mlflow/experiments/search?max_results=5"
        assert requests.get(search, timeout=10).status_code == 401
        assert requests.get(search, auth=("admin", "wrong"), timeout=10).status_code == 401
        assert requests.get(search, auth=("admin", admin_password), timeout=10).status_code == 200
        trainer = {
            **without_credentials(),
            "MLFLOW_TRACKING_URI": uri,
            "MNIST_PATH": str(mnist_slice),
            "TRAINER_EPOCHS": "1",
            "TRAINER_RUNS": "baseline",
            "MLFLOW_EXPERIMENT_NAME": "stack-auth",
        }
        anonymous = subprocess.run(
            [sys.executable, "-m", "trainer"], cwd=REPO_ROOT, env=trainer, capture_output=True, text=True, timeout=600
        )
        assert anonymous.returncode == 4 and "MLFLOW_TRACKING_USERNAME" in anonymous.stderr, anonymous.stderr[-2000:]
        signed_in = {**trainer, "MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": admin_password}
        result = subprocess.run(
            [sys.executable, "-m", "trainer"], cwd=REPO_ROOT, env=signed_in, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        # A predictor without credentials says it is refused; with them it signs in as the trainer does
        # (MLflow's client reads the credentials from its environment).
        with predictor_server(uri, tmp_path / "anonymous-cache", tmp_path / "anonymous.log") as (anonymous_url, _, _):
            wait_until(
                lambda: "refused" in requests.get(f"{anonymous_url}/ready", timeout=5).json()["message"],
                30,
                "the refusal reported",
            )
            assert "HTTP 401" in requests.get(f"{anonymous_url}/ready", timeout=5).json()["message"]
        credentials = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": admin_password}
        alias = requests.get(
            f"{uri}/api/2.0/mlflow/registered-models/alias",
            timeout=10,
            auth=("admin", admin_password),
            params={"name": MODEL, "alias": "production"},
        )
        version = alias.json()["model_version"]["version"]
        with predictor_server(uri, tmp_path / "cache", tmp_path / "predictor.log", extra_env=credentials) as (
            predictor,
            _process,
            _started,
        ):
            wait_until(http_ok(f"{predictor}/ready"), 60, "predictor signed in to the tracking server")
            assert requests.get(f"{predictor}/model", timeout=5).json()["version"] == version
    assert admin_password not in log.read_text()


def test_two_tracking_servers_share_basic_auth_users_kept_in_postgresql(stores, tmp_path):
    """With MLFLOW_AUTH_DATABASE_URI on PostgreSQL, the tracking server can run as several replicas."""
    pg = stores["pg"]
    create_database(pg, "mlflow_auth")
    auth_uri = f"postgresql+psycopg2://{PG_USER}:{PG_PASSWORD}@{pg['host']}:{pg['port']}/mlflow_auth"
    admin = ("admin", "replicas-admin-pw")
    servers = []
    with ExitStack() as running_servers:
        for name in ("a", "b"):  # one after the other, as a rolling start would bring them up
            port = free_port()
            env = tracking_env(
                stores,
                port,
                MLFLOW_AUTH_ADMIN_PASSWORD=admin[1],
                MLFLOW_AUTH_DATABASE_URI=auth_uri,
                MLFLOW_FLASK_SERVER_SECRET_KEY="shared-by-the-replicas",
            )
            log = tmp_path / f"replica-{name}.log"
            process = running_servers.enter_context(running([sys.executable, "-m", "tracking"], log, env))
            wait_until(http_ok(f"http://127.0.0.1:{port}/health"), 120, f"tracking replica {name}", process)
            servers.append(f"http://127.0.0.1:{port}")
        first, second = servers
        created = requests.post(
            f"{first}/api/2.0/mlflow/users/create",
            json={"username": "alice", "password": "alice-password-1"},
            auth=admin,
            timeout=10,
        )
        assert created.status_code == 200, created.text
        search = "api/2.0/mlflow/experiments/search?max_results=5"
        assert requests.get(f"{second}/{search}", auth=("alice", "alice-password-1"), timeout=10).status_code == 200
        assert requests.get(f"{second}/{search}", auth=("alice", "wrong"), timeout=10).status_code == 401
        assert requests.get(f"{second}/{search}", timeout=10).status_code == 401
    connection = psycopg2.connect(**{**pg, "dbname": "mlflow_auth"})
    with connection, connection.cursor() as cursor:
        cursor.execute("SELECT username FROM users ORDER BY username")
        users = [row[0] for row in cursor.fetchall()]
    connection.close()
    assert users == ["admin", "alice"]
