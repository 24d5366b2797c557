"""``python -m trainer report``: the experiment report, written from the tracking server so it is always true.

It reads the experiment's latest finished run of each kind (baseline, architecture, tuned) and the
registry's state, draws the learning curves of all runs on shared axes, takes the best run's
confusion matrix and misclassified digits from its artifacts, and writes
``experiment-report.md``, ``.html`` and ``.docx`` (plus the PNGs the Markdown links to) into
``REPORT_DIR``; then logs them as artifacts of the best run (``report/``). ``python -m trainer.report``
does the same.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from trainer import plots
from trainer.experiments import DEFAULT_RUNS
from trainer.input_stats import MNIST_STATS_ARTIFACT
from trainer.production import Production, read_production
from trainer.promotion import REAL_PEN_MARGIN, TEST_TOLERANCE, Scores, select_best
from trainer.report_render import Block, Bullets, Figure, Heading, Paragraph, Table, to_docx, to_html, to_markdown
from trainer.settings import ReportSettings
from trainer.tags import (
    FEEDBACK_ACCURACY_TAG,
    REAL_PEN_ACCURACY_TAG,
    REAL_PENS_ARTIFACT,
    REASON_TAG,
    RUN_KEY_TAG,
    STAGE_TAG,
    SYNTHETIC_DRAWN_ACCURACY_TAG,
    TEST_ACCURACY_TAG,
)
from trainer.tracking import TrackingUnavailableError, configure_client, is_not_found, redacted, wait_for_server

REPORT_NAME = "experiment-report"
CURVES = ("loss", "val_loss", "accuracy", "val_accuracy")
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
WEAKEST_STYLES = 8  # rows of the best run's accuracy-by-style table
STYLES_ARTIFACT = "drawn/accuracy_by_style.json"  # what the trainer logs (train.accuracy_by_style)


class ReportError(Exception):
    """What the tracking server holds is not enough for a report (no experiment, no finished run)."""


@dataclass
class RunSummary:
    """One run as the report shows it."""

    run_id: str
    experiment_id: str
    key: str
    title: str
    reason: str
    params: dict[str, str]
    test_accuracy: float
    real_pen_accuracy: float
    synthetic_drawn_accuracy: float
    test_loss: float
    seconds_per_epoch: float
    started: datetime
    feedback_accuracy: float | None = None
    history: dict[str, list[float]] = field(default_factory=dict)

    @property
    def scores(self) -> Scores:
        """The figures the gate compares (promotion.py)."""
        return Scores(
            test_accuracy=self.test_accuracy,
            real_pen_accuracy=self.real_pen_accuracy,
            synthetic_drawn_accuracy=self.synthetic_drawn_accuracy,
            feedback_accuracy=self.feedback_accuracy,
        )


@dataclass
class VersionSummary:
    """One registered version."""

    version: str
    run_id: str
    created: datetime
    stage: str
    test_accuracy: str
    real_pen_accuracy: str
    synthetic_drawn_accuracy: str
    feedback_accuracy: str
    description: str


@dataclass
class RegistryState:
    """The registered model: every version, and which one holds the alias."""

    alias_version: str | None
    versions: list[VersionSummary]


def _time(milliseconds: int | None) -> datetime:
    return datetime.fromtimestamp((milliseconds or 0) / 1000, tz=UTC)


def collect_runs(client: MlflowClient, experiment_name: str) -> list[RunSummary]:
    """The latest FINISHED run of each defined kind, in the trainer's order (a kind never run is left out)."""
    experiment = client.get_experiment_by_name(experiment_name)
    if experiment is None:
        raise ReportError(f"experiment {experiment_name!r} does not exist: train first (docker compose run trainer)")
    runs = []
    for config in DEFAULT_RUNS:
        found = client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.{RUN_KEY_TAG} = '{config.key}' and attributes.status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        if not found:
            continue
        run = found[0]
        metrics = run.data.metrics
        summary = RunSummary(
            run_id=run.info.run_id,
            experiment_id=experiment.experiment_id,
            key=config.key,
            title=run.info.run_name or config.title,
            reason=run.data.tags.get(REASON_TAG, config.reason),
            params=run.data.params,
            test_accuracy=metrics.get("test_accuracy", float("nan")),
            real_pen_accuracy=metrics.get("real_pen_accuracy", float("nan")),
            synthetic_drawn_accuracy=metrics.get("synthetic_drawn_accuracy", float("nan")),
            test_loss=metrics.get("test_loss", float("nan")),
            seconds_per_epoch=metrics.get("seconds_per_epoch", float("nan")),
            started=_time(run.info.start_time),
            feedback_accuracy=metrics.get("feedback_accuracy"),
        )
        for name in CURVES:
            history = sorted(client.get_metric_history(run.info.run_id, name), key=lambda m: m.step)
            summary.history[name] = [m.value for m in history]
        runs.append(summary)
    if not runs:
        raise ReportError(f"experiment {experiment_name!r} has no finished run: train first")
    return runs


