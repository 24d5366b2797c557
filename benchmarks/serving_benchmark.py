"""Serving benchmark: this predictor against MLflow's own scoring server, side by side, same model.

Both serve the same registered version of ``Mnist_Best_Model@production`` on this machine:

- the predictor (gunicorn, its default 2 workers x 4 threads, onnxruntime) gets the same 280x280
  canvas PNG every time and does all of its preprocessing;
- ``mlflow models serve -m models:/Mnist_Best_Model@production --env-manager local`` (2 workers,
  the Keras model on TensorFlow) gets the equivalent preprocessed 28x28x1 tensor as JSON.

Load comes from ``wrk`` (Debian package ``wrk``) at concurrency 1, 8 and 32, for ``--seconds`` each:

    python benchmarks/serving_benchmark.py --tracking-uri sqlite:////tmp/store/mlflow.db

(a store with a registered model, e.g. from ``train_benchmark.py --keep-store /tmp/store``, or any
MLflow server's URI). Prints a Markdown table of requests/s, p50 and p99 latency and errors.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.wrk import require_wrk, run_wrk  # noqa: E402
from predictor import preprocess  # noqa: E402 - after the path set-up above
from tests.drawing import SEVEN, stroke_digit  # noqa: E402
from tests.services import free_port, http_ok, running, wait_until  # noqa: E402


def main() -> int:
    """Start both servers, load each in turn, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "http://localhost:5000"))
    parser.add_argument("--seconds", type=int, default=15, help="duration of each wrk run")
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()
    require_wrk()

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
    p_port, m_port = free_port(), free_port()
    predictor_env = {**env, "PREDICTOR_HOST": "127.0.0.1", "PREDICTOR_PORT": str(p_port),
                     "MODEL_CACHE_DIR": str(folder / "cache"), "PYTHONPATH": str(REPO_ROOT)}  # fmt: skip
    predictor_cmd = [sys.executable, "-m", "gunicorn", "-c", str(REPO_ROOT / "predictor" / "gunicorn.conf.py")]
    mlflow_cmd = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/Mnist_Best_Model@production",
                  "--env-manager", "local", "--host", "127.0.0.1", "--port", str(m_port), "--workers", "2"]  # fmt: skip
    rows = []
    with (
        running(predictor_cmd, folder / "predictor.log", predictor_env) as predictor,
        running(mlflow_cmd, folder / "mlflow-serve.log", env) as scorer,
    ):
        wait_until(http_ok(f"http://127.0.0.1:{p_port}/ready"), 120, "predictor", predictor)
        wait_until(http_ok(f"http://127.0.0.1:{m_port}/ping"), 300, "mlflow models serve", scorer)
        for connections in (int(c) for c in args.concurrency.split(",")):
            ours = run_wrk(f"http://127.0.0.1:{p_port}/predict", png, "image/png", connections, args.seconds, folder)
            theirs = run_wrk(f"http://127.0.0.1:{m_port}/invocations", tensor_json, "application/json",
                             connections, args.seconds, folder)  # fmt: skip
            rows.append((connections, ours, theirs))
    print(f"\nSame model, same machine ({os.cpu_count()} cores), wrk {args.seconds} s per cell\n")
    print(
        "| concurrency | predictor req/s | p50 ms | p99 ms | errors | mlflow serve req/s | p50 ms | p99 ms "
        "| errors | speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for connections, ours, theirs in rows:
        ratio = ours["rps"] / theirs["rps"] if theirs["rps"] else float("inf")
        print(
            f"| {connections} | {ours['rps']:.0f} | {ours['p50']:.1f} | {ours['p99']:.1f} | {ours['errors']} "
            f"| {theirs['rps']:.1f} | {theirs['p50']:.0f} | {theirs['p99']:.0f} | {theirs['errors']} "
            f"| {ratio:.0f}x |"
        )
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
