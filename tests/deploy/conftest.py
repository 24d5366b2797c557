"""The Helm chart rendered by the real helm binary (deploy/helm/install-helm.sh installs it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from devkit.processes import REPO_ROOT, find_program

CHART = REPO_ROOT / "deploy" / "helm" / "mnist-mlops"
# The values files the chart is checked with: the defaults, and each file in its ci/ folder.
VALUES_FILES = [None, *sorted((CHART / "ci").glob("*.yaml"))]


@pytest.fixture(scope="session")
def helm() -> Path:
    """The helm binary: HELM_PATH, or helm on PATH (the test-runner image has it)."""
    path = find_program("HELM_PATH", ("helm",), "/usr/local/bin/helm")
    if not path.exists():
        pytest.fail(f"helm not found at {path}: sh deploy/helm/install-helm.sh DIR, then HELM_PATH=DIR/helm")
    return path


def run_helm(helm: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run helm; a failure shows its output."""
    result = subprocess.run([str(helm), *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def render(helm: Path, values: Path | None, *extra: str) -> list[dict]:
    """The chart's objects as ``helm template`` renders them with ``values``."""
    args = ["template", "demo", str(CHART), *(["-f", str(values)] if values else []), *extra]
    return [doc for doc in yaml.safe_load_all(run_helm(helm, *args).stdout) if doc]
