"""Serving benchmark: this predictor against MLflow's own scoring server, side by side, same model.

Both serve the same registered version of ``Mnist_Best_Model@production`` on this machine:

- the predictor gets the same 280x280 canvas PNG every time and does all of its preprocessing.
  By default the benchmark starts it (gunicorn with the predictor's own defaults); with
  ``--predictor-url NAME=URL`` (repeatable) it loads ones that already run, e.g. the compose stack
  through nginx, ``--predictor-url stack=http://127.0.0.1/api``, or two versions side by side;
- ``mlflow models serve -m models:/Mnist_Best_Model@production --env-manager local`` (2 workers,
  the Keras model on TensorFlow) gets the equivalent preprocessed 28x28x1 tensor as JSON.

Load comes from ``wrk`` (Debian package ``wrk``) at each ``--concurrency`` for ``--seconds``,
alternating between the two servers for ``--rounds`` rounds (medians are reported):

    .venv/bin/python benchmarks/serving_benchmark.py --tracking-uri sqlite:////tmp/store/mlflow.db

(a store with a registered model, e.g. from ``train_benchmark.py --keep-store /tmp/store``, or the
stack's ``http://localhost:5000``). Prints a Markdown table of requests/s, p50 and p99 latency and errors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devkit.drawing import SEVEN, stroke_digit  # noqa: E402 - after the path set-up above
from devkit.load import require, run_wrk  # noqa: E402
from devkit.predictor_server import predictor_server, shipped_predictor_env  # noqa: E402
from devkit.processes import free_port, http_ok, running, wait_until  # noqa: E402
from predictor import preprocess  # noqa: E402


@contextlib.contextmanager
def our_predictors(args: argparse.Namespace, folder: Path):
    """Name -> URL of the predictors to load: the ones given, or one started here with its own defaults."""
    if args.predictor_url:
        urls = dict(item.split("=", 1) for item in args.predictor_url)
        for name, url in urls.items():
            wait_until(http_ok(f"{url}/ready"), 120, name)
        yield {name: url.rstrip("/") for name, url in urls.items()}
        return
    with predictor_server(
        args.tracking_uri, folder / "cache", folder / "predictor.log", extra_env=shipped_predictor_env()
    ) as (url, process, _started):
        wait_until(http_ok(f"{url}/ready"), 120, "predictor", process)
        yield {"predictor": url}


def main() -> int:
    """Start both servers, load them in interleaved rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default="http://localhost:5000", help="where the registered model is")
    parser.add_argument(
        "--predictor-url",
        action="append",
        metavar="NAME=URL",
        help="load this running predictor instead of starting one (repeatable)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="times each cell is measured (median reported)")
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()
    require("wrk", "wrk")

    folder = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    png = folder / "canvas.png"
    stroke_digit(SEVEN, style="dark_on_transparent").save(png, format="PNG")
    tensor = preprocess.mnist_style(preprocess.decode(png.read_bytes(), 16_000_000))
    tensor_json = folder / "tensor.json"
    tensor_json.write_text(json.dumps({"inputs": tensor[None, :, :, None].round(4).tolist()}))

    # `mlflow models serve` execs `uvicorn` by name: this Python's scripts folder must be on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": args.tracking_uri, "PATH": path}
    port = free_port()
    mlflow_cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        "models:/Mnist_Best_Model@production",
        "--env-manager",
        "local",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    levels = [int(c) for c in args.concurrency.split(",")]
    scorer_url = f"http://127.0.0.1:{port}/invocations"
    with our_predictors(args, folder) as predictors, running(mlflow_cmd, folder / "mlflow-serve.log", env) as scorer:
        wait_until(http_ok(f"http://127.0.0.1:{port}/ping"), 300, "mlflow models serve", scorer)
        ours = {(name, c): [] for name in predictors for c in levels}
        theirs: dict[int, list[dict]] = {c: [] for c in levels}
        # Interleaved, so that a slow spell of a shared machine hits every server alike.
        for _ in range(args.rounds):
            for connections in levels:
                for name, url in predictors.items():
                    ours[name, connections].append(
                        run_wrk(f"{url}/predict", png, "image/png", connections, args.seconds, folder)
                    )
                theirs[connections].append(
                    run_wrk(scorer_url, tensor_json, "application/json", connections, args.seconds, folder)
                )
    shutil.rmtree(folder, ignore_errors=True)
    print(
        f"\nSame model, same machine ({os.cpu_count()} cores), wrk {args.seconds} s per cell, median of "
        f"{args.rounds} interleaved rounds; Python {platform.python_version()}\n"
    )
    print(
        "| predictor | concurrency | req/s | p50 ms | p99 ms | errors | mlflow serve req/s | p50 ms | p99 ms "
        "| errors | speed-up | speed-up per round |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in predictors:
        for connections in levels:
            a, b = summary(ours[name, connections]), summary(theirs[connections])
            pairs = zip(ours[name, connections], theirs[connections], strict=True)
            rounds = ", ".join(f"{x['rps'] / y['rps']:.0f}x" for x, y in pairs)
            print(
                f"| {name} | {connections} | {a['rps']:.0f} | {a['p50']:.1f} | {a['p99']:.1f} | {a['errors']} "
                f"| {b['rps']:.1f} | {b['p50']:.0f} | {b['p99']:.0f} | {b['errors']} "
                f"| {a['rps'] / b['rps']:.0f}x | {rounds} |"
            )
    return 0


def summary(runs: list[dict]) -> dict:
    """Median requests/s and latencies over the rounds; errors added up."""
    return {
        **{key: statistics.median(run[key] for run in runs) for key in ("rps", "p50", "p99")},
        "errors": sum(run["errors"] for run in runs),
    }


if __name__ == "__main__":
    sys.exit(main())
