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
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from predictor import preprocess  # noqa: E402 - after the path set-up above
from tests.drawing import SEVEN, stroke_digit  # noqa: E402
from tests.services import free_port, http_ok, running, wait_until  # noqa: E402

WRK_SCRIPT = """
local f = io.open("{body}", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "{content_type}"
"""


def run_wrk(url: str, body: Path, content_type: str, connections: int, seconds: int, folder: Path) -> dict:
    """One wrk run; returns requests/s, p50/p99 in ms, and non-2xx/socket error counts."""
    script = folder / f"{body.stem}.lua"
    script.write_text(WRK_SCRIPT.format(body=body, content_type=content_type))
    threads = min(connections, 2)
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "--latency", "-s",
         str(script), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = result.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latencies = {p: _ms(re.search(rf"^\s+{p}%\s+(\S+)", out, re.MULTILINE).group(1)) for p in ("50", "99")}
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = non_2xx + (sum(int(x) for x in socket.groups()) if socket else 0)
    return {"rps": rps, "p50": latencies["50"], "p99": latencies["99"], "errors": errors}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def main() -> int:
    """Start both servers, load each in turn, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", "http://localhost:5000"))
    parser.add_argument("--seconds", type=int, default=15, help="duration of each wrk run")
    parser.add_argument("--concurrency", default="1,8,32")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")

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