def collect_registry(client: MlflowClient, model_name: str, alias: str) -> RegistryState:
    """Every version of ``model_name`` (newest first) and the version ``alias`` points at."""
    try:
        model = client.get_registered_model(model_name)
    except MlflowException as exc:
        if is_not_found(exc):  # nothing registered yet; other errors are errors
            return RegistryState(alias_version=None, versions=[])
        raise
    versions = client.search_model_versions(f"name = '{model_name}'")
    summaries = [
        VersionSummary(
            version=str(v.version),
            run_id=v.run_id,
            created=_time(v.creation_timestamp),
            stage=v.tags.get(STAGE_TAG, ""),
            test_accuracy=v.tags.get(TEST_ACCURACY_TAG, ""),
            real_pen_accuracy=v.tags.get(REAL_PEN_ACCURACY_TAG, ""),
            synthetic_drawn_accuracy=v.tags.get(SYNTHETIC_DRAWN_ACCURACY_TAG, ""),
            feedback_accuracy=v.tags.get(FEEDBACK_ACCURACY_TAG, ""),
            description=v.description or "",
        )
        for v in versions
    ]
    summaries.sort(key=lambda v: int(v.version), reverse=True)
    holder = model.aliases.get(alias)
    return RegistryState(alias_version=None if holder is None else str(holder), versions=summaries)


def _percent(value: float) -> str:
    return f"{value * 100:.2f} %"


def _comparison(run: RunSummary, previous: RunSummary | None) -> str:
    """What the run's result showed, against the run before it."""
    result = (
        f"Result: MNIST test accuracy {_percent(run.test_accuracy)} (loss {run.test_loss:.4f}), real pens "
        f"{_percent(run.real_pen_accuracy)}, synthetic drawn digits {_percent(run.synthetic_drawn_accuracy)}, "
        f"{run.seconds_per_epoch:.1f} s per epoch."
    )
    if previous is None:
        return result + " This is the reference the other runs are measured against."
    real_points = (run.real_pen_accuracy - previous.real_pen_accuracy) * 100
    synthetic_points = (run.synthetic_drawn_accuracy - previous.synthetic_drawn_accuracy) * 100
    points = (run.test_accuracy - previous.test_accuracy) * 100
    errors_before, errors_after = 1 - previous.test_accuracy, 1 - run.test_accuracy
    change = (errors_before - errors_after) / errors_before * 100 if errors_before > 0 else 0.0
    direction = "better" if points > 0 else ("worse" if points < 0 else "the same")
    return (
        f"{result} Against {previous.title}: MNIST test {points:+.2f} percentage points ({direction}); "
        f"{'fewer' if change >= 0 else 'more'} test errors by {abs(change):.0f} %; real pens "
        f"{real_points:+.2f} points; synthetic drawn digits {synthetic_points:+.2f} points; time per epoch "
        f"{run.seconds_per_epoch / previous.seconds_per_epoch:.1f}x."
    )


