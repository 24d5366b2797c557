"""Drive the project's real ``docker compose`` stack from the tests: base images, compose commands.

No registry is reachable on the CI machine, so base images that are missing locally are built as
stand-ins by the script ``STANDIN_IMAGES_SCRIPT`` names (CI's ``.ci/run`` sets it); elsewhere compose
pulls them as usual. The names come from the Dockerfiles and compose.yaml themselves, so they never drift.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from devkit.processes import REPO_ROOT

SERVICES_WITH_IMAGES = ("tracking", "trainer", "predictor", "frontend")
STANDIN_KINDS = ("python", "postgres", "nginx", "minio", "prometheus", "debian")  # what standin-images.sh can build


def base_images() -> list[str]:
    """Every public image the stack starts from: Dockerfile ``FROM`` lines and compose's pulled images."""
    images = set()
    for service in SERVICES_WITH_IMAGES:
        dockerfile = (REPO_ROOT / service / "Dockerfile").read_text()
        images.update(re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE))
    compose = yaml.safe_load((REPO_ROOT / "compose.yaml").read_text())
    images.update(spec["image"] for spec in compose["services"].values() if "build" not in spec)
    return sorted(images)


def standin_kind(image: str) -> str:
    """The stand-in kind for ``image``: the repository's last path part, e.g. quay.io/minio/minio -> minio."""
    name = image.rsplit("/", 1)[-1].split(":", 1)[0]
    if name not in STANDIN_KINDS:
        raise ValueError(f"no stand-in kind for base image {image!r}")
    return name


def run(
    args: list[str], timeout: float, cwd: Path = REPO_ROOT, env: dict[str, str] | None = None, with_log: bool = False
) -> str:
    """Run a command; fail with its output if it exits non-zero.

    Returns stdout, followed by stderr (where the project's programs log) when ``with_log`` is set.
    """
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        output = f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}\n{output}")
    return result.stdout + result.stderr if with_log else result.stdout


def ensure_docker() -> None:
    """Fail clearly unless a Docker engine with Compose v2 answers (CI's .ci/run starts one)."""
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        raise AssertionError("Docker is not running: start it first (make test needs Docker with Compose v2)")


def image_present(image: str) -> bool:
    """Whether the local engine has ``image``."""
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0


def ensure_base_images() -> None:
    """Build stand-ins for base images that are not present, with STANDIN_IMAGES_SCRIPT when it is set."""
    script = os.environ.get("STANDIN_IMAGES_SCRIPT", "")
    missing = [image for image in base_images() if not image_present(image)]
    if missing and script:
        run(["bash", str(script), *(f"{image}={standin_kind(image)}" for image in missing)], timeout=1800)


class ComposeStack:
    """``docker compose`` with the project's compose.yaml (plus an override) under its own project name."""

    def __init__(self, project: str, override: Path, env: dict[str, str]):
        self.project = project
        # --env-file /dev/null: a developer's own .env must not change what the test runs.
        self.base = [
            "docker",
            "compose",
            "--project-directory",
            str(REPO_ROOT),
            "-p",
            project,
            "--env-file",
            "/dev/null",
            "-f",
            str(REPO_ROOT / "compose.yaml"),
            "-f",
            str(override),
        ]
        self.env = env

    def __call__(self, *args: str, timeout: float = 600, with_log: bool = False) -> str:
        """``docker compose <args>``; fails with the output on a non-zero exit (see ``run``)."""
        return run([*self.base, *args], timeout=timeout, env=self.env, with_log=with_log)

    def down(self, *flags: str) -> str:
        """``down`` with the trainer's profile active, so its volume (the Keras cache) is included."""
        return self("--profile", "train", "down", *flags, timeout=300)

    def states(self) -> dict[str, tuple[str, str]]:
        """Service name -> (state, health) of the project's containers."""
        lines = self("ps", "--all", "--format", "json").splitlines()
        containers = [json.loads(line) for line in lines if line.strip()]
        return {c["Service"]: (c["State"], c.get("Health", "")) for c in containers}

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, volumes and networks still labelled with this project (should be none after down -v)."""
        label = f"label=com.docker.compose.project={self.project}"
        found = {}
        for kind, listing in (
            ("containers", ["ps", "-aq"]),
            ("volumes", ["volume", "ls", "-q"]),
            ("networks", ["network", "ls", "-q"]),
        ):
            found[kind] = run(["docker", *listing, "--filter", label], timeout=60).split()
        return found
