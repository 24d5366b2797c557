"""Load test: 20,000 canvas PNGs at concurrency 32 through nginx to the predictor.

Starts the predictor as the image does (its own gunicorn defaults) against a registry with a
production model, puts the project's nginx (frontend/) in front, warms up, then sends the requests
with ``ab`` (exactly that many) and checks the two things that must hold under load: zero errors,
and the workers' resident memory grows by less than 10 %:

    python benchmarks/load_test.py --tracking-uri sqlite:////tmp/store/mlflow.db

(any store with ``Mnist_Best_Model@production``, e.g. from ``train_benchmark.py --keep-store``).
Prints a Markdown table; exits 1 if there were errors or the memory grew 10 % or more.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devkit.load import MAX_GROWTH, load_check, require  # noqa: E402 - after the path set-up above
from devkit.nginx import nginx_server  # noqa: E402
from devkit.predictor_server import predictor_server, shipped_predictor_env  # noqa: E402
from devkit.processes import http_ok, wait_until  # noqa: E402


def main() -> int:
    """Start predictor and nginx, run the load, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default="http://localhost:5000", help="where the registered model is")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2_000)
    args = parser.parse_args()
    require("ab", "apache2-utils")
    shipped = shipped_predictor_env()
    folder = Path(tempfile.mkdtemp(prefix="load-test-"))
    try:
        with predictor_server(args.tracking_uri, folder / "cache", folder / "gunicorn.log", extra_env=shipped) as (
            direct,
            process,
            _started,
        ):
            wait_until(http_ok(f"{direct}/ready"), 120, "model loaded")
            with nginx_server(folder / "nginx", direct.removeprefix("http://")) as site:
                figures = load_check(site, process.pid, folder, args.requests, args.concurrency, args.warmup)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cores = os.cpu_count()
    print(f"\n{figures['requests']} requests at concurrency {args.concurrency} through nginx ({cores} cores)\n")
    print("| requests | errors | req/s | p50 ms | p99 ms | worker RSS before | after | growth | workers replaced |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {figures['requests']} | {figures['errors']} | {figures['rps']:.0f} | {figures['p50']:.1f} "
        f"| {figures['p99']:.1f} | {figures['rss_before_mib']:.1f} MiB | {figures['rss_after_mib']:.1f} MiB "
        f"| {figures['growth'] * 100:+.1f} % | {'yes' if figures['workers_replaced'] else 'no'} |"
    )
    healthy = figures["errors"] == 0 and figures["growth"] < MAX_GROWTH and not figures["workers_replaced"]
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
