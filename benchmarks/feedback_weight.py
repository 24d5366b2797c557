"""How much a corrected drawing should weigh in training (``FEEDBACK_WEIGHT``), measured.

The same 300 corrected drawings of the flywheel's two unseen forms (benchmarks/flywheel.py) are
put in a prediction database of a local PostgreSQL; for each weight, a copy of a store that holds
a production model (e.g. ``train_benchmark.py --keep-store /tmp/store``) gets one default training
(``python -m trainer``) that reads them; then each new version's ONNX model reads the fresh drawings:

    .venv/bin/python benchmarks/feedback_weight.py --store /tmp/store --mnist-path mnist.npz --weights 0,1,10
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import mlflow
import numpy as np
import onnxruntime
from mlflow import MlflowClient

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from devkit.flywheel import flywheel_drawings  # noqa: E402 - after the path set-up above
from devkit.mlflow_server import MlflowServer  # noqa: E402
from devkit.postgres import create_prediction_db, postgres_server  # noqa: E402
from devkit.prediction_db import add_predictions, owner_settings, reader_env  # noqa: E402
from devkit.trainer_process import run_trainer  # noqa: E402
from predictor import preprocess  # noqa: E402
from predictor.prediction_log import migrate  # noqa: E402
from trainer.datagen.handwriting import Drawing, preprocessed_set  # noqa: E402

MODEL = "Mnist_Best_Model"


def pixels(drawings: list[Drawing]) -> np.ndarray:
    """The drawings as the predictor records them: its preprocessing, 28x28 uint8."""
    return preprocessed_set(iter(drawings))["x"]


def fresh_accuracy(onnx_path: Path, fresh: dict[tuple[int, str], np.ndarray]) -> dict[str, float]:
    """Accuracy of an ONNX model on each form's fresh drawings."""
    session = onnxruntime.InferenceSession(str(onnx_path))
    name = session.get_inputs()[0].name
    result = {}
    for (label, form), x in fresh.items():
        predicted = session.run(None, {name: x[..., np.newaxis].astype(np.float32)})[0].argmax(axis=1)
        result[f"{form} {label}"] = float((predicted == label).mean())
    return result


def champion_accuracy(store: Path, base: Path, fresh: dict[tuple[int, str], np.ndarray]) -> dict[str, float]:
    """The store's production model on the fresh drawings, before any training here."""
    server = MlflowServer(shutil.copytree(store, base / "store-champion"))
    server.start()
    try:
        version = MlflowClient(server.uri, server.uri).get_model_version_by_alias(MODEL, "production")
        mlflow.set_tracking_uri(server.uri)  # models:/ URIs resolve through the process-wide URI
        onnx = mlflow.artifacts.download_artifacts(version.tags["onnx_model_uri"], dst_path=str(base / "onnx-0"))
        return fresh_accuracy(Path(onnx) / "model.onnx", fresh)
    finally:
        server.stop()


def main() -> None:
    """Train once per weight and print one JSON line per result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True, help="folder with mlflow.db and artifacts/")
    parser.add_argument("--mnist-path", type=Path, required=True)
    parser.add_argument("--weights", default="0,1,10")
    args = parser.parse_args()

    sent, fresh_drawings = flywheel_drawings(150, 200)
    # What the predictor gives the model (floats, as served), not the stored uint8 copy.
    fresh = {
        form: np.stack([preprocess.mnist_style(d.image) for d in drawings]) for form, drawings in fresh_drawings.items()
    }
    with tempfile.TemporaryDirectory() as folder, postgres_server(Path(folder) / "pg", "pg", "pw", "mlflow") as pg:
        base = Path(folder)
        database = create_prediction_db(pg, "feedback")
        migrate(owner_settings(database).prediction_db_url)
        add_predictions(database, pixels(sent), [drawing.label for drawing in sent])
        print(json.dumps({"champion": champion_accuracy(args.store, base, fresh)}), flush=True)
        for weight in (int(w) for w in args.weights.split(",")):
            store = base / f"store-{weight}"
            shutil.copytree(args.store, store)
            server = MlflowServer(store)
            server.start()
            try:
                env = {
                    **reader_env(database),
                    "MLFLOW_TRACKING_URI": server.uri,
                    "MNIST_PATH": str(args.mnist_path),
                    "FEEDBACK_WEIGHT": str(weight),
                }
                result = run_trainer(env, timeout=3600)
                if result.returncode != 0:
                    sys.exit(result.stdout[-2000:] + result.stderr[-2000:])
                client = MlflowClient(server.uri, server.uri)
                newest = max(client.search_model_versions(f"name = '{MODEL}'"), key=lambda v: int(v.version))
                mlflow.set_tracking_uri(server.uri)
                onnx = mlflow.artifacts.download_artifacts(
                    newest.tags["onnx_model_uri"], dst_path=str(base / f"v-{weight}")
                )
                promoted = client.get_model_version_by_alias(MODEL, "production").version == newest.version
                print(
                    json.dumps(
                        {
                            "weight": weight,
                            "fresh": fresh_accuracy(Path(onnx) / "model.onnx", fresh),
                            "test_accuracy": newest.tags["test_accuracy"],
                            "real_pen_accuracy": newest.tags["real_pen_accuracy"],
                            "synthetic_drawn_accuracy": newest.tags["synthetic_drawn_accuracy"],
                            "feedback_accuracy": newest.tags.get("feedback_accuracy"),
                            "promoted": promoted,
                            "decision": newest.tags.get("promotion"),
                        }
                    ),
                    flush=True,
                )
            finally:
                server.stop()


if __name__ == "__main__":
    main()
