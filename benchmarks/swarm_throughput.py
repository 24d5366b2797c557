"""Predictions per second through a real three-node Docker Swarm with 1, 2 and 3 predictor replicas.

    sudo .venv/bin/python benchmarks/swarm_throughput.py --mnist-path ../shared/data/mnist.npz

Forms the same swarm as ``make test-swarm`` (devkit/swarm.py: three engines in network namespaces
on this machine), deploys deploy/swarm/stack.yaml with one short training, then for each replica
count sends the same canvas PNG with ``ab`` to every node's page at once (a load balancer in front
would spread people over the nodes the same way) and adds the three rates up. The nodes share this
machine's cores, so more replicas add capacity only up to what the cores give: the figure shows the
path works and what the overhead is, not how a cluster of real machines scales.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devkit.load import require, run_ab  # noqa: E402 - after the path set-up above
from devkit.mnist import MnistUnavailableError, mnist_path  # noqa: E402
from devkit.processes import wait_until  # noqa: E402
from devkit.swarm_stack import SEVEN_PNG, STACK, deployed_stack  # noqa: E402


def main() -> int:
    """Deploy once, measure each replica count, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mnist-path", type=Path, help="Keras mnist.npz (default: devkit/mnist.py's)")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--requests", type=int, default=1500, help="per node and replica count")
    parser.add_argument("--connections", type=int, default=8, help="per node")
    args = parser.parse_args()
    require("ab", "apache2-utils")
    try:
        mnist = args.mnist_path or mnist_path()
    except MnistUnavailableError as exc:
        sys.exit(f"error: {exc}")
    rows = []
    with tempfile.TemporaryDirectory() as folder, deployed_stack(mnist) as stack:
        body = Path(folder) / "seven.png"
        body.write_bytes(SEVEN_PNG)
        urls = [f"{stack.frontend(node)}/api/predict" for node in stack.swarm.nodes]
        for replicas in args.replicas:
            stack.swarm.manager.docker("service", "scale", f"{STACK}_predictor={replicas}", timeout=600)
            wait_until(lambda: stack.every_worker_serves(stack.version), 300, f"{replicas} replica(s) serving")
            with ThreadPoolExecutor(len(urls)) as pool:
                list(pool.map(lambda url: run_ab(url, body, "image/png", 200, args.connections), urls))  # warm-up
                results = list(
                    pool.map(lambda url: run_ab(url, body, "image/png", args.requests, args.connections), urls)
                )
            rows.append(
                (
                    replicas,
                    sum(r["rps"] for r in results),
                    statistics.median(r["p50"] for r in results),
                    max(r["p99"] for r in results),
                    sum(r["errors"] for r in results),
                )
            )
            print(f"{replicas} replica(s): {rows[-1][1]:.0f} req/s", file=sys.stderr)
    print(f"\n{len(urls)} nodes' pages at once, {args.connections} connections each, {args.requests} requests each\n")
    print("| predictor replicas | requests/s (sum) | p50 ms | p99 ms | errors |")
    print("|---|---|---|---|---|")
    for replicas, rps, p50, p99, errors in rows:
        print(f"| {replicas} | {rps:.0f} | {p50:.0f} | {p99:.0f} | {errors} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
