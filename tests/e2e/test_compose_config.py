"""`docker compose config` accepts the compose file, with and without a .env, and with an override."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from devkit.processes import REPO_ROOT

pytestmark = pytest.mark.e2e


def compose(*args: str, env_file: str | None = None, files: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    if shutil.which("docker") is None:
        pytest.fail("docker is not installed: the tests in tests/e2e drive Docker with Compose v2")
    command = ["docker", "compose", "--project-directory", str(REPO_ROOT), "-f", str(REPO_ROOT / "compose.yaml")]
    for extra in files:
        command += ["-f", extra]
    if env_file:
        command += ["--env-file", env_file]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)


def test_compose_file_is_valid_without_a_dot_env():
    result = compose("config", "-q", env_file="/dev/null")
    assert result.returncode == 0, result.stderr


def test_compose_file_is_valid_with_the_example_env_and_uses_it(tmp_path):
    env_file = tmp_path / "test.env"
    example = (REPO_ROOT / ".env.example").read_text()
    env_file.write_text(example.replace("MLFLOW_UI_PORT=5000", "MLFLOW_UI_PORT=15000"))
    result = compose("--profile", "train", "config", env_file=str(env_file))
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    ports = rendered["services"]["tracking"]["ports"]
    assert [(port["published"], port["target"], port["host_ip"]) for port in ports] == [("15000", 5000, "127.0.0.1")]
    assert rendered["services"]["trainer"]["environment"]["MLFLOW_TRACKING_URI"] == "http://tracking:5000"


OTHER_S3_STORE = """
services:
  tracking:
    environment:
      MLFLOW_S3_ENDPOINT_URL: https://s3.eu-west-1.amazonaws.com
      AWS_DEFAULT_REGION: eu-west-1
    depends_on: !override
      postgres: {condition: service_healthy}
"""


def test_the_documented_override_for_another_s3_store_is_valid(tmp_path):
    override = tmp_path / "compose.override.yaml"
    override.write_text(OTHER_S3_STORE)  # as docs/operations.md shows it
    result = compose("config", env_file="/dev/null", files=(str(override),))
    assert result.returncode == 0, result.stderr
    tracking = yaml.safe_load(result.stdout)["services"]["tracking"]
    assert tracking["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "https://s3.eu-west-1.amazonaws.com"
    assert set(tracking["depends_on"]) == {"postgres"}, "the stack's MinIO is no longer needed"
