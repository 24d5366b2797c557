"""The experiment report's content: what the runs showed and what is served, as format-neutral blocks.

``build_report`` turns what ``trainer.report_queries`` read into blocks that ``trainer.report_render``
writes as Markdown, HTML and Word; nothing here talks to MLflow or writes a file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from trainer.gate import REAL_PEN_MARGIN, TEST_TOLERANCE, select_best
from trainer.production import Production
from trainer.report_queries import RegistryState, RunSummary
from trainer.report_render import Block, Bullets, Figure, Heading, Paragraph, Table
from trainer.settings import ReportSettings

WEAKEST_STYLES = 8  # rows of the best run's accuracy-by-style table


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
