"""``python -m trainer report`` against a real ``mlflow server`` holding three small trained runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from docx import Document
from mlflow import MlflowClient
from PIL import Image

from devkit.mlflow_server import mlflow_server
from devkit.prediction_db import add_predictions, reader_env
from devkit.processes import REPO_ROOT, free_port
from devkit.trainer_process import run_trainer_ok

pytestmark = pytest.mark.integration

EXPERIMENT = "report-it"
MODEL = "Mnist_Best_Model"
FILES = ("experiment-report.md", "experiment-report.html", "experiment-report.docx")
CHARTS = (
    "learning_curves.png",
    "confusion_matrix.png",
    "misclassified.png",
    "real_pen_confusion_matrix.png",
    "real_pen_misclassified.png",
    "drawn_misclassified.png",
)


def run_report(env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m trainer report``."""
    command = [sys.executable, "-m", "trainer", "report"]
    return subprocess.run(
        command, cwd=REPO_ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mnist_slice: Path):
    with mlflow_server(tmp_path_factory.mktemp("mlflow")) as uri:
        run_trainer_ok(
            {
                "MLFLOW_TRACKING_URI": uri,
                "MNIST_PATH": str(mnist_slice),
                "TRAINER_EPOCHS": "1",
                "MLFLOW_EXPERIMENT_NAME": EXPERIMENT,
            }
        )
        yield uri


