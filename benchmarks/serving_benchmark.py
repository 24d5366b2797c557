"""Serving benchmark: this predictor against MLflow's own scoring server, side by side, same model.

Both serve the same registered version of ``Mnist_Best_Model@production`` on this machine:

- the predictor (gunicorn with its default settings, onnxruntime, and like its image zlib-ng's
  libz.so.1: see ``shipped_predictor.py``) gets the same 280x280 canvas PNG every time and does
  all of its preprocessing;
- ``mlflow models serve -m models:/Mnist_Best_Model@production --env-manager local`` (2 workers,
  the Keras model on TensorFlow) gets the equivalent preprocessed 28x28x1 tensor as JSON.

Load comes from ``wrk`` (Debian package ``wrk``) at concurrency 1, 8 and 32, for ``--seconds`` each,
alternating between the two servers for ``--rounds`` rounds (medians are reported). Both servers
run on the interpreter that runs this script:

    make bench-venv   # .venv-bench: an optimized CPython like the image's (see shipped_predictor.py)
    .venv-bench/bin/python benchmarks/serving_benchmark.py --tracking-uri sqlite:////tmp/store/mlflow.db

(a store with a registered model, e.g. from ``train_benchmark.py --keep-store /tmp/store``, or any
MLflow server's URI). Prints a Markdown table of requests/s, p50 and p99 latency and errors.
``--system-zlib`` runs the predictor with the system's zlib instead, to see what zlib-ng brings.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.shipped_predictor import add_zlib_arguments, runtime, shipped_env  # noqa: E402
from benchmarks.wrk import require, run_wrk  # noqa: E402
from predictor import preprocess  # noqa: E402 - after the path set-up above
from tests.drawing import SEVEN, stroke_digit  # noqa: E402
from tests.services import free_port, http_ok, predictor_server, running, wait_until  # noqa: E402


def main() -> int:
    """Start both servers, load them in interleaved rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "http://localhost:5000"))
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="times each cell is measured (median reported)")
    parser.add_argument("--concurrency", default="1,8,32")
    add_zlib_arguments(parser)
    args = parser.parse_args()
    require("wrk", "wrk")
    shipped = shipped_env(args)

    folder = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    canvas = stroke_digit(SEVEN, style="dark_on_transparent")
    png = folder / "canvas.png"
    canvas.save(png, format="PNG")
    tensor = preprocess.mnist_style(preprocess.decode(png.read_bytes(), 16_000_000))
    tensor_json = folder / "tensor.json"
    tensor_json.write_text(json.dumps({"inputs": tensor[None, :, :, None].round(4).tolist()}))

    # `mlflow models serve` execs `uvicorn` by name: this Python's scripts folder must be on PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": args.tracking_uri, "PATH": path}
    m_port = free_port()
    mlflow_cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/Mnist_Best_Model@production",
                  "--env-manager", "local", "--host", "127.0.0.1", "--port", str(m_port), "--workers", "2"]  # fmt: skip
    levels = [int(c) for c in args.concurrency.split(",")]
    ours: dict[int, list[dict]] = {c: [] for c in levels}
    theirs: dict[int, list[dict]] = {c: [] for c in levels}
    with (
        predictor_server(args.tracking_uri, folder / "cache", folder / "predictor.log", extra_env=shipped) as (
            predictor_url,
            predictor,
            _started,
        ),
        running(mlflow_cmd, folder / "mlflow-serve.log", env) as scorer,
    ):
        wait_until(http_ok(f"{predictor_url}/ready"), 120, "predictor", predictor)
        wait_until(http_ok(f"http://127.0.0.1:{m_port}/ping"), 300, "mlflow models serve", scorer)
        # Interleaved, so that a slow spell of a shared machine hits both servers alike.
        for _ in range(args.rounds):
            for connections in levels:
                ours[connections].append(
                    run_wrk(f"{predictor_url}/predict", png, "image/png", connections, args.seconds, folder)
                )
                theirs[connections].append(run_wrk(
                    f"http://127.0.0.1:{m_port}/invocations", tensor_json, "application/json", connections,
                    args.seconds, folder))  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    print(f"\nSame model, same machine ({os.cpu_count()} cores), wrk {args.seconds} s per cell, median of "
          f"{args.rounds} interleaved rounds; {runtime(shipped)}\n")  # fmt: skip
    print(
        "| concurrency | predictor req/s | p50 ms | p99 ms | errors | mlflow serve req/s | p50 ms | p99 ms "
        "| errors | speed-up | speed-up per round |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for connections in levels:
        a, b = summary(ours[connections]), summary(theirs[connections])
        pairs = zip(ours[connections], theirs[connections], strict=True)
        rounds = ", ".join(f"{x['rps'] / y['rps']:.0f}x" for x, y in pairs)
        print(
            f"| {connections} | {a['rps']:.0f} | {a['p50']:.1f} | {a['p99']:.1f} | {a['errors']} "
            f"| {b['rps']:.1f} | {b['p50']:.0f} | {b['p99']:.0f} | {b['errors']} | {a['rps'] / b['rps']:.0f}x "
            f"| {rounds} |"
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
