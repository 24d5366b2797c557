"""`docker compose config` accepts the compose file, with and without a .env."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from devkit.services import REPO_ROOT

pytestmark = pytest.mark.integration


def compose(*args: str, env_file: str | None = None) -> subprocess.CompletedProcess:
    if shutil.which("docker") is None:
        pytest.fail("docker is not installed: run ../shared/ci/docker-up.sh (CI's .ci/run does)")
    command = ["docker", "compose", "--project-directory", str(REPO_ROOT)]
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
