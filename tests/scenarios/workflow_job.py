"""Run one job of the GitHub workflow here, its own `run:` steps in its own kind of environment.

    python tests/scenarios/workflow_job.py test [--image python:3.11-slim]
    python tests/scenarios/workflow_job.py e2e

A job with a ``container:`` runs in a container of that image (``--image`` names a local stand-in
where the registry cannot be reached), with a fresh clone of this checkout's HEAD as its workspace
and no Docker inside; a job without one runs on this machine, in a fresh clone. ``uses:`` steps
are GitHub's own (checkout: the clone stands in; setup-python: this machine's python3.11; cache:
nothing) and are not run. ``MNIST_SOURCE_PATH`` is passed on where the download cannot be reached.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "docker-image.yml"


def main() -> int:
    """Clone, then run the job's steps; exit with the job's exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("job")
    parser.add_argument("--image", help="the image to run a container job in (default: the workflow's)")
    args = parser.parse_args()
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"][args.job]
    script = "set -euo pipefail\n" + "\n".join(step["run"] for step in job["steps"] if "run" in step)
    workspace = Path(tempfile.mkdtemp(prefix=f"job-{args.job}-")) / "mnist-mlops"
    subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(workspace)], check=True)
    mnist = os.environ.get("MNIST_SOURCE_PATH")
    if "container" not in job:
        env = {**os.environ, "GITHUB_WORKSPACE": str(workspace)}
        return subprocess.run(["bash", "-c", script], cwd=workspace, env=env).returncode
    image = args.image or job["container"]
    command = [
        "docker",
        "run",
        "--rm",
        "-v",
        f"{workspace}:/workspace",
        "-w",
        "/workspace",
        "-e",
        "GITHUB_WORKSPACE=/workspace",
    ]
    if mnist:
        command += ["-v", f"{mnist}:/data/mnist.npz:ro", "-e", "MNIST_SOURCE_PATH=/data/mnist.npz"]
    return subprocess.run([*command, image, "bash", "-c", script]).returncode


if __name__ == "__main__":
    sys.exit(main())
