"""Benchmark the trainer's default configuration on the full MNIST.

Runs ``python -m trainer`` exactly as a user would (default runs and epochs) into a throw-away
embedded store, measures the wall time of the whole command, then reads each run back from MLflow
and prints a Markdown table: MNIST test, real-pen and synthetic drawn-digit accuracy, seconds per
epoch, training time, and which run was promoted.

    python benchmarks/train_benchmark.py [--mnist-path path/to/mnist.npz] [--seed 7]

``--mnist-path`` defaults to ``$MNIST_PATH``; without either, Keras downloads MNIST. With
``--keep-store DIR`` the runs and the registered model stay there, e.g. for
``benchmarks/drawn_digits.py --tracking-uri sqlite:///DIR/mlflow.db``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlflow import MlflowClient

REPO_ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Run the benchmark and print its table; exit non-zero if the trainer failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist-path", default=os.environ.get("MNIST_PATH", ""), help="local mnist.npz")
    parser.add_argument("--keep-store", help="keep the embedded store in this folder (default: a temporary one)")
    parser.add_argument("--seed", default="42", help="the trainer's seed (TRAINER_SEED; default 42, as shipped)")
    args = parser.parse_args()
    if args.keep_store:
        Path(args.keep_store).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        store = args.keep_store or scratch
        env = {
            **os.environ,
            "MLFLOW_TRACKING_URI": "",
            "TRAINER_LOCAL_STORE": store,
            "MNIST_PATH": args.mnist_path,
            "TRAINER_SEED": args.seed,
        }
        for name in ("TRAINER_EPOCHS", "TRAINER_RUNS", "MNIST_TRAIN_LIMIT", "MNIST_TEST_LIMIT"):
            env.pop(name, None)  # the benchmark measures the defaults, nothing shrunk
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "trainer"], cwd=REPO_ROOT, env=env, check=False)
        wall = time.perf_counter() - started
        if result.returncode != 0:
            print(f"trainer failed with exit code {result.returncode}", file=sys.stderr)
            return result.returncode
        client = MlflowClient(tracking_uri=f"sqlite:///{Path(store) / 'mlflow.db'}")
        experiment = client.get_experiment_by_name(env.get("MLFLOW_EXPERIMENT_NAME") or "mnist-cnn")
        runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
        promoted = client.get_model_version_by_alias("Mnist_Best_Model", "production").run_id
        print(f"\nFull MNIST, default configuration, seed {args.seed}, {os.cpu_count()} CPU cores\n")
        columns = [
            "run",
            "epochs",
            "batch",
            "lr",
            "MNIST test",
            "real pens",
            "synthetic drawn",
            "s/epoch",
            "training s",
        ]
        print("| " + " | ".join([*columns, "run wall s"]) + " |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for run in runs:
            p, m = run.data.params, run.data.metrics
            run_wall = (run.info.end_time - run.info.start_time) / 1000
            print(
                f"| {run.info.run_name}{' (promoted)' if run.info.run_id == promoted else ''} | {p['epochs']} "
                f"| {p['batch_size']} | {p['learning_rate']} | {m['test_accuracy'] * 100:.2f} % "
                f"| {m['real_pen_accuracy'] * 100:.2f} % | {m['synthetic_drawn_accuracy'] * 100:.2f} % "
                f"| {m['seconds_per_epoch']:.1f} | {m['training_seconds']:.0f} "
                f"| {run_wall:.0f} |"
            )
        print(f"\nWhole command (data load, 3 runs, logging, ONNX export, registration): {wall:.0f} s wall time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