@pytest.fixture(scope="module")
def report(server: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    result = run_report(
        {
            "MLFLOW_TRACKING_URI": server,
            "MLFLOW_EXPERIMENT_NAME": EXPERIMENT,
            "REPORT_DIR": str(folder),
            "FRONTEND_URL": "http://localhost:8088",
        }
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return folder


def latest_runs(client: MlflowClient) -> dict[str, object]:
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    return {run.data.tags["run_key"]: run for run in runs}


def test_the_three_files_and_the_charts_exist(report: Path):
    for name in FILES:
        assert (report / name).stat().st_size > 1000, name
    for name in CHARTS:
        with Image.open(report / name) as chart:
            assert chart.format == "PNG" and chart.width > 300 and chart.height > 200, name
            pixels = np.asarray(chart.convert("L"), dtype=np.float32)
        assert pixels.std() > 5, f"{name} is blank"


def test_the_word_table_holds_the_runs_numbers_from_mlflow(report: Path, server: str):
    runs = latest_runs(MlflowClient(server))
    table = Document(str(report / "experiment-report.docx")).tables[0]
    header = [cell.text for cell in table.rows[0].cells]
    assert header[:4] == ["run", "architecture", "epochs", "batch size"]
    rows = [[cell.text for cell in row.cells] for row in table.rows[1:]]
    assert [row[0] for row in rows] == [runs[key].info.run_name for key in ("baseline", "architecture", "tuned")]
    for row, key in zip(rows, ("baseline", "architecture", "tuned"), strict=True):
        run = runs[key]
        assert row[1] == run.data.params["architecture"]
        assert row[2] == run.data.params["epochs"] == "1"
        assert row[3] == run.data.params["batch_size"]
        assert row[4].startswith(run.data.params["learning_rate"])
        assert row[5] == f"{run.data.metrics['test_accuracy'] * 100:.2f} %"
        assert row[6] == f"{run.data.metrics['real_pen_accuracy'] * 100:.2f} %"
        assert row[7] == f"{run.data.metrics['synthetic_drawn_accuracy'] * 100:.2f} %"
        assert row[8] == "–", "no feedback in this store"
        assert row[9] == f"{run.data.metrics['test_loss']:.4f}"
        assert row[10] == f"{run.data.metrics['seconds_per_epoch']:.1f}"


def test_the_report_explains_each_run_and_the_registry(report: Path, server: str):
    client = MlflowClient(server)
    runs = latest_runs(client)
    markdown = (report / "experiment-report.md").read_text()
    for run in runs.values():
        assert run.data.tags["reason"] in markdown
    assert markdown.count("Against ") == 2, "runs 2 and 3 are compared with the run before"
    production = client.get_model_version_by_alias(MODEL, "production")
    assert f"{MODEL}@production is version {production.version}" in markdown
    assert "http://localhost:8088" in markdown and f"/runs/{production.run_id}" in markdown
    html = (report / "experiment-report.html").read_text()
    assert html.count("data:image/png;base64,") == len(CHARTS) and "<table>" in html
    assert len(Document(str(report / "experiment-report.docx")).inline_shapes) == len(CHARTS)


def test_the_report_lists_the_best_runs_weakest_drawing_styles(report: Path, server: str, tmp_path: Path):
    client = MlflowClient(server)
    best = client.get_run(client.get_model_version_by_alias(MODEL, "production").run_id)
    local = client.download_artifacts(best.info.run_id, "drawn/accuracy_by_style.json", str(tmp_path))
    weakest = min(json.loads(Path(local).read_text()).items(), key=lambda kv: kv[1])
    markdown = (report / "experiment-report.md").read_text()
    assert f"| {weakest[0]} | {weakest[1] * 100:.2f} % |" in markdown


def test_the_report_shows_the_best_runs_real_pens_by_digit_and_its_confusions(report: Path, server: str, tmp_path):
    client = MlflowClient(server)
    best = client.get_run(client.get_model_version_by_alias(MODEL, "production").run_id)
    local = client.download_artifacts(best.info.run_id, "real_pens/accuracy.json", str(tmp_path))
    real_pens = json.loads(Path(local).read_text())
    markdown = (report / "experiment-report.md").read_text()
    assert f"{best.data.metrics['real_pen_accuracy'] * 100:.2f} % on real people's pen-drawn digits" in markdown
    for digit, accuracy in real_pens["by_digit"].items():
        assert f"| {digit} | {accuracy * 100:.2f} % |" in markdown
    first = real_pens["confusions"][0]
    assert f"{first['written']} read as {first['read']} ({first['count']})" in markdown
    assert "Synthetic drawn digits (generated, not people's)" in markdown


def test_the_report_is_logged_to_the_best_run(report: Path, server: str):
    client = MlflowClient(server)
    best = client.get_run(client.get_model_version_by_alias(MODEL, "production").run_id)
    logged = {Path(item.path).name for item in client.list_artifacts(best.info.run_id, "report")}
    assert set(FILES) | set(CHARTS) <= logged


def test_no_experiment_is_a_clear_error_not_a_traceback(server: str, tmp_path: Path):
    result = run_report(
        {"MLFLOW_TRACKING_URI": server, "MLFLOW_EXPERIMENT_NAME": "never-trained", "REPORT_DIR": str(tmp_path)}
    )
    assert result.returncode == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


def test_an_unreachable_tracking_server_is_a_clear_error_within_the_wait(tmp_path: Path):
    result = run_report(
        {
            "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{free_port()}",
            "TRACKING_WAIT_SECONDS": "2",
            "REPORT_DIR": str(tmp_path),
        }
    )
    assert result.returncode == 3
    assert "not reachable" in result.stderr and "Traceback" not in result.stderr


def test_without_a_prediction_database_the_production_section_says_so(report: Path):
    markdown = (report / "experiment-report.md").read_text()
    assert "## Production" in markdown and "no prediction database is configured" in markdown


def test_the_production_section_counts_labels_confusions_and_drift(server: str, prediction_db, tmp_path: Path):
    # 30 predictions on one day: the model said 7 for every one; people labelled 20 (10 sevens, 10 ones).
    images = np.zeros((30, 28, 28), dtype=np.uint8)
    images[:, 4:24, 12:15] = 255  # a vertical bar, 3 px wide, in the middle
    labels = [7] * 10 + [1] * 10 + [None] * 10
    add_predictions(prediction_db, images, labels, digits=[7] * 30)
    result = run_report(
        {
            "MLFLOW_TRACKING_URI": server,
            "MLFLOW_EXPERIMENT_NAME": EXPERIMENT,
            "REPORT_DIR": str(tmp_path),
            "REPORT_LOG_ARTIFACTS": "false",
            **reader_env(prediction_db),
        }
    )
    assert result.returncode == 0, result.stderr[-3000:]
    markdown = (tmp_path / "experiment-report.md").read_text()
    production = markdown[markdown.index("## Production") :]
    assert "30 predictions recorded, 20 labelled by people, 10 of them corrected" in production
    assert "| 2026-11-01 | 30 | 20 | 10 |" in production
    assert "Accuracy on labelled feedback: 50.00 %" in production
    assert "| 1 | 10 | 0.00 % |" in production and "| 7 | 10 | 100.00 % |" in production
    assert "| stroke width (px) | 3.0 |" in production  # the bar's width, next to MNIST's ~2
    assert "| centre x (px) | 13.0 |" in production and "| share of 7s (predicted / labels) | 100.00 % |" in production
    mnist_row = next(line for line in production.splitlines() if line.startswith("| ink share"))
    assert mnist_row.split("|")[3].strip() not in ("", "–"), "MNIST's figures come from the best run's artifact"
    assert (tmp_path / "feedback_confusion.png").stat().st_size > 1000
