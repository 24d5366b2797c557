"""A real multi-node Docker Swarm on one machine, for the tests: one ``dockerd`` per network namespace.

Each node is a network namespace with a veth link to a bridge on this machine and its own Docker
engine (its own data root, exec root, socket and pidfile). Node 0 initialises the swarm as its
manager, the others join as workers over the bridge, exactly as separate machines would over a LAN.
Everything is removed afterwards: engines stopped by PID, mounts, namespaces, links, the bridge and
the one firewall rule. Needs root, ``ip``, ``nsenter``, ``iptables`` and ``dockerd``.

``nsenter --net`` and not ``ip netns exec``: the latter remounts /sys for the namespace, and dockerd
then finds no cgroup devices controller.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devkit.compose_stack import run
from devkit.processes import stop, wait_until

BRIDGE = "mnsw-br0"
SUBNET_PREFIX = "10.231.0"  # the bridge is .1, node n is .(11 + n)
NAMESPACE_PREFIX = "mnist-swarm-"
# Docker's own bridge wants 172.17/16 by default, like this machine's engine: keep the nodes apart.
NODE_POOL = "10.232.{n}.0/24"
FORWARD_RULE = ["FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-j", "ACCEPT"]


@dataclass
class Node:
    """One engine of the swarm: its namespace, address, folder and socket."""

    index: int
    folder: Path

    @property
    def namespace(self) -> str:
        """The network namespace the engine runs in."""
        return f"{NAMESPACE_PREFIX}{self.index}"

    @property
    def address(self) -> str:
        """The node's address on the bridge (what other nodes and the tests reach)."""
        return f"{SUBNET_PREFIX}.{11 + self.index}"

    @property
    def host_link(self) -> str:
        """The host end of the node's veth link."""
        return f"mnsw-veth{self.index}"

    @property
    def socket(self) -> Path:
        """The engine's API socket."""
        return self.folder / "docker.sock"

    @property
    def pidfile(self) -> Path:
        """The engine's pidfile."""
        return self.folder / "docker.pid"

    def docker(self, *args: str, timeout: float = 300, stdin: bytes | None = None) -> str:
        """``docker <args>`` against this node's engine; fails with the output on a non-zero exit."""
        command = ["docker", "-H", f"unix://{self.socket}", *args]
        if stdin is None:
            return run(command, timeout=timeout)
        result = subprocess.run(command, input=stdin, capture_output=True, timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}\n{result.stderr[-2000:]!r}")
        return result.stdout.decode()

    def engine_running(self) -> bool:
        """Whether this node's dockerd answers."""
        command = ["docker", "-H", f"unix://{self.socket}", "info"]
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0

    def engine_pid(self) -> int | None:
        """The PID of this node's dockerd, from its pidfile."""
        try:
            return int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None


def _ip(*args: str) -> None:
    run(["ip", *args], timeout=30)


def _in_namespace(namespace: str, *args: str) -> list[str]:
    return ["nsenter", f"--net=/var/run/netns/{namespace}", *args]