def build_report(
    runs: list[RunSummary],
    registry: RegistryState,
    settings: ReportSettings,
    figures: dict[str, Path],
    styles: dict[str, float],
    real_pens: dict | None,
    production: Production,
    mnist_stats: dict | None,
) -> list[Block]:
    """The report as format-neutral blocks."""
    best = select_best(runs)
    blocks: list[Block] = [
        Heading("MNIST experiment report", level=1),
        Paragraph(
            f"Generated {datetime.now(tz=UTC):%Y-%m-%d %H:%M} UTC from the tracking server, experiment "
            f"'{settings.mlflow_experiment_name}'. Best run: {best.title} with {_percent(best.test_accuracy)} "
            f"MNIST test accuracy and {_percent(best.real_pen_accuracy)} on real people's pen-drawn digits "
            f"(UJI Pen Characters v2, 60 writers). The best run reads people best — on their held-out feedback "
            f"when there is some, then on real pens by more than {REAL_PEN_MARGIN * 100:.1f} points (the set's "
            f"sampling error), then on MNIST test — without being more than {TEST_TOLERANCE * 100:.1f} points "
            "worse on MNIST test. The synthetic drawn digits are shown, not judged on."
        ),
        Heading("The runs"),
        Table(
            [
                "run",
                "architecture",
                "epochs",
                "batch size",
                "learning rate",
                "test accuracy",
                "real pens",
                "synthetic drawn",
                "feedback accuracy",
                "test loss",
                "s / epoch",
            ],
            [
                [
                    run.title,
                    run.params.get("architecture", ""),
                    run.params.get("epochs", ""),
                    run.params.get("batch_size", ""),
                    f"{run.params.get('learning_rate', '')} ({run.params.get('lr_schedule', 'constant')})",
                    _percent(run.test_accuracy),
                    _percent(run.real_pen_accuracy),
                    _percent(run.synthetic_drawn_accuracy),
                    "–" if run.feedback_accuracy is None else _percent(run.feedback_accuracy),
                    f"{run.test_loss:.4f}",
                    f"{run.seconds_per_epoch:.1f}",
                ]
                for run in runs
            ],
        ),
        Figure(figures["learning_curves.png"], "Loss and accuracy per epoch: validation solid, training dashed."),
        Heading("Why each run exists, and what it showed"),
    ]
    previous = None
    for run in runs:
        blocks += [Heading(run.title, level=3), Paragraph(f"Why: {run.reason}"), Paragraph(_comparison(run, previous))]
        previous = run
    blocks += [
        Heading(f"The best run: {best.title}"),
        Figure(figures["confusion_matrix.png"], f"Confusion matrix of {best.title} on the test set."),
        Figure(figures["misclassified.png"], f"The most confidently misclassified test digits of {best.title}."),
        *_real_pen_blocks(best, real_pens, figures),
        Paragraph(
            "Synthetic drawn digits (generated, not people's): accuracy by writing style (the weakest ones), "
            "and the most confidently misread drawings."
        ),
        Table(
            ["digit and style", "accuracy"],
            [
                [style, _percent(value)]
                for style, value in sorted(styles.items(), key=lambda kv: kv[1])[:WEAKEST_STYLES]
            ],
        ),
        Figure(
            figures["drawn_misclassified.png"],
            f"The most confidently misread synthetic drawn digits of {best.title}.",
        ),
        Heading("Model registry"),
    ]
    blocks += _registry_blocks(registry, settings)
    blocks += [Heading("Production"), *_production_blocks(production, mnist_stats, figures)]
    blocks += [
        Heading("Where to find everything"),
        Bullets(
            [
                f"MLflow UI (runs, metrics, artifacts): {settings.ui_url}",
                f"This experiment: {settings.ui_url}/#/experiments/{best.experiment_id}",
                f"The best run: {settings.ui_url}/#/experiments/{best.experiment_id}/runs/{best.run_id}",
                f"The drawing page: {settings.frontend_url}",
                f"Run ids: {', '.join(f'{run.key} {run.run_id}' for run in runs)}",
            ]
        ),
    ]
    return blocks


def _real_pen_blocks(best: RunSummary, real_pens: dict | None, figures: dict[str, Path]) -> list[Block]:
    """Real people's pens: accuracy per digit, what they were misread as, the misread drawings."""
    if real_pens is None:
        return [Paragraph(f"{best.title} was trained before real pens were measured.")]
    confusions = ", ".join(f"{c['written']} read as {c['read']} ({c['count']})" for c in real_pens["confusions"][:8])
    return [
        Paragraph(
            f"Real people's pens (1,200 digits by 60 writers, drawn on the page's canvas): "
            f"{_percent(best.real_pen_accuracy)}. The most frequent misreadings: {confusions or 'none'}."
        ),
        Table(
            ["digit", "real pens"],
            [[digit, _percent(value)] for digit, value in real_pens["by_digit"].items()],
        ),
        Figure(figures["real_pen_confusion_matrix.png"], f"Confusion matrix of {best.title} on real pens."),
        Figure(figures["real_pen_misclassified.png"], f"The most confidently misread real pens of {best.title}."),
    ]


