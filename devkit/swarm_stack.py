"""The stack deployed on a real three-node Docker Swarm (devkit/swarm.py), and what it answers.

``deployed_stack(mnist)`` does what a person does, on three engines of this machine: builds the
project's images as compose builds them, copies them and the base images to every node (no
registry here), runs ``deploy/swarm/deploy.sh`` with an override that only shrinks the training,
and waits for the trainer job's model on every replica. ``make test-swarm`` and
``benchmarks/swarm_throughput.py`` both start from it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

from devkit.compose_stack import base_images, ensure_base_images, ensure_docker, image_present, run
from devkit.drawing import SEVEN, png_bytes, stroke_digit
from devkit.processes import REPO_ROOT, wait_until
from devkit.swarm import Node, Swarm

STACK = "mnist"
MODEL = "Mnist_Best_Model"
ALIAS = "production"
TAG_SUFFIX = "-swarm"
PROJECT_IMAGES = [f"mnist-mlops/mlops-mnist:{s}{TAG_SUFFIX}" for s in ("tracking", "trainer", "predictor", "frontend")]
# A fixed folder, so a run that was interrupted leaves engines the next one finds (by pidfile) and stops.
SWARM_FOLDER = Path("/tmp/mnist-mlops-swarm")
SEVEN_PNG = png_bytes(stroke_digit(SEVEN))
BOOTED_LINE = re.compile(r"Booting worker with pid: (\d+)")


@dataclass
class SwarmStack:
    """The deployed stack: the swarm, the page on every node, and the MLflow server's login."""

    swarm: Swarm
    admin_password: str
    version: str = ""

    @property
    def tracking(self) -> str:
        """The MLflow server's published port, on the stores' node."""
        return f"http://{self.swarm.manager.address}:5000"

    def frontend(self, node: Node) -> str:
        """The page as published on ``node`` (host mode, port 80 of its address)."""
        return f"http://{node.address}"

    def mlflow(self, method: str, path: str, **kwargs) -> dict:
        """A call to the MLflow REST API through the published port, logged in as admin."""
        response = requests.request(
            method, f"{self.tracking}/api/2.0/mlflow/{path}", auth=("admin", self.admin_password), timeout=10, **kwargs
        )
        response.raise_for_status()
        return response.json()

    def production_version(self) -> str:
        """The model version behind the alias, from the registry."""
        alias = self.mlflow("GET", "registered-models/alias", params={"name": MODEL, "alias": ALIAS})
        return alias["model_version"]["version"]

    def tasks(self, service: str) -> list[dict]:
        """The service's tasks that should be running: id, node id, state, image."""
        manager = self.swarm.manager
        ids = manager.docker("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", service)
        if not ids.split():
            return []
        listing = manager.docker("inspect", "--format", "{{json .}}", *ids.split()).splitlines()
        tasks = [json.loads(line) for line in listing if line.strip()]
        return [
            {
                "id": t["ID"],
                "node": t.get("NodeID", ""),
                "state": t["Status"]["State"],
                "image": t["Spec"]["ContainerSpec"]["Image"].split("@")[0],
            }
            for t in tasks
        ]

    def running_on(self, service: str) -> list[str]:
        """Node ids of the service's running tasks (one entry per task)."""
        return [t["node"] for t in self.tasks(service) if t["state"] == "running"]

    def replicas(self) -> dict[str, str]:
        """Service name -> ``docker service ls``'s REPLICAS column (``3/3``, ``1/1 (1/1 completed)``)."""
        lines = self.swarm.manager.docker("service", "ls", "--format", "{{.Name}}\t{{.Replicas}}").splitlines()
        return dict(line.split("\t", 1) for line in lines if line.strip())

    def served_version(self, node: Node) -> str | None:
        """The version one answer of ``/api/model`` through the node's page names (None: no model)."""
        answer = requests.get(f"{self.frontend(node)}/api/model", timeout=10)
        return answer.json().get("version") if answer.ok else None

    def every_worker_serves(self, version: str) -> bool:
        """Whether every gunicorn worker of every running predictor task has logged serving ``version``.

        Each worker follows the registry on its own, and an answer through nginx comes from whichever
        worker is free, so answers can miss a worker that is still waiting for its next check. The
        log cannot: each worker says "Booting worker with pid: N", then "[N] ... now serving".
        """
        booted: defaultdict[str, set[str]] = defaultdict(set)  # task id -> worker pids
        serving: defaultdict[str, set[str]] = defaultdict(set)
        serving_line = re.compile(rf"\[(\d+)\] \[INFO\] now serving {MODEL} version {re.escape(version)} ")
        for task, message in self.predictor_log():
            if found := BOOTED_LINE.search(message):
                booted[task].add(found.group(1))
            elif found := serving_line.search(message):
                serving[task].add(found.group(1))
        running = [t["id"] for t in self.tasks(f"{STACK}_predictor") if t["state"] == "running"]
        return bool(running) and all(booted[t] and booted[t] <= serving[t] for t in running)

    def recorded_predictions(self) -> set[str]:
        """The ids of the prediction database's rows, read in the PostgreSQL container on the stores' node."""
        manager = self.swarm.manager
        container = manager.docker(
            "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={STACK}_postgres"
        ).split()[0]
        ids = manager.docker(
            "exec", container, "psql", "-U", "mlflow", "-d", "feedback", "-tAc", "SELECT id FROM predictions"
        )
        return set(ids.split())

    def predictor_log(self) -> list[tuple[str, str]]:
        """``docker service logs`` of the predictor as (task id, message) pairs."""
        logs = run(
            [
                "docker",
                "-H",
                f"unix://{self.swarm.manager.socket}",
                "service",
                "logs",
                "--no-trunc",
                f"{STACK}_predictor",
            ],
            timeout=120,
            with_log=True,
        )
        lines = []
        for line in logs.splitlines():
            prefix, _, message = line.partition("|")
            lines.append((prefix.strip().split(".")[-1].split("@")[0], message))
        return lines

    def served_by_task(self) -> Counter:
        """How many POST /predict each predictor task answered, from the service's logs."""
        served: Counter = Counter()
        for task, message in self.predictor_log():
            if '"path": "/predict"' in message and '"method": "POST"' in message:
                served[task] += 1
        return served