class Swarm:
    """``Swarm(folder, 3).start()`` forms a three-node swarm; ``remove()`` takes all of it away."""

    def __init__(self, folder: Path, size: int = 3):
        self.folder = folder
        self.nodes = [Node(n, folder / f"node{n}") for n in range(size)]
        self._engines: dict[int, subprocess.Popen] = {}

    @property
    def manager(self) -> Node:
        """Node 0: the manager that initialised the swarm."""
        return self.nodes[0]

    def start(self, timeout: float = 120) -> None:
        """Create the network, start every engine, form the swarm; fails (never skips) if any step does."""
        self.remove()  # whatever an interrupted run of this left behind
        _ip("link", "add", BRIDGE, "type", "bridge")
        _ip("addr", "add", f"{SUBNET_PREFIX}.1/24", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        # This machine's Docker sets FORWARD's policy to DROP; the nodes talk to each other over the bridge.
        run(["iptables", "-I", *FORWARD_RULE], timeout=30)
        for node in self.nodes:
            self._start_node(node)
        for node in self.nodes:
            wait_until(node.engine_running, timeout, f"the engine of swarm node {node.index}")
        self.manager.docker("swarm", "init", "--advertise-addr", self.manager.address)
        token = self.manager.docker("swarm", "join-token", "-q", "worker").strip()
        for node in self.nodes[1:]:
            node.docker("swarm", "join", "--token", token, f"{self.manager.address}:2377")
        wait_until(lambda: len(self.ready_nodes()) == len(self.nodes), timeout, "every node ready in the swarm")

    def _start_node(self, node: Node) -> None:
        node.folder.mkdir(parents=True, exist_ok=True)
        _ip("netns", "add", node.namespace)
        _ip("link", "add", node.host_link, "type", "veth", "peer", "name", "eth0", "netns", node.namespace)
        _ip("link", "set", node.host_link, "master", BRIDGE, "up")
        for args in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "addr", "add", f"{node.address}/24", "dev", "eth0"],
            ["ip", "link", "set", "eth0", "up"],
            ["ip", "route", "add", "default", "via", f"{SUBNET_PREFIX}.1"],
        ):
            run(_in_namespace(node.namespace, *args), timeout=30)
        log = open(node.folder / "dockerd.log", "wb")  # noqa: SIM115 - the engine outlives this call
        self._engines[node.index] = subprocess.Popen(
            _in_namespace(
                node.namespace,
                "dockerd",
                "--data-root",
                str(node.folder / "data"),
                "--exec-root",
                str(node.folder / "exec"),
                "-H",
                f"unix://{node.socket}",
                "--pidfile",
                str(node.pidfile),
                "--default-address-pool",
                f"base={NODE_POOL.format(n=node.index)},size=24",
                "--bip",
                f"10.233.{node.index}.1/24",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # No registry is reachable from the nodes: use the loaded image instead of first trying
            # to pull it for every task (each try waits for a DNS timeout). A moby engine setting.
            env={**os.environ, "DOCKER_SERVICE_PREFER_OFFLINE_IMAGE": "1"},
        )

    def ready_nodes(self) -> list[str]:
        """IDs of the nodes the manager sees as Ready."""
        lines = self.manager.docker("node", "ls", "--format", "{{.ID}} {{.Status}}").splitlines()
        return [line.split()[0] for line in lines if line.split()[1] == "Ready"]

    def node_ids(self) -> dict[int, str]:
        """Node index -> swarm node ID (every node answers ``docker info`` with its own)."""
        return {n.index: n.docker("info", "--format", "{{.Swarm.NodeID}}").strip() for n in self.nodes}

    def stop_engine(self, node: Node) -> None:
        """Stop one node's engine, as a machine going away would (its containers stop with it)."""
        process = self._engines.pop(node.index)
        stop(process, timeout=60)

    def load_images(self, images: list[str], nodes: list[Node] | None = None) -> None:
        """Copy images from this machine's engine to the nodes (no registry here): save once, load each."""
        archive = self.folder / "images.tar"
        run(["docker", "save", "-o", str(archive), *images], timeout=1200)
        try:
            for node in nodes or self.nodes:
                node.docker("load", "-q", "-i", str(archive), timeout=1200)
        finally:
            archive.unlink(missing_ok=True)

    def remove(self) -> None:
        """Stop every engine this started (by PID), then remove mounts, namespaces, links and the bridge."""
        for node in self.nodes:
            process = self._engines.pop(node.index, None)
            if process is not None:
                stop(process, timeout=60)
            else:
                _stop_leftover_engine(node)
        for node in self.nodes:
            _best_effort(_unmount_under, node.folder)
            _best_effort(run, ["ip", "netns", "delete", node.namespace], timeout=30)
            _best_effort(run, ["ip", "link", "delete", node.host_link], timeout=30)
        _best_effort(run, ["ip", "link", "delete", BRIDGE], timeout=30)
        while subprocess.run(["iptables", "-C", *FORWARD_RULE], capture_output=True).returncode == 0:
            run(["iptables", "-D", *FORWARD_RULE], timeout=30)
        if self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)


def _stop_leftover_engine(node: Node) -> None:
    """Stop an engine an interrupted earlier run of this started: its pidfile is in our folder."""
    pid = node.engine_pid()
    if pid is None:
        return
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return
    if str(node.folder).encode() not in command:
        return  # the PID now belongs to something else
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), 60, f"leftover engine {pid} to stop")


def _unmount_under(folder: Path) -> None:
    """Unmount whatever an engine left mounted under ``folder`` (overlay layers, namespaces), deepest first."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(f"{folder}/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)


def _best_effort(action: Callable, *args, **kwargs) -> None:
    # Cleanup goes on past what is already gone (a link removed with its namespace, a missing bridge).
    with contextlib.suppress(AssertionError):
        action(*args, **kwargs)


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> float:
    """``wait_until`` that also returns how long it took (for the figures in the notes)."""
    started = time.monotonic()
    wait_until(check, timeout, what)
    return time.monotonic() - started