def _registry_blocks(registry: RegistryState, settings: ReportSettings) -> list[Block]:
    name, alias = settings.registered_model_name, settings.model_alias
    if not registry.versions:
        return [Paragraph(f"{name} has no registered version yet.")]
    holder = next((v for v in registry.versions if v.version == registry.alias_version), None)
    if holder is None:
        summary = f"No version of {name} holds the alias '{alias}'."
    else:
        summary = (
            f"{name}@{alias} is version {holder.version}, registered {holder.created:%Y-%m-%d %H:%M} UTC "
            f"from run {holder.run_id}. Why: {holder.description}"
        )
    return [
        Paragraph(summary),
        Table(
            [
                "version",
                "created (UTC)",
                "stage",
                "test accuracy",
                "real pens",
                "synthetic drawn",
                "feedback accuracy",
                "run",
            ],
            [
                [
                    v.version + (f" (@{alias})" if v.version == registry.alias_version else ""),
                    f"{v.created:%Y-%m-%d %H:%M}",
                    v.stage,
                    v.test_accuracy,
                    v.real_pen_accuracy or "–",
                    v.synthetic_drawn_accuracy,
                    v.feedback_accuracy or "–",
                    v.run_id,
                ]
                for v in registry.versions
            ],
        ),
    ]


def _production_blocks(production: Production, mnist: dict | None, figures: dict[str, Path]) -> list[Block]:
    """Predictions per day, people's labels, and recent drawings next to MNIST (trainer.production)."""
    if production.problem:
        return [Paragraph(f"Nothing to show from the prediction database: {production.problem}.")]
    corrected = 0 if production.labels is None else int((production.labels != production.predicted).sum())
    blocks: list[Block] = [
        Paragraph(
            f"From {production.source}: {production.total} predictions recorded, {production.labelled} labelled "
            f"by people, {corrected} of them corrected (the model was wrong)."
        ),
        Table(
            ["day (UTC)", "predictions", "labelled", "corrected"],
            [[f"{d.day:%Y-%m-%d}", str(d.predictions), str(d.labelled), str(d.corrected)] for d in production.days],
        ),
    ]
    if production.labelled:
        labels, predicted = production.labels, production.predicted
        rows = []
        for digit in range(10):
            mine = labels == digit
            if mine.any():
                rows.append([str(digit), str(int(mine.sum())), _percent(float((predicted[mine] == digit).mean()))])
        blocks += [
            Paragraph(
                f"Accuracy on labelled feedback: {_percent(float((labels == predicted).mean()))}, by the digit "
                "people said it was:"
            ),
            Table(["digit", "labelled", "model was right"], rows),
            Figure(figures["feedback_confusion.png"], "What the model said (columns) for what people drew (rows)."),
        ]
    if production.recent is not None:
        recent = production.recent.as_dict()
        names = {
            "ink_share": "ink share",
            "stroke_width": "stroke width (px)",
            "centre_x": "centre x (px)",
            "centre_y": "centre y (px)",
        }
        rows = [[label, str(recent[key]), str(mnist[key]) if mnist else "–"] for key, label in names.items()]
        for d in range(10):
            theirs = _percent(mnist["class_share"][d]) if mnist else "–"
            rows.append([f"share of {d}s (predicted / labels)", _percent(recent["class_share"][d]), theirs])
        blocks += [
            Paragraph(
                f"The latest {recent['count']} drawings as the model saw them, next to MNIST test: a gap here "
                "is drift a person should look at."
            ),
            Table(["", "recent drawings", "MNIST test"], rows),
        ]
    return blocks


def write_report(settings: ReportSettings, client: MlflowClient) -> tuple[list[Path], RunSummary]:
    """Collect, draw, render and write the three files; return their paths and the best run."""
    runs = collect_runs(client, settings.mlflow_experiment_name)
    registry = collect_registry(client, settings.registered_model_name, settings.model_alias)
    best = select_best(runs)
    folder = settings.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    curves = plots.learning_curves({run.title: run.history for run in runs}, "Learning curves of the three runs")
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
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except MlflowException as exc:
        print(f"error: the tracking server {redacted(uri)} refused or failed a request: {exc}", file=sys.stderr)
        return 1
    for path in paths[:3]:
        print(f"wrote {path}")
    if settings.report_log_artifacts:
        print(f"logged to run {best.run_id} ({best.title}) under report/")
    return 0


if __name__ == "__main__":
    from trainer.cli import parse

    sys.exit(run_report(parse(["report", *sys.argv[1:]])[1]))