def build_project_images() -> None:
    """Build the four images as compose builds them (cached layers make a second build quick)."""
    env = {**os.environ, "IMAGE_TAG_SUFFIX": TAG_SUFFIX}
    compose = ["docker", "compose", "--project-directory", str(REPO_ROOT), "--env-file", "/dev/null"]
    run([*compose, "-f", str(REPO_ROOT / "compose.yaml"), "--profile", "train", "build"], timeout=3600, env=env)


def stack_images() -> list[str]:
    """Every image the stack file names, with this run's tag suffix."""
    stack = yaml.safe_load((REPO_ROOT / "deploy/swarm/stack.yaml").read_text())
    names = {spec["image"] for spec in stack["services"].values()}
    public = {name for name in names if "${" not in name}
    assert public <= set(base_images()), f"stack.yaml names base images compose.yaml does not: {public}"
    return sorted(public | set(PROJECT_IMAGES))


def training_override(folder: Path, mnist_full: Path) -> Path:
    """A stack file on top of stack.yaml that only shrinks the trainer's work (one short run, local MNIST)."""
    override = {
        "version": "3.9",
        "services": {
            "trainer": {
                "environment": {
                    "MNIST_PATH": "/data/mnist.npz",
                    "MNIST_TRAIN_LIMIT": "10000",
                    "MNIST_TEST_LIMIT": "2000",
                    "TRAINER_EPOCHS": "1",
                    "TRAINER_RUNS": "baseline",
                },
                "volumes": [
                    {"type": "bind", "source": str(mnist_full), "target": "/data/mnist.npz", "read_only": True}
                ],
            }
        },
    }
    path = folder / "stack.test.yaml"
    path.write_text(yaml.safe_dump(override))
    return path


@contextmanager
def deployed_stack(mnist_full: Path) -> Iterator[SwarmStack]:
    """The stack deployed on three engines, converged, the trainer job's model served by every replica.

    Everything is removed on the way out (devkit/swarm.py); fails, never skips, when a step does.
    """
    ensure_docker()
    ensure_base_images()
    build_project_images()
    images = stack_images()
    for image in images:
        if not image_present(image):  # compose pulls what it runs; the swarm's nodes cannot
            run(["docker", "pull", image], timeout=900)
    swarm = Swarm(SWARM_FOLDER, 3)
    try:
        swarm.start()
        swarm.load_images(images)
        deployed = SwarmStack(swarm, admin_password=secrets.token_hex(12))
        env = {
            **os.environ,
            "DOCKER_HOST": f"unix://{swarm.manager.socket}",
            "IMAGE_TAG_SUFFIX": TAG_SUFFIX,
            "MLFLOW_ADMIN_PASSWORD": deployed.admin_password,
            "MLFLOW_PUBLIC_HOST": swarm.manager.address,
            "MODEL_POLL_SECONDS": "3",
            "RESOLVE_IMAGE": "never",
            "STACK_OVERRIDE": str(training_override(SWARM_FOLDER, mnist_full)),
        }
        run(["sh", str(REPO_ROOT / "deploy/swarm/deploy.sh"), STACK], timeout=300, env=env)
        wait_until(
            lambda: deployed.replicas().get(f"{STACK}_trainer", "").endswith("(1/1 completed)"), 900, "the trainer job"
        )
        deployed.version = deployed.production_version()
        wait_until(lambda: deployed.every_worker_serves(deployed.version), 180, "the model in every predictor worker")
        yield deployed
    finally:
        swarm.remove()
