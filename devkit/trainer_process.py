"""``python -m trainer`` run as a subprocess, as a person runs it."""

from __future__ import annotations

import os
import subprocess
import sys

from devkit.processes import REPO_ROOT


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
