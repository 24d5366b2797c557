"""``python -m trainer report``: the experiment report, written from the tracking server so it is always true.

It reads the experiment's latest finished run of each kind (baseline, architecture, tuned) and the
registry's state, draws the learning curves of all runs on shared axes, takes the best run's
confusion matrix and misclassified digits from its artifacts, and writes
``experiment-report.md``, ``.html`` and ``.docx`` (plus the PNGs the Markdown links to) into
``REPORT_DIR``; then logs them as artifacts of the best run (``report/``).
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from trainer import plots
from trainer.gate import select_best
from trainer.input_stats import MNIST_STATS_ARTIFACT
from trainer.production import read_production
from trainer.report import build_report
from trainer.report_queries import ReportError, RunSummary, collect_registry, collect_runs
from trainer.report_render import to_docx, to_html, to_markdown
from trainer.settings import ReportSettings
from trainer.tags import (
    REAL_PENS_ARTIFACT,
)
from trainer.tracking import TrackingUnavailableError, configure_client, redacted, wait_for_server

log = logging.getLogger(__name__)

REPORT_NAME = "experiment-report"


BEST_RUN_PLOTS = {
    "confusion_matrix.png": "plots/confusion_matrix.png",
    "misclassified.png": "plots/misclassified.png",
    "drawn_misclassified.png": "plots/drawn_misclassified.png",
}


# Logged beside trainer.tags.REAL_PENS_ARTIFACT; runs trained before real pens were measured have neither.
REAL_PEN_PLOTS = {
    "real_pen_confusion_matrix.png": "plots/real_pen_confusion_matrix.png",
    "real_pen_misclassified.png": "plots/real_pen_misclassified.png",
}


STYLES_ARTIFACT = "drawn/accuracy_by_style.json"  # what the trainer logs (trainer.evaluation.accuracy_by_style)


def write_report(settings: ReportSettings, client: MlflowClient) -> tuple[list[Path], RunSummary]:
    """Collect, draw, render and write the three files; return their paths and the best run."""
    runs = collect_runs(client, settings.mlflow_experiment_name)
    registry = collect_registry(client, settings.registered_model_name, settings.model_alias)
    best = select_best(runs)
    folder = settings.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    curves = plots.learning_curves({run.title: run.history for run in runs}, f"Learning curves of the {len(runs)} runs")
    curves.savefig(folder / "learning_curves.png", dpi=110)
    plots.plt.close(curves)
    figures = {"learning_curves.png": folder / "learning_curves.png"}
    with tempfile.TemporaryDirectory() as downloads:
        for name, artifact in BEST_RUN_PLOTS.items():
            downloaded = Path(client.download_artifacts(best.run_id, artifact, downloads))
            figures[name] = Path(shutil.copyfile(downloaded, folder / name))
        styles = json.loads(Path(client.download_artifacts(best.run_id, STYLES_ARTIFACT, downloads)).read_text())
        mnist_stats = _optional_json(client, best.run_id, MNIST_STATS_ARTIFACT, downloads)
        real_pens = _optional_json(client, best.run_id, REAL_PENS_ARTIFACT, downloads)
        for name, artifact in REAL_PEN_PLOTS.items() if real_pens is not None else ():
            downloaded = Path(client.download_artifacts(best.run_id, artifact, downloads))
            figures[name] = Path(shutil.copyfile(downloaded, folder / name))
    production = read_production(settings)
    if production.labelled:
        figure = plots.confusion_matrix(production.labels, production.predicted, "People's labels")
        figure.savefig(folder / "feedback_confusion.png", dpi=110)
        plots.plt.close(figure)
        figures["feedback_confusion.png"] = folder / "feedback_confusion.png"
    blocks = build_report(runs, registry, settings, figures, styles, real_pens, production, mnist_stats)
    paths = [folder / f"{REPORT_NAME}.md", folder / f"{REPORT_NAME}.html", folder / f"{REPORT_NAME}.docx"]
    paths[0].write_text(to_markdown(blocks), encoding="utf-8")
    paths[1].write_text(to_html(blocks, "MNIST experiment report"), encoding="utf-8")
    to_docx(blocks, paths[2])
    return paths + list(figures.values()), best


def _optional_json(client: MlflowClient, run_id: str, artifact: str, folder: str) -> dict | None:
    """An artifact that runs logged before it existed do not have."""
    try:
        return json.loads(Path(client.download_artifacts(run_id, artifact, folder)).read_text())
    except (MlflowException, OSError):
        return None


def run_report(settings: ReportSettings) -> int:
    """Write (and log) the report; the exit code: 0, 1 nothing to report or a refused request, 3 no server."""
    configure_client(settings)
    uri = settings.tracking_uri
    client = MlflowClient(uri)
    try:
        wait_for_server(uri, settings.tracking_wait_seconds)
        paths, best = write_report(settings, client)
        if settings.report_log_artifacts:
            for path in paths:
                client.log_artifact(best.run_id, str(path), artifact_path="report")
    except TrackingUnavailableError as exc:
        log.error(f"error: {exc}")
        return 3
    except ReportError as exc:
        log.error(f"error: {exc}")
        return 1
    except MlflowException as exc:
        log.error(f"error: the tracking server {redacted(uri)} refused or failed a request: {exc}")
        return 1
    for path in paths[:3]:
        print(f"wrote {path}")
    if settings.report_log_artifacts:
        print(f"logged to run {best.run_id} ({best.title}) under report/")
    return 0
